#!/usr/bin/env bash
# CPU milliseconds per request of /webhook/incoming_call, by process (the Api, the whole Postgres server, Redis and
# the load generator), beside GET /health on the same Api in the same run. Unlike wall-clock throughput this holds
# on a machine other work shares: each process's user + system time (/proc/<pid>/stat, its children included) is
# read before and after a fixed number of signed requests sent at a fixed rate, and divided by that number.
#
# Start the graph as in production first (the command is in docs/benchmarks.md), then:
#   scripts/cpu-per-request.sh <postgres port> <redis port> [api base url] [auth token] [rate] [seconds] [crm api key]
# e.g. scripts/cpu-per-request.sh 39001 39002 http://localhost:6080 bench-token 200 20 "$(cat <data folder>/operator-crm-api.key)"
set -euo pipefail

pg_port=${1:?usage: cpu-per-request.sh <postgres port> <redis port> [api base url] [auth token] [rate] [seconds] [crm api key]}
redis_port=${2:?usage: cpu-per-request.sh <postgres port> <redis port> [api base url] [auth token] [rate] [seconds] [crm api key]}
api=${3:-http://localhost:6080}
token=${4:-bench-token}
rate=${5:-200}
seconds=${6:-20}
api_key=${7:-${AGENTLOCATOR_API_KEY:-}}
root=$(cd "$(dirname "$0")/.." && pwd)

# The pid listening on a TCP port (for Postgres, the postmaster: its backends are its children).
listener() {
  local pid
  pid=$(ss -Htlnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
  [[ -n "$pid" ]] || { echo "nothing listens on port $1" >&2; exit 1; }
  echo "$pid"
}
api_port=$(sed -E 's#^[a-z]+://[^:/]+:?([0-9]*).*#\1#' <<<"$api")
pids="api=$(listener "${api_port:-80}"),postgres=$(listener "$pg_port"),redis=$(listener "$redis_port")"
echo "processes: $pids"
echo "load before: $(uptime)"
dotnet build -c Release "$root/AgentLocator.Benchmarks" -v q -nologo >/dev/null
# Ten seconds of warm-up at 50/s first, so the measured requests run on tier-1 code with the pools filled.
dotnet run -c Release --no-build --project "$root/AgentLocator.Benchmarks" -- webhooks --base-url "$api" --auth-token "$token" \
  --api-key "$api_key" --rate "$rate" --seconds "$seconds" --warmup-seconds 10 --cpu-pids "$pids" || true
echo "load after: $(uptime)"
