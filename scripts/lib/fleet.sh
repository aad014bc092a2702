# shellcheck shell=bash
# Starting and stopping the fleet's roles as background processes, by PID.
# Source after common.sh, from the repository root.
FLEET_DIR="${PAYFLEET_FLEET_DIR:-$(payfleet_repo_root)/.data/fleet}"
mkdir -p "$FLEET_DIR"

# http_ready PORT: true when GET /health/ready on 127.0.0.1:PORT answers 200 (bash only; no curl needed).
http_ready() {
    local reply
    reply=$(exec 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 && head -c 12 <&3) 2>/dev/null || return 1
    [[ "$reply" == "HTTP/1.1 200" ]]
}

# fleet_start BIN_DIR ROLE HEALTH_PORT [ARGS...]: start ROLE in the background (stdin closed,
# output to .data/fleet/ROLE.log, PID in .data/fleet/ROLE.pid) and wait until it is ready.
fleet_start() {
    local bin=$1 role=$2 port=$3
    shift 3
    if [[ -f "$FLEET_DIR/$role.pid" ]] && kill -0 "$(cat "$FLEET_DIR/$role.pid")" 2>/dev/null; then
        log "$role already running (pid $(cat "$FLEET_DIR/$role.pid"))"
        return 0
    fi
    # Another process answering on the port would look ready while this one fails its bind.
    ! http_ready "$port" || die "something already answers on :$port; stop it first (is a fleet running elsewhere?)"
    "$bin/$role" "$@" </dev/null >>"$FLEET_DIR/$role.log" 2>&1 &
    echo $! >"$FLEET_DIR/$role.pid"
    for _ in $(seq 1 150); do
        if http_ready "$port"; then
            log "$role ready (pid $(cat "$FLEET_DIR/$role.pid"), :$port)"
            return 0
        fi
        kill -0 "$(cat "$FLEET_DIR/$role.pid")" 2>/dev/null || { tail -5 "$FLEET_DIR/$role.log" >&2; die "$role exited at start-up"; }
        sleep 0.2
    done
    die "$role did not become ready on :$port within 30 s; see $FLEET_DIR/$role.log"
}

# fleet_all_running: true while every started role is alive.
fleet_all_running() {
    local f
    for f in "$FLEET_DIR"/*.pid; do
        [[ -e "$f" ]] || continue
        kill -0 "$(cat "$f")" 2>/dev/null || return 1
    done
}

# fleet_stop_all: SIGTERM every role (graceful: finish and ack in-flight work), wait, then forget it.
fleet_stop_all() {
    local f pid
    for f in "$FLEET_DIR"/*.pid; do
        [[ -e "$f" ]] || continue
        pid=$(cat "$f")
        kill -TERM "$pid" 2>/dev/null || true
    done
    for f in "$FLEET_DIR"/*.pid; do
        [[ -e "$f" ]] || continue
        pid=$(cat "$f")
        for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        log "stopped $(basename "$f" .pid)"
        rm -f "$f"
    done
}
