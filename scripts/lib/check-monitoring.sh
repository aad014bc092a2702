#!/usr/bin/env bash
#
# scripts/lib/check-monitoring.sh: check the compose fleet's monitoring files (docs/monitoring.md)
# without starting anything.
#
#   - promtool check rules  docker/prometheus/alerts.yml
#   - promtool check config docker/prometheus/prometheus.yml (its rule_files resolve beside it)
#   - promtool test rules   docker/prometheus/alerts.test.yml (every alert fires on its series)
#   - docker/grafana/dashboards/payfleet.json parses, uses the provisioned datasource uid, and
#     every PromQL expression in it parses (fed to `promtool check rules` as recording rules)
#
# promtool comes from Debian's `prometheus` package; run as root, a missing promtool (or python3)
# is installed with apt-get, as scripts/services installs its packages. The package's own daemon is
# not wanted: if systemd started it on install, it is stopped and disabled again.
# Exit status 0 when everything passes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
root=$(payfleet_repo_root)
cd "$root"

prometheus_dir=docker/prometheus
dashboard=docker/grafana/dashboards/payfleet.json
datasource_uid=payfleet-prometheus   # docker/grafana/datasources/prometheus.yml

# ensure_tools: install whatever of promtool (package prometheus) and python3 is missing.
ensure_tools() {
    local missing=()
    have promtool || missing+=(prometheus)
    have python3 || missing+=(python3)
    (( ${#missing[@]} == 0 )) && return 0

    [[ "$(id -u)" == 0 ]] \
        || die "missing ${missing[*]}: run this as root to install it, or apt-get install ${missing[*]}"
    log "installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    # Without recommends: prometheus recommends prometheus-node-exporter, another daemon.
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    have promtool || die "the prometheus package is installed but promtool is still missing"
    have python3 || die "python3 is installed but still not on the PATH"

    # Only promtool was wanted. Under systemd the package's postinst starts prometheus.service
    # (inside most containers policy-rc.d forbids that and nothing runs).
    if [[ " ${missing[*]} " == *" prometheus "* && -d /run/systemd/system ]] && have systemctl; then
        if systemctl is-active --quiet prometheus.service || systemctl is-enabled --quiet prometheus.service; then
            log "stopping and disabling prometheus.service, started by the package install (only promtool is needed)"
            systemctl disable --now prometheus.service >&2 || warn "could not stop prometheus.service"
        fi
    fi
}

ensure_tools
log "$(promtool --version 2>&1 | head -n 1)"

log "promtool check rules $prometheus_dir/alerts.yml"
promtool check rules "$prometheus_dir/alerts.yml"

# Full check (not --syntax-only): it also loads the rule_files, relative to the config file.
log "promtool check config $prometheus_dir/prometheus.yml"
promtool check config "$prometheus_dir/prometheus.yml"

log "promtool test rules $prometheus_dir/alerts.test.yml"
promtool test rules "$prometheus_dir/alerts.test.yml"

log "checking $dashboard"
python3 -m json.tool "$dashboard" >/dev/null || die "$dashboard is not valid JSON"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
# Every query of the dashboard as a recording rule (YAML is a superset of JSON), with Grafana's
# $__rate_interval etc. replaced by a duration, so promtool parses each one.
queries=$(python3 - "$dashboard" "$datasource_uid" "$work/dashboard-rules.json" <<'PY'
import json, re, sys

path, uid, out = sys.argv[1], sys.argv[2], sys.argv[3]
dashboard = json.load(open(path))
rules, problems = [], []

def panels(items):
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))

for panel in panels(dashboard.get("panels", [])):
    for holder in [panel] + panel.get("targets", []):
        source = holder.get("datasource")
        if isinstance(source, dict) and source.get("uid") not in (uid, None):
            problems.append(f"panel {panel.get('title')!r}: datasource uid {source.get('uid')!r}, not {uid!r}")
    for target in panel.get("targets", []):
        expr = target.get("expr")
        if expr:
            expr = re.sub(r"\$__(rate_)?interval|\$__range", "1m", expr)
            rules.append({"record": f"dashboard:panel_{panel.get('id')}_{target.get('refId')}", "expr": expr})

if problems:
    sys.exit("\n".join(problems))
if not rules:
    sys.exit(f"{path}: no queries found")
json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, open(out, "w"))
print(len(rules))
PY
) || die "$dashboard: see above"
if ! output=$(promtool check rules --lint=none "$work/dashboard-rules.json" 2>&1); then
    printf '%s\n' "$output" >&2
    die "a query in $dashboard does not parse"
fi
log "$dashboard: valid JSON, datasource $datasource_uid, all $queries queries parse"

log "monitoring files OK"
