#!/usr/bin/env bash
# Install what the telemetry stack needs from Debian's packages: Prometheus (with promtool), the Pushgateway,
# collectd (StatsD in, Prometheus out) and the two libraries its write_prometheus plugin loads but the package
# only suggests. Idempotent and fast when everything is there: apt runs only for missing packages.
#
# The packages' own services would listen on every interface without authentication (9090, 9091, 8428, and
# collectd's 8125/25826 once configured). The project never uses them: scripts/telemetry.sh runs its own copies
# on 127.0.0.1. So apt runs under a policy-rc.d guard (exit 101: maintainer scripts start nothing), and on
# every run the distro units are stopped (only the distro's service, found by its unit or its init script's
# pid file), disabled and masked. SKYBENCH_KEEP_DISTRO_SERVICES=1 leaves the units alone (a host whose admin
# runs these services on purpose). Undo by hand: systemctl unmask NAME; systemctl enable NAME.
#
# Exit status: 0 done, 2 cannot install (not root, apt failed).
set -euo pipefail

# victoria-metrics: the fleet test (a central Prometheus-compatible store importing a run); 89 MB, one small dep.
PACKAGES=(prometheus prometheus-pushgateway collectd-core libmicrohttpd12 libprotobuf-c1 curl jq victoria-metrics)
# The services those packages ship (collectd's unit comes with collectd-core).
DISTRO_SERVICES=(prometheus prometheus-pushgateway victoria-metrics collectd)

# Overridable so the tests can point the script at a scratch copy of the system's folders.
POLICY_RC_D=${SKYBENCH_POLICY_RC_D:-/usr/sbin/policy-rc.d}
INIT_D=${SKYBENCH_INIT_D:-/etc/init.d}
RC_D_ROOT=${SKYBENCH_RC_D_ROOT:-/etc}
SYSTEMD_RUN_DIR=${SKYBENCH_SYSTEMD_RUN_DIR:-/run/systemd/system}
GUARD_MARK="# skybench install guard"

log() { echo "install-telemetry-deps: $*"; }

missing_packages() {
  local package status
  for package in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || echo "$package"
  done
}

# A guard left by a run that was killed (SIGKILL skips the trap): put back what it replaced.
restore_policy() {
  if [[ -f $POLICY_RC_D ]] && grep -qxF "$GUARD_MARK" "$POLICY_RC_D"; then
    if [[ -e $POLICY_RC_D.skybench-saved ]]; then
      mv -f "$POLICY_RC_D.skybench-saved" "$POLICY_RC_D"
    else
      rm -f "$POLICY_RC_D"
    fi
  fi
}

install_guard() {
  restore_policy
  if [[ -e $POLICY_RC_D || -L $POLICY_RC_D ]]; then
    mv -f "$POLICY_RC_D" "$POLICY_RC_D.skybench-saved"
  fi
  printf '#!/bin/sh\n%s\n# no service starts while the telemetry packages install\nexit 101\n' "$GUARD_MARK" \
    >"$POLICY_RC_D.skybench-new"
  chmod 755 "$POLICY_RC_D.skybench-new"
  mv -f "$POLICY_RC_D.skybench-new" "$POLICY_RC_D"
}

install_packages() {
  log "installing $*"
  export DEBIAN_FRONTEND=noninteractive
  trap 'restore_policy; log "removed the policy-rc.d guard"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  install_guard
  log "policy-rc.d guard in place: the packages' maintainer scripts start no service"
  # Another apt may be running (CI images, parallel jobs): wait for its lock rather than failing.
  if ! apt-get update -qq -o DPkg::Lock::Timeout=300 \
    || ! apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "$@"; then
    log "apt-get failed to install $*" >&2
    exit 2
  fi
  restore_policy
  trap - EXIT INT TERM
  log "removed the policy-rc.d guard"
}

# The distro's daemon only: systemd by unit; without systemd, the init script's own status and stop, which
# match its pid file, binary and user (never the project's copies, which run from scripts/telemetry.sh).
stop_service() {
  local service=$1
  if [[ -d $SYSTEMD_RUN_DIR ]]; then
    if systemctl is-active --quiet "$service.service" 2>/dev/null; then
      systemctl stop "$service.service"
      log "stopped $service.service"
    fi
  elif [[ -x $INIT_D/$service ]] && "$INIT_D/$service" status >/dev/null 2>&1; then
    "$INIT_D/$service" stop >/dev/null
    log "stopped the distro's $service (its init script)"
  fi
}

disable_service() {
  local service=$1 state
  if command -v systemctl >/dev/null; then
    state=$(systemctl is-enabled "$service.service" 2>/dev/null || true)
    if [[ -n $state && $state != masked ]]; then
      systemctl disable --quiet "$service.service" 2>/dev/null || true
      # A unit file of the admin's own in /etc/systemd/system cannot be masked: it stays disabled.
      if systemctl mask --quiet "$service.service" 2>/dev/null; then
        log "masked $service.service (was $state)"
      else
        log "disabled $service.service (was $state); it has a unit file of its own in /etc, so not masked" >&2
      fi
    fi
  fi
  if compgen -G "$RC_D_ROOT/rc[2-5].d/S[0-9][0-9]$service" >/dev/null; then
    update-rc.d "$service" disable >/dev/null 2>&1
    log "disabled the $service init script"
  fi
}

quiet_distro_services() {
  local service
  if [[ ${SKYBENCH_KEEP_DISTRO_SERVICES:-0} == 1 ]]; then
    log "SKYBENCH_KEEP_DISTRO_SERVICES=1: left the distro units of ${DISTRO_SERVICES[*]} as they are"
    return
  fi
  if [[ $(id -u) -ne 0 ]]; then
    log "not root: cannot check that the distro units of ${DISTRO_SERVICES[*]} are stopped and masked" >&2
    return
  fi
  for service in "${DISTRO_SERVICES[@]}"; do
    stop_service "$service"
    disable_service "$service"
  done
  log "distro services ${DISTRO_SERVICES[*]}: not running, not enabled; the project runs its own on 127.0.0.1"
}

main() {
  local missing
  if [[ $(id -u) -eq 0 ]]; then
    restore_policy
  fi
  mapfile -t missing < <(missing_packages)
  if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -ne 0 ]]; then
      log "need root to install ${missing[*]} (run as root or install them yourself)" >&2
      exit 2
    fi
    install_packages "${missing[@]}"
  fi
  quiet_distro_services
}

main "$@"
