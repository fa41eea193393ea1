#!/usr/bin/env bash
# The project's tests, from a fresh clone: install into .venv, check api/, run the unit
# tests and the conformance suite against the embedded reference server, then run the
# suite against a pip-installed Synapse and require its outcomes to match
# tests/expectations/synapse/ exactly (MATRIX_SKIP_SYNAPSE=1 skips that last step).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/python -m tools.check_api
.venv/bin/python -m pytest -n auto -q -p no:cacheprovider
if [ "${MATRIX_SKIP_SYNAPSE:-0}" != "1" ]; then
  .venv/bin/matrix-conformance --synapse --skip-reference --areas client_server,appservice,federation -n 2 \
    --out reports/ci
fi
