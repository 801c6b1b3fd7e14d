#!/usr/bin/env bash
# How long the graph takes to start, and where the time goes: runs the AppHost N times (ephemeral data, free ports,
# so it runs beside another AppHost) with AppHost:StartupTimeline on, prints each run's timeline (every resource's
# state and health changes, seconds since the AppHost process started), the wall time from the command to
# "AgentLocator is up" and from SIGTERM to exit, and the load average.
#   scripts/startup-timeline.sh [runs=3] [extra AppHost arguments...]
# STARTUP_COMMAND picks what is timed: "dotnet run --no-build" (default: the graph once built) or "dotnet run"
# (what a newcomer types: adds the incremental build check).
# Build first: dotnet build AgentLocator.AppHost (add -c Release and --AppHost:Configuration Release to time Release).
set -euo pipefail

runs=${1:-3}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
command=${STARTUP_COMMAND:-dotnet run --no-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for run in $(seq 1 "$runs"); do
  echo "== run $run/$runs, $(uptime)"
  # The dashboard's three addresses, as launchSettings.json gives them, on free ports.
  : >"$log"
  started=$(date +%s.%N)
  ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development ASPIRE_ALLOW_UNSECURED_TRANSPORT=true \
  ASPNETCORE_URLS="http://localhost:$(free_port)" \
  ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://localhost:$(free_port)" \
  ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://localhost:$(free_port)" \
    setsid $command --project "$root/AgentLocator.AppHost" --no-launch-profile -- \
      --AppHost:Ephemeral true --AppHost:StartupTimeline true \
      --AppHost:ApiPort 0 --AppHost:MediaWorkerPort 0 --AppHost:WebPort 0 "$@" >"$log" 2>&1 &
  pid=$!
  up=
  deadline=$(( $(date +%s) + ${STARTUP_TIMEOUT:-300} ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if grep -q "AgentLocator is up" "$log"; then up=$(date +%s.%N); break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done

  # The AppHost's own timeline: its log lines, without the logger's category.
  grep -E "STARTUP_|\+ *[0-9.]+s " "$log" | sed -E 's/^.*(\+ *[0-9.]+s)/  \1/' || true
  if [ -z "$up" ]; then
    echo "  not up after ${STARTUP_TIMEOUT:-300} s (or it exited); its log:"; sed 's/^/    /' "$log" | tail -40
    kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" || true
    exit 1
  fi
  grep -o "AgentLocator is up.*started" "$log" | sed 's/^/  /'
  printf '  wall: command to "AgentLocator is up" %.1f s\n' "$(echo "$up - $started" | bc)"

  stopping=$(date +%s.%N)
  # SIGTERM, as a service manager stops it (a background job ignores SIGINT, Ctrl+C's signal).
  kill -TERM -- "-$pid" 2>/dev/null || true
  wait "$pid" || true
  printf '  wall: SIGTERM to exit %.1f s\n' "$(echo "$(date +%s.%N) - $stopping" | bc)"
done
echo "== $(uptime)"
