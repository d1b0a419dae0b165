#!/usr/bin/env bash
# One command for [mini-1]: data, tokenizers, mini-CLIP, mini-T5, judge, ONNX export, metrics.
# Resumes after an interruption (stage markers + checkpoints under work/). Extra args go to
# mini.build (e.g. --smoke). Run in the background with:
#   nohup tools/mini/build.sh > tools/mini/work/build.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -r requirements.txt
fi
# PASSIVE: on a shared 2-core machine, spinning OpenMP workers made steps 10x slower.
export OMP_NUM_THREADS="${THREADS:-2}" OMP_WAIT_POLICY=PASSIVE RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m mini.build --threads "${THREADS:-2}" "$@"
