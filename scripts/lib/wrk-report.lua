-- wrk script of scripts/bench: prints wrk's summary as one line of JSON when the run is done (requests, non-2xx
-- replies, socket errors, duration and latency percentiles in microseconds). Used alone for GET /health/live and
-- by wrk-notify.lua.
function done(summary, latency, requests_)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,'
            .. '"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
        summary.requests, e.status, e.connect, e.read, e.write, e.timeout, summary.duration,
        latency:percentile(50), latency:percentile(99), latency.max))
end
