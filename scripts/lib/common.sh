# shellcheck shell=bash
#
# Helpers shared by the PayFleet scripts (scripts/services, scripts/test, scripts/up, ...).
#
# Source it, do not run it:
#     source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# It only defines functions and one variable (PAYFLEET_SCRIPT_NAME); it does not change
# shell options, the working directory or the environment of the caller.

# Sourcing twice is harmless, but there is no need to redefine everything.
if [[ -n "${_PAYFLEET_COMMON_SH_LOADED:-}" ]]; then
    return 0
fi
_PAYFLEET_COMMON_SH_LOADED=1

# Name used as the prefix of log lines: the script that sourced this file.
PAYFLEET_SCRIPT_NAME="$(basename -- "$0")"

# payfleet_repo_root: print the absolute, symlink-free path of the repository root.
# This file lives in <root>/scripts/lib, so the root is two levels up; it does not
# depend on the caller's working directory or on git being installed.
payfleet_repo_root() {
    (cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
}

# log MESSAGE...: human-readable progress, always on stderr so that stdout stays
# clean for output meant to be captured (e.g. `eval "$(scripts/services env)"`).
log() {
    printf '%s: %s\n' "$PAYFLEET_SCRIPT_NAME" "$*" >&2
}

# warn MESSAGE...: like log, marked as a warning.
warn() {
    log "warning: $*"
}

# die MESSAGE...: report an error on stderr and exit with status 1.
die() {
    log "error: $*"
    exit 1
}

# have COMMAND: true when COMMAND is on the PATH.
have() {
    command -v -- "$1" >/dev/null 2>&1
}

# payfleet_now: seconds since the epoch with microseconds (bash 5 $EPOCHREALTIME),
# for timing steps: start=$(payfleet_now); ...; payfleet_elapsed "$start" -> "1.23s".
payfleet_now() {
    printf '%s\n' "${EPOCHREALTIME/,/.}"
}

# payfleet_elapsed START: seconds elapsed since START (a payfleet_now value), e.g. "1.23s".
payfleet_elapsed() {
    local start_us end_us
    start_us=$(( ${1%.*} * 1000000 + 10#${1#*.} ))
    end_us=$(( ${EPOCHREALTIME%[.,]*} * 1000000 + 10#${EPOCHREALTIME#*[.,]} ))
    printf '%d.%02ds\n' $(( (end_us - start_us) / 1000000 )) $(( (end_us - start_us) % 1000000 / 10000 ))
}
