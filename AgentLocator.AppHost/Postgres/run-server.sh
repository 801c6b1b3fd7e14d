#!/bin/sh
# Runs the "postgres" resource's server: "$@" is the server's command line.
# DCP stops an executable with SIGTERM, which PostgreSQL takes as a "smart" shutdown (it waits for every client to
# disconnect); this turns SIGTERM and SIGINT into SIGINT, PostgreSQL's "fast" shutdown (clients are disconnected,
# a checkpoint is written, the server exits at once), and exits with the server's status.
server=
trap '[ -n "$server" ] && kill -INT "$server" 2>/dev/null || exit 143' TERM INT
# Its log goes to stdout: DCP shows stderr lines as errors.
"$@" 2>&1 &
server=$!
while :; do
  wait "$server"
  status=$?
  # wait returns early when a trapped signal arrives: keep waiting while the server shuts down.
  kill -0 "$server" 2>/dev/null || exit "$status"
done
