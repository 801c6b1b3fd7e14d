#!/usr/bin/env bash
# incoming_call throughput ceiling and p50/p99 at 200 and 500 req/s, beside pgbench running a
# single-row INSERT against the same PostgreSQL on the same machine, in one run; prints the ratio.
#
# Start the graph first as it runs in production (Release, Production, the Api's OTLP export off, the
# benchmark calls' stream-start watchdogs out of the way): the command and why each setting is there are
# in docs/benchmarks.md. Then, with the Postgres the Api uses as a libpq URL (port in the AppHost's table,
# password in <data folder>/postgres/password) and the operator's CRM key:
#   scripts/bench-incoming-call.sh postgresql://postgres:<password>@127.0.0.1:<port>/agentlocator http://localhost:6080 bench-token 15 \
#     "$(cat <data folder>/operator-crm-api.key)"
# Record numbers only on a quiet machine: the load average is printed before and after.
set -euo pipefail

pg_url=${1:?usage: bench-incoming-call.sh <postgres url> [api base url] [auth token] [seconds] [crm api key]}
api=${2:-http://localhost:6080}
token=${3:-bench-token}
seconds=${4:-15}
# A CRM key the Api accepts (the benchmark creates its business through the CRM API): the AppHost's operator
# key is in its data folder (.agentlocator/operator-crm-api.key, or the ephemeral folder it prints).
api_key=${5:-${AGENTLOCATOR_API_KEY:-}}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
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
echo "## ceiling: incoming_call offered at 1000/s"
ceiling_out=$(run 1000)
printf '%s\n' "$ceiling_out"
# Columns: endpoint | requests | served in full | shed | failed | answered/s | in full/s | ...; the ceiling is the rate served in full.
read -r ceiling shed failed < <(printf '%s\n' "$ceiling_out" | awk -F'|' '/\| POST \/webhook\/incoming_call/ { gsub(/ /, ""); print $8, $5, $6 }')
echo "incoming_call ceiling ${ceiling}/s served in full (${shed} shed, ${failed} failed) vs pgbench ${pg_tps} tps: ratio $(awk -v a="$ceiling" -v b="$pg_tps" 'BEGIN { printf "%.2f", a / b }') (goal >= 0.5)"
echo "load after: $(uptime)"
