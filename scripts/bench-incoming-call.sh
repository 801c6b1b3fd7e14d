#!/usr/bin/env bash
# incoming_call throughput ceiling and p50/p99 at 200 and 500 req/s, beside pgbench running a
# single-row INSERT against the same PostgreSQL on the same machine, in one run; prints the ratio.
# The ceiling is measured as pgbench measures Postgres's: closed loop (wrk, 64 connections, each sending its next
# call when the last is answered), by a C load generator that costs the shared cores little.
#
# Start the graph first as it runs in production (Release, Production, the Api's OTLP export off, the
# benchmark calls' stream-start watchdogs out of the way): the command and why each setting is there are
# in docs/benchmarks.md. Then, with the Postgres the Api uses as a libpq URL (port in the AppHost's table,
# password in <data folder>/postgres/password) and the operator's CRM key:
#   scripts/bench-incoming-call.sh postgresql://postgres:<password>@127.0.0.1:<port>/agentlocator http://localhost:6080 bench-token 15 \
#     "$(cat <data folder>/operator-crm-api.key)" <redis port>
# It reports the CPU each call costs at the ceiling by process (the Api, Postgres, Redis when its port is given, the Web
# app and the MediaWorker, which follow the live call events, and the whole machine), and a bare endpoint's beside it.
# The processes are found by the ports they listen on: run the graph with its local servers (the default here), not
# in containers, whose ports belong to a proxy.
# Record numbers only on a quiet machine: the load average is printed before and after.
set -euo pipefail

pg_url=${1:?usage: bench-incoming-call.sh <postgres url> [api base url] [auth token] [seconds] [crm api key] [redis port]}
api=${2:-http://localhost:6080}
token=${3:-bench-token}
seconds=${4:-15}
# A CRM key the Api accepts (the benchmark creates its business through the CRM API): the AppHost's operator
# key is in its data folder (.agentlocator/operator-crm-api.key, or the ephemeral folder it prints).
api_key=${5:-${AGENTLOCATOR_API_KEY:-}}
root=$(cd "$(dirname "$0")/.." && pwd)
redis_port=${6:-}
work=$(mktemp -d)

# CPU time by process, for the CPU each call costs: user + system ticks from /proc (a Postgres server with its
# backends, which are its children), and the whole machine's busy ticks.
listener() { ss -Htlnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
ticks() { [[ -n "$1" && -r /proc/$1/stat ]] && awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" || echo 0; }
pg_port=$(sed -E 's#^[a-z]+://[^@]*@[^:/]+:([0-9]+).*#\1#' <<<"$pg_url")
api_port=$(sed -E 's#^[a-z]+://[^:/]+:?([0-9]*).*#\1#' <<<"$api")
procs="api=$(listener "${api_port:-80}") postgres=$(listener "$pg_port") redis=${redis_port:+$(listener "$redis_port")} web=$(pgrep -n -f 'AgentLocator.Web/bin' || true) mediaworker=$(pgrep -n -f 'AgentLocator.MediaWorker/bin' || true)"
cpu_snapshot() {
  local entry name pid total child
  for entry in $procs; do
    name=${entry%%=*}; pid=${entry#*=}; total=$(ticks "$pid")
    if [[ $name == postgres && -n "$pid" ]]; then
      for child in $(ps -o pid= --ppid "$pid"); do total=$(( total + $(ticks "$child") )); done
    fi
    printf '%s=%s ' "$name" "$total"
  done
  awk '/^cpu / { print "machine=" $2 + $3 + $4 + $7 + $8 }' /proc/stat
}
# "name=ticks ..." before and after, and the requests in between -> "name ms ..." per request (a tick is 10 ms).
cpu_per_request() {
  awk -v before="$1" -v after="$2" -v n="${3:-0}" 'BEGIN {
    if (n <= 0) { printf "(no requests counted)"; exit }
    split(before, b, " "); split(after, a, " ")
    for (i in b) { split(b[i], kv, "="); start[kv[1]] = kv[2] }
    for (i = 1; i in a; i++) { split(a[i], kv, "="); if (kv[1] in start && kv[2] != "") printf "%s %.3f ", kv[1], (kv[2] - start[kv[1]]) * 10 / n }
  }'
}
trap 'rm -rf "$work"; psql "$pg_url" -qc "DROP TABLE IF EXISTS bench_pgbench_calls" >/dev/null 2>&1 || true' EXIT

echo "load before: $(uptime)"
psql "$pg_url" -qc "DROP TABLE IF EXISTS bench_pgbench_calls; CREATE TABLE bench_pgbench_calls (id bigserial PRIMARY KEY, call_sid text NOT NULL UNIQUE, from_number text, created_at timestamptz NOT NULL DEFAULT now())"
cat > "$work/insert.sql" <<'SQL'
INSERT INTO bench_pgbench_calls (call_sid, from_number) VALUES ('CA' || md5(random()::text || clock_timestamp()::text), '+972520000000');
SQL
# 16 clients: about the concurrency the Api's connection pool gives incoming_call at its ceiling.
pgbench_out=$(pgbench -n -c 16 -j 2 -T "$seconds" -f "$work/insert.sql" "$pg_url")
pg_tps=$(printf '%s\n' "$pgbench_out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
echo "pgbench single-row INSERT, 16 clients, ${seconds} s: ${pg_tps} tps"

dotnet build -c Release "$root/AgentLocator.Benchmarks" -v q -nologo >/dev/null
# A run with failed requests (client timeouts, non-2xx) exits non-zero: its table still counts, so go on. Past the ceiling
# the Api sheds what it cannot serve in time (answered at once, writes deferred): the table counts served in full, shed
# and failed apart.
run() { dotnet run -c Release --no-build --project "$root/AgentLocator.Benchmarks" -- webhooks --base-url "$api" --auth-token "$token" --api-key "$api_key" --rate "$1" --seconds "$seconds" || true; }
for rate in 200 500; do
  echo "## incoming_call at ${rate}/s"
  run "$rate"
done
echo "## ceiling: incoming_call closed loop, wrk 2 threads x 64 connections, ${seconds} s"
# Enough new calls for the warm-up, the ceiling and the overload at up to 10,000/s: each request is a call never seen before.
count=$(( (2 * seconds + 20) * 10000 ))
dotnet run -c Release --no-build --project "$root/AgentLocator.Benchmarks" -- webhook-requests --base-url "$api" --auth-token "$token" \
  --api-key "$api_key" --count "$count" --out "$work/incoming-call.tsv"
# 20 s of warm-up first: at full load the Api's code takes that long to reach its optimised (tier-1) versions.
wrk -t2 -c64 -d20s -s "$root/scripts/incoming-call.lua" "$api" -- "$work/incoming-call.tsv" 2 0 | tail -1
cpu_before=$(cpu_snapshot)
ceiling_out=$(wrk -t2 -c64 -d"${seconds}s" -s "$root/scripts/incoming-call.lua" "$api" -- "$work/incoming-call.tsv" 2 $(( 20 * 10000 )))
cpu_after=$(cpu_snapshot)
printf '%s\n' "$ceiling_out"
# The ceiling is the rate served in full: a shed answer (X-AgentLocator-Shed) is valid TwiML, but its call row comes later.
ceiling=$(printf '%s\n' "$ceiling_out" | sed -n 's/^incoming_call closed loop: .* in full \([0-9]*\)\/s.*/\1/p')
requests=$(printf '%s\n' "$ceiling_out" | sed -n 's/^incoming_call closed loop: \([0-9]*\) requests.*/\1/p')
echo "incoming_call ceiling ${ceiling}/s served in full vs pgbench ${pg_tps} tps: ratio $(awk -v a="$ceiling" -v b="$pg_tps" 'BEGIN { printf "%.2f", a / b }') (goal >= 0.5)"
ceiling_cpu=$(cpu_per_request "$cpu_before" "$cpu_after" "$requests")
echo "CPU ms per call at the ceiling, by process (machine: all of it, the load generator and the kernel included): $ceiling_cpu"
pg_per_call=$(sed -n 's/.*postgres \([0-9.]*\).*/\1/p' <<<"$ceiling_cpu")
redis_per_call=$(sed -n 's/.*redis \([0-9.]*\).*/\1/p' <<<"$ceiling_cpu")

# What the goal leaves per call, and what the call's own Postgres and Redis work plus a bare HTTP exchange take of it.
echo "## reference: a bare endpoint (GET /health on the same Api: no body, no signature, nothing stored), wrk 2 threads x 64 connections, 10 s"
cpu_before=$(cpu_snapshot)
bare_out=$(wrk -t2 -c64 -d10s "$api/health")
cpu_after=$(cpu_snapshot)
bare_requests=$(printf '%s\n' "$bare_out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
echo "bare endpoint: $(printf '%s\n' "$bare_out" | sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p')/s; CPU ms per request: $(cpu_per_request "$cpu_before" "$cpu_after" "$bare_requests")"
bare_machine=$(cpu_per_request "$cpu_before" "$cpu_after" "$bare_requests" | sed -n 's/.*machine \([0-9.]*\).*/\1/p')
web_per_call=$(sed -n 's/.*web \([0-9.]*\).*/\1/p' <<<"$ceiling_cpu")
mediaworker_per_call=$(sed -n 's/.*mediaworker \([0-9.]*\).*/\1/p' <<<"$ceiling_cpu")
awk -v cores="$(nproc)" -v tps="$pg_tps" -v pg="$pg_per_call" -v redis="${redis_per_call:-0}" -v events="$(awk -v w="${web_per_call:-0}" -v m="${mediaworker_per_call:-0}" 'BEGIN { print w + m }')" \
    -v bare="$bare_machine" 'BEGIN {
  budget = cores * 1000 / (0.5 * tps); floor = pg + redis + events + bare
  printf "the goal (0.5x pgbench = %.0f calls/s on %d cores) leaves %.3f ms of CPU per call for everything. The call'"'"'s Postgres (%.3f) and Redis (%.3f) work, the Web app and MediaWorker following its live events (%.3f) and a bare HTTP exchange (%.3f) take %.3f ms of it before the Api does any work of its own: at most %.0f calls/s (%.2fx pgbench) with an Api that cost no more than a bare endpoint\n",
    0.5 * tps, cores, budget, pg, redis, events, bare, floor, cores * 1000 / floor, cores * 1000 / floor / tps }'
echo "## overload: 512 connections at once (8x the ceiling's), ${seconds} s: what is not served in full is shed, never timed out"
wrk -t2 -c512 -d"${seconds}s" --timeout 15s -s "$root/scripts/incoming-call.lua" "$api" -- "$work/incoming-call.tsv" 2 $(( (20 + seconds) * 10000 )) | tail -1
echo "load after: $(uptime)"
