-- wrk script of scripts/bench: posts pre-signed WeChat Pay v3 notifications to the receiver.
--
-- The file named by PAYFLEET_BENCH_NOTIFICATIONS holds one notification per line, tab-separated:
--   path  Wechatpay-Timestamp  Wechatpay-Nonce  Wechatpay-Signature  Wechatpay-Serial  body
-- (`payfleet bench sign` writes it). Each wrk thread starts at its own offset and walks the file round robin, so
-- the threads post different notifications. When wrk is done it prints one line of JSON for the script to read:
-- requests, non-2xx replies, socket errors and latency percentiles in microseconds.

local threads = {}
local count = 0

function setup(thread)
    count = count + 1
    thread:set("offset", count - 1)
    table.insert(threads, thread)
end

local requests = {}
local next_index = 1

function init(args)
    local file = os.getenv("PAYFLEET_BENCH_NOTIFICATIONS")
    for line in io.lines(file) do
        local path, timestamp, nonce, signature, serial, body =
            line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
        if path then
            requests[#requests + 1] = wrk.format("POST", path, {
                ["Content-Type"] = "application/json",
                ["Wechatpay-Timestamp"] = timestamp,
                ["Wechatpay-Nonce"] = nonce,
                ["Wechatpay-Signature"] = signature,
                ["Wechatpay-Serial"] = serial,
                ["Wechatpay-Signature-Type"] = "WECHATPAY2-SHA256-RSA2048",
            }, body)
        end
    end
    if #requests == 0 then
        error("no notifications in " .. tostring(file))
    end
    -- Threads start evenly spread over the file.
    next_index = math.floor((tonumber(offset) or 0) * #requests / 8) % #requests + 1
end

function request()
    local r = requests[next_index]
    next_index = next_index % #requests + 1
    return r
end

-- done(): the JSON summary line, shared with the /health/live run.
dofile("scripts/lib/wrk-report.lua")
