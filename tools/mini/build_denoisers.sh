#!/usr/bin/env bash
# One command for [mini-2]: caches the frozen encoder outputs, trains the base denoiser, branches
# it into three noise-interval experts, trains the 32->64 super-resolution stage and the
# single-model baseline, exports everything to ONNX (checked against PyTorch) and assembles the
# SDK's default bundle (ediff-model-mini/src/main/resources/dev/ediff/models/default/; the judge goes to ediff-eval).
# Needs [mini-1] (tools/mini/build.sh) to have finished. Resumes after an interruption (every
# phase checkpoints under work/mini2/). Extra args go to mini2.build, e.g.
#   --plan full            the issue's 3-hour budget (extends the phases of the quick plan)
#   --export-only          export + bundle from the latest EMA checkpoints
#   --deadline 10:50       checkpoint and export at that time, whatever is trained
#   --smoke                tiny sizes and stand-in encoders (tests the scripts)
# In the background:
#   nohup tools/mini/build_denoisers.sh > tools/mini/work/denoisers.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install -r requirements.txt
fi
export OMP_NUM_THREADS="${THREADS:-2}" OMP_WAIT_POLICY=PASSIVE RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m mini2.build --threads "${THREADS:-2}" "$@"
