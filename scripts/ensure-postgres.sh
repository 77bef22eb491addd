#!/usr/bin/env bash
# Start the local PostgreSQL cluster if it is not answering, and fail loudly if it cannot be
# reached. Used by `make test` and .ci/run; harmless when the server is already up.
set -euo pipefail
HOST=${PGHOST:-127.0.0.1}
PORT=${PGPORT:-5432}
ready() { pg_isready -h "$HOST" -p "$PORT" -q 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-postgres: pg_isready not found; install postgresql-client" >&2
  exit 1
fi
if ! ready; then
  if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "ensure-postgres: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
if ! ready; then
  echo "ensure-postgres: PostgreSQL is not reachable at $HOST:$PORT — the database tests need it" >&2
  exit 1
fi
psql -h "$HOST" -p "$PORT" -U postgres -d test -tAc "SELECT 1" >/dev/null || {
  echo "ensure-postgres: cannot connect as user postgres to database test" >&2
  exit 1
}
echo "ensure-postgres: PostgreSQL ready at $HOST:$PORT"
