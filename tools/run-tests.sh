#!/usr/bin/env bash
# The project's tests, from a fresh clone: install into .venv, check api/, run the unit
# tests (their PostgreSQL cases on a throwaway cluster) and the conformance suite against
# the embedded reference server on SQLite, run the suite again with the reference server
# on PostgreSQL, then run the suite against a pip-installed Synapse and require its
# outcomes to match tests/expectations/synapse/ exactly (MATRIX_SKIP_SYNAPSE=1 skips that
# last step; MATRIX_SKIP_POSTGRES=1 skips everything PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/python -m tools.check_api

have_postgres() {
  .venv/bin/python -c 'from tools.postgres_cluster import find_bin_dir; find_bin_dir()' 2>/dev/null
}
if [ "${MATRIX_SKIP_POSTGRES:-0}" != "1" ]; then
  if ! have_postgres && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # CI runs as root on a fresh Debian machine; initdb then runs as the package's
    # `postgres` user (tools/postgres_cluster.py).
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
  fi
  have_postgres || { echo "run-tests: PostgreSQL binaries not found (install postgresql," \
                          "or set MATRIX_SKIP_POSTGRES=1)" >&2; exit 1; }
  .venv/bin/python -m tools.postgres_cluster --export MATRIX_TEST_POSTGRES_URL -- \
    env MATRIX_REQUIRE_POSTGRES=1 .venv/bin/python -m pytest -n auto -q -p no:cacheprovider --optional
  .venv/bin/python -m tools.postgres_cluster --export MATRIX_REFERENCE_DATABASE -- \
    .venv/bin/python -m pytest -n auto -q -p no:cacheprovider --optional tests
else
  .venv/bin/python -m pytest -n auto -q -p no:cacheprovider --optional
fi
if [ "${MATRIX_SKIP_SYNAPSE:-0}" != "1" ]; then
  .venv/bin/matrix-conformance --synapse --skip-reference --areas client_server,appservice,federation -n 2 \
    --out reports/ci
fi
