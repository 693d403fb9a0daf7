#!/usr/bin/env bash
# The local telemetry stack on 127.0.0.1: Prometheus, the Pushgateway and collectd (StatsD in, Prometheus out).
#
#   scripts/telemetry.sh up|down|status [STATE_DIR]      (default STATE_DIR: .skybench/telemetry)
#
# Ports (override by environment): SKYBENCH_PROMETHEUS_PORT=19090 SKYBENCH_PUSHGATEWAY_PORT=19091
# SKYBENCH_STATSD_PORT=18125 (UDP) SKYBENCH_COLLECTD_PROMETHEUS_PORT=19103. SKYBENCH_TELEMETRY_READY_TIMEOUT
# (seconds, default 60) bounds the wait for both scrape targets to be up.
# `up` is idempotent: a server whose recorded PID is alive is left alone; a dead one is started again.
# `down` stops by recorded PID: TERM, then KILL after SKYBENCH_TELEMETRY_STOP_TIMEOUT seconds (default 10).
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND=${1:-}
STATE_DIR=${2:-$REPO_DIR/.skybench/telemetry}

PROMETHEUS_PORT=${SKYBENCH_PROMETHEUS_PORT:-19090}
PUSHGATEWAY_PORT=${SKYBENCH_PUSHGATEWAY_PORT:-19091}
STATSD_PORT=${SKYBENCH_STATSD_PORT:-18125}
COLLECTD_PROMETHEUS_PORT=${SKYBENCH_COLLECTD_PROMETHEUS_PORT:-19103}
READY_TIMEOUT_S=${SKYBENCH_TELEMETRY_READY_TIMEOUT:-60}
STOP_TIMEOUT_S=${SKYBENCH_TELEMETRY_STOP_TIMEOUT:-10}
SCRAPE_INTERVAL=${SKYBENCH_SCRAPE_INTERVAL:-1s}
SERVICES=(pushgateway prometheus collectd)

log() { echo "telemetry: $*" >&2; }

usage() {
  echo "usage: $0 up|down|status [STATE_DIR]" >&2
  exit 2
}

# The binary each service runs: a recorded PID counts as ours only if it still runs this binary (PIDs are reused).
binary_of() {
  case $1 in
    pushgateway) echo prometheus-pushgateway ;;
    prometheus) echo prometheus ;;
    collectd) echo collectd ;;
  esac
}

pid_file() { echo "$STATE_DIR/pids/$1.pid"; }

# Prints the service's PID if it is running, else nothing.
running_pid() {
  local file pid exe
  file=$(pid_file "$1")
  [[ -s $file ]] || return 0
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  if [[ $(basename "${exe:-none}") == "$(binary_of "$1")" ]]; then
    echo "$pid"
  fi
}

fill_template() {
  sed -e "s|@STATE_DIR@|$STATE_DIR|g" \
    -e "s|@RULES_DIR@|$REPO_DIR/dashboards/rules|g" \
    -e "s|@PROMETHEUS_PORT@|$PROMETHEUS_PORT|g" \
    -e "s|@PUSHGATEWAY_PORT@|$PUSHGATEWAY_PORT|g" \
    -e "s|@STATSD_PORT@|$STATSD_PORT|g" \
    -e "s|@COLLECTD_PROMETHEUS_PORT@|$COLLECTD_PROMETHEUS_PORT|g" \
    -e "s|@SCRAPE_INTERVAL@|$SCRAPE_INTERVAL|g" \
    "$1" >"$2"
}

# Grafana has no ${VAR:-default} in provisioning files: write a copy with this stack's values filled in, for
# a Grafana started with GF_PATHS_PROVISIONING=$STATE_DIR/grafana-provisioning.
write_grafana_provisioning() {
  local kind target
  for kind in datasources dashboards; do
    target="$STATE_DIR/grafana-provisioning/$kind"
    mkdir -p "$target"
    {
      echo "# Written by scripts/telemetry.sh from dashboards/provisioning/$kind/skybench.yml"
      sed -e '/^#/d' -e "s|\$SKYBENCH_PROMETHEUS_URL|http://127.0.0.1:$PROMETHEUS_PORT|g" \
        -e "s|\$SKYBENCH_DASHBOARDS_DIR|$REPO_DIR/dashboards/grafana|g" \
        "$REPO_DIR/dashboards/provisioning/$kind/skybench.yml"
    } >"$target/skybench.yml"
  done
}

write_configs() {
  mkdir -p "$STATE_DIR"/{pids,logs,prometheus-data,collectd,pushgateway}
  fill_template "$REPO_DIR/telemetry/prometheus.yml.in" "$STATE_DIR/prometheus.yml"
  fill_template "$REPO_DIR/telemetry/collectd.conf.in" "$STATE_DIR/collectd.conf"
  promtool check config "$STATE_DIR/prometheus.yml" >"$STATE_DIR/logs/promtool-check.log" 2>&1 \
    || { cat "$STATE_DIR/logs/promtool-check.log" >&2; exit 1; }
  collectd -t -C "$STATE_DIR/collectd.conf" >"$STATE_DIR/logs/collectd-check.log" 2>&1 \
    || { cat "$STATE_DIR/logs/collectd-check.log" >&2; exit 1; }
  write_grafana_provisioning
  cat >"$STATE_DIR/ports.env" <<EOF
PROMETHEUS_PORT=$PROMETHEUS_PORT
PUSHGATEWAY_PORT=$PUSHGATEWAY_PORT
STATSD_PORT=$STATSD_PORT
COLLECTD_PROMETHEUS_PORT=$COLLECTD_PROMETHEUS_PORT
EOF
}

start_service() {
  local name=$1 pid log_file="$STATE_DIR/logs/$1.log"
  pid=$(running_pid "$name")
  if [[ -n $pid ]]; then
    log "$name already running (pid $pid)"
    return
  fi
  case $name in
    pushgateway)
      setsid prometheus-pushgateway --web.listen-address="127.0.0.1:$PUSHGATEWAY_PORT" \
        --persistence.file="$STATE_DIR/pushgateway/metrics.data" >>"$log_file" 2>&1 </dev/null &
      ;;
    prometheus)
      setsid prometheus --config.file="$STATE_DIR/prometheus.yml" --storage.tsdb.path="$STATE_DIR/prometheus-data" \
        --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --web.enable-lifecycle \
        --web.enable-remote-write-receiver >>"$log_file" 2>&1 </dev/null &
      ;;
    collectd)
      setsid collectd -f -C "$STATE_DIR/collectd.conf" >>"$log_file" 2>&1 </dev/null &
      ;;
  esac
  echo $! >"$(pid_file "$name")"
  log "$name started (pid $!)"
}

tail_logs() {
  for name in "${SERVICES[@]}"; do
    echo "--- $STATE_DIR/logs/$name.log (last 20 lines)" >&2
    tail -n 20 "$STATE_DIR/logs/$name.log" >&2 2>/dev/null || true
  done
}

# True when Prometheus reports every active target healthy (both the Pushgateway and collectd).
targets_up() {
  local body
  body=$(curl -fsS --max-time 2 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets?state=active" 2>/dev/null) || return 1
  jq -e '[.data.activeTargets[] | select(.health == "up")] | length == 2' <<<"$body" >/dev/null 2>&1
}

wait_until_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until targets_up; do
    for name in "${SERVICES[@]}"; do
      if [[ -z $(running_pid "$name") ]]; then
        log "$name exited during start-up"
        tail_logs
        exit 1
      fi
    done
    if ((SECONDS >= deadline)); then
      log "targets not up within ${READY_TIMEOUT_S}s"
      tail_logs
      exit 1
    fi
    sleep 0.2
  done
}

print_usage_hints() {
  cat <<EOF
Prometheus:  http://127.0.0.1:$PROMETHEUS_PORT   (Grafana: SKYBENCH_PROMETHEUS_URL)
Pushgateway: http://127.0.0.1:$PUSHGATEWAY_PORT
StatsD:      127.0.0.1:$STATSD_PORT/udp  (collectd; exported at http://127.0.0.1:$COLLECTD_PROMETHEUS_PORT/metrics)
export SKYBENCH_PUSHGATEWAY=127.0.0.1:$PUSHGATEWAY_PORT
export SKYBENCH_STATSD=127.0.0.1:$STATSD_PORT
export SKYBENCH_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT
Grafana:     start it with GF_PATHS_PROVISIONING=$STATE_DIR/grafana-provisioning to load the dashboards
EOF
}

# A running stack keeps the ports it was started with; asking for others would wait on the wrong ports.
check_running_ports() {
  local name running=""
  for name in "${SERVICES[@]}"; do
    if [[ -n $(running_pid "$name") ]]; then running+="$name "; fi
  done
  [[ -n $running && -f $STATE_DIR/ports.env ]] || return 0
  local wanted
  wanted=$(printf 'PROMETHEUS_PORT=%s\nPUSHGATEWAY_PORT=%s\nSTATSD_PORT=%s\nCOLLECTD_PROMETHEUS_PORT=%s' \
    "$PROMETHEUS_PORT" "$PUSHGATEWAY_PORT" "$STATSD_PORT" "$COLLECTD_PROMETHEUS_PORT")
  if [[ $wanted != "$(<"$STATE_DIR/ports.env")" ]]; then
    log "${running}already running in $STATE_DIR with other ports ($(tr '\n' ' ' <"$STATE_DIR/ports.env")); run down first"
    exit 1
  fi
}

cmd_up() {
  bash "$REPO_DIR/scripts/install-telemetry-deps.sh"
  check_running_ports
  write_configs
  for name in "${SERVICES[@]}"; do
    start_service "$name"
  done
  wait_until_ready
  log "ready (state in $STATE_DIR)"
  print_usage_hints
}

stop_service() {
  local name=$1 pid deadline
  pid=$(running_pid "$name")
  if [[ -z $pid ]]; then
    rm -f "$(pid_file "$name")"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) ignored TERM for ${STOP_TIMEOUT_S}s: KILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$name")"
  log "$name stopped (pid $pid)"
}

cmd_down() {
  [[ -d $STATE_DIR ]] || return 0
  for name in "${SERVICES[@]}"; do
    stop_service "$name"
  done
}

cmd_status() {
  local status=0 pid
  for name in "${SERVICES[@]}"; do
    pid=$(running_pid "$name")
    if [[ -n $pid ]]; then
      echo "$name: running (pid $pid)"
    else
      echo "$name: stopped"
      status=3
    fi
  done
  if [[ -f $STATE_DIR/ports.env ]]; then
    # shellcheck disable=SC1091
    source "$STATE_DIR/ports.env"
    if targets_up; then echo "targets: up"; else echo "targets: not all up"; status=3; fi
  fi
  return $status
}

case $COMMAND in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) usage ;;
esac
