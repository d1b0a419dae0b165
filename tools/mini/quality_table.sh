#!/usr/bin/env bash
# The quality table ([mini-2], [mini-3]), made by the SDK's `ediff eval` command on the default bundle.
# Needs: the SDK built (mvn -B -q package -DskipTests), the evaluation sets
# (tools/mini/.venv/bin/python tools/mini/eval_sets.py), and for the baseline row the baseline bundle
# (tools/mini/build_denoisers.sh --export-only --baseline-bundle work/bundles/baseline
#  --sr-bundle work/bundles/sr_other).
# LIMIT prompts per row (default 60; SR_LIMIT for the slower SR rows). Output: tools/mini/work/eval/table-*.md
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR=ediff-cli/target/ediff.jar
EVAL=tools/mini/work/eval
LIMIT="${LIMIT:-60}"
BASELINE="${BASELINE:-tools/mini/work/bundles/baseline}"
SR_OTHER="${SR_OTHER:-tools/mini/work/bundles/sr_other}"   # the bundle with the other SR choice (--sr-bundle)
JOBS="${JOBS:-2}"
run() { local out=$1; shift; echo "== $out"; java -jar "$JAR" eval --jobs "$JOBS" "$@" | tee "$EVAL/table-$out.md"; }

# experts vs baseline, encoders, the layout step, steps (base stage, 32x32, held-out prompts)
configs=(--config "experts dpm++2m 20=until=base,sampler=dpmpp_2m,steps=20"
         --config "experts, no layout=until=base,sampler=dpmpp_2m,steps=20,layout=false")
[ -d "$BASELINE" ] && configs+=(--config "baseline dpm++2m 20=until=base,sampler=dpmpp_2m,steps=20,model=$BASELINE")
configs+=(--config "T5 only=until=base,sampler=dpmpp_2m,steps=20,clip=false"
          --config "CLIP only=until=base,sampler=dpmpp_2m,steps=20,t5=false"
          --config "no text (uncond)=until=base,sampler=dpmpp_2m,steps=20,t5=false,clip=false")
for s in 10 35; do
  configs+=(--config "dpm++2m $s=until=base,sampler=dpmpp_2m,steps=$s")
  if [ -d "$BASELINE" ]; then
    configs+=(--config "baseline dpm++2m $s=until=base,sampler=dpmpp_2m,steps=$s,model=$BASELINE")
  fi
done
run main tools/mini/prompts/heldout.jsonl --limit "$LIMIT" --real "$EVAL/real" "${configs[@]}"

# super-resolution: the SR stage's 64x64 output vs bicubic upsampling of the 32x32 output
sr=(--config "SR 64x64=sampler=dpmpp_2m,steps=20")
[ -d "$SR_OTHER" ] && sr+=(--config "SR 64x64, other SR choice=sampler=dpmpp_2m,steps=20,model=$SR_OTHER")
sr+=(--config "bicubic 32->64=sampler=dpmpp_2m,steps=20,upsample=bicubic")
run sr tools/mini/prompts/heldout.jsonl --limit "${SR_LIMIT:-$LIMIT}" "${sr[@]}"

# paint-with-words: prompts that state no position, object painted into one cell
run paint "$EVAL/paint.jsonl" --config "painted=until=base,paint=true" --config "not painted=until=base,paint=false"
run paint-w1.5 "$EVAL/paint-w1.5.jsonl" --config "painted, weight 1.5=until=base,paint=true"

# style: reference image's background pattern and tint
# "with style" runs at the default strength (2 since session 7, chosen on validation prompts); strength 1 as before
run style "$EVAL/style.jsonl" --limit "$LIMIT" --config "with style=until=base,style=true" \
  --config "with style, strength 1=until=base,style=true,style_strength=1" \
  --config "without style=until=base,style=false"
