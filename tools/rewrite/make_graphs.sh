#!/usr/bin/env bash
# Rebuilds the rewrite test graphs and references (a few seconds). Uses tools/public_models' venv.
set -euo pipefail
cd "$(dirname "$0")"
VENV=../public_models/.venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -r ../public_models/requirements.txt
fi
export OMP_NUM_THREADS=1
exec "$VENV/bin/python" make_graphs.py "$@"
