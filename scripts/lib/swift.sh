# shellcheck shell=bash
# Puts the Swift toolchain on PATH (it lives in /opt/swift on these machines) and fails
# with a clear message when there is none. Source it after common.sh.
if ! have swift; then
    for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
        if [[ -x "$candidate/swift" ]]; then
            export PATH="$candidate:$PATH"
            break
        fi
    done
fi
have swift || die "no Swift toolchain found; install Swift 6.2 or newer (https://swift.org/install) and put it on PATH"
