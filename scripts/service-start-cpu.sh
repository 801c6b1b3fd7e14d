#!/usr/bin/env bash
# Where one service spends its start, in CPU time (what the two shared cores pay; wall time on a busy machine mostly says
# how busy it was): starts another instance of a service beside a running graph, with the environment DCP gave the
# running one (its Postgres, Redis and dashboard) on a free port, samples the process's CPU time until /health answers, and
# prints the CPU spent at each start-up milestone of its log, N times.
#   scripts/service-start-cpu.sh <Api|MediaWorker|Web> [runs=3]
# Needs a graph started from this checkout (dotnet run --project AgentLocator.AppHost, or scripts/startup-timeline.sh's
# command left running). The extra instance migrates (nothing to apply) and runs its background loops until it is stopped,
# a second after /health answers.
set -euo pipefail

service=${1:?usage: $0 <Api|MediaWorker|Web> [runs]}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
running=$(pgrep -f "^$root/AgentLocator.$service/bin/[^/]+/net10.0/AgentLocator.$service\$" | head -1 || true)
if [ -z "$running" ]; then
  echo "no running AgentLocator.$service from $root: start the graph first" >&2
  exit 1
fi
launcher=$(tr '\0' '\n' <"/proc/$running/cmdline" | head -1)
workdir=$(readlink -f "/proc/$running/cwd")
environment=$(mktemp); log=$(mktemp); samples=$(mktemp)
trap 'rm -f "$environment" "$log" "$samples"' EXIT
tr '\0' '\n' <"/proc/$running/environ" | grep -v -E '^(ASPNETCORE_URLS|PublicBaseUrl)=' >"$environment"
ticks=$(getconf CLK_TCK)

cpu_ms() { local stat; stat=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1; set -- $stat; echo $(( (${12} + ${13}) * 1000 / ticks )); }

echo "== $service ($launcher), $(uptime)"
for run in $(seq 1 "$runs"); do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  started=$(date +%s%N)
  (cd "$workdir" && exec env -i PATH="$PATH" $(cat "$environment") ASPNETCORE_URLS="http://localhost:$port" PublicBaseUrl="http://localhost:$port" \
    Logging__Console__FormatterName=simple Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff " \
    Logging__Console__FormatterOptions__SingleLine=true Logging__Console__FormatterOptions__ColorBehavior=Disabled \
    Logging__LogLevel__Microsoft.Extensions.Hosting=Debug Logging__LogLevel__Microsoft.EntityFrameworkCore.Migrations=Debug \
    Logging__LogLevel__StackExchange.Redis=Warning "$launcher") >"$log" 2>&1 &
  pid=$!
  : >"$samples"
  until curl -sf -o /dev/null "http://localhost:$port/health"; do
    cpu=$(cpu_ms "$pid") || { echo "  run $run: the instance exited:"; tail -20 "$log"; exit 1; }
    echo "$(date +%H:%M:%S.%3N) $cpu" >>"$samples"
    sleep 0.05
  done
  healthy=$(date +%s%N); cpu=$(cpu_ms "$pid")
  sleep 1
  kill -TERM "$pid"; wait "$pid" || true
  echo "  run $run: /health after $(( (healthy - started) / 1000000 )) ms wall, $cpu ms CPU; CPU at each milestone:"
  # Each milestone's log line, with the CPU time sampled just before it was written.
  grep -E 'Hosting starting|APP_START|Migrating using|No migrations were applied|Applying migration|Now listening' "$log" \
    | while read -r time rest; do
        at=$(awk -v t="$time" '$1 <= t { c = $2 } END { print c + 0 }' "$samples")
        printf '    %6s ms  %s\n' "$at" "$(echo "$rest" | sed -E 's/^[a-z]+: //' | cut -c1-90)"
      done
  printf '    %6s ms  /health answered\n' "$cpu"
done
echo "== $(uptime)"
