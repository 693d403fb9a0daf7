#!/usr/bin/env bash
# Install what the telemetry stack needs from Debian's packages: Prometheus (with promtool), the Pushgateway,
# collectd (StatsD in, Prometheus out) and the two libraries its write_prometheus plugin loads but the package
# only suggests. Idempotent and fast when everything is there: apt runs only for missing packages.
set -euo pipefail

# victoria-metrics: the fleet test (a central Prometheus-compatible store importing a run); 89 MB, one small dep.
PACKAGES=(prometheus prometheus-pushgateway collectd-core libmicrohttpd12 libprotobuf-c1 curl jq victoria-metrics)

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-telemetry-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-telemetry-deps: need root to install ${missing[*]} (run as root or install them yourself)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt may be running (CI images, parallel jobs): wait for its lock rather than failing.
apt-get update -qq -o DPkg::Lock::Timeout=300
apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
