#!/usr/bin/env bash
# Session 7 ([mini-3]): inference settings of the default bundle, chosen on VALIDATION prompts only
# (never the held-out list or the sets made from it). Needs the SDK built
# (mvn -B -q package -DskipTests) and the validation sets (tools/mini/.venv/bin/python
# tools/mini/eval_sets.py --validation). Each eval holds /work/team/bench.lock when it exists (the
# machine is shared). Output: tools/mini/work/s7/*.md; the tables are in MODEL_CARD.md, "Session 7".
# Usage: validation_sweep.sh [guidance|guidance2|paint|style|sr]...   (default: all)
set -euo pipefail
cd "$(dirname "$0")/../.."
JAR="${JAR:-ediff-cli/target/ediff.jar}"
P=tools/mini/prompts
S=tools/mini/work/s7
JOBS="${JOBS:-2}"
mkdir -p "$S"
run() {
  local out=$1; shift
  echo "== $out"
  local lock=(); [ -e /work/team/bench.lock ] && lock=(flock /work/team/bench.lock)
  "${lock[@]}" nice java -jar "$JAR" eval --jobs "$JOBS" "$@" | tee "$S/$out.md"
}
B="until=base,sampler=dpmpp_2m,steps=20"
for what in "${@:-guidance guidance2 paint style sr}"; do for w in $what; do case $w in
guidance) run guidance $P/validation300.jsonl --real $S/real \
  --config "g2=$B,guidance=2" --config "g3 (default)=$B,guidance=3" --config "g4=$B,guidance=4" \
  --config "g5=$B,guidance=5" --config "g6=$B,guidance=6" ;;
guidance2) run guidance2 $P/validation300.jsonl --real $S/real \
  --config "g6 rescale 0.7=$B,guidance=6,guidance_rescale=0.7" \
  --config "g6 at sigma 1+=$B,guidance=6,guidance_lo=1" \
  --config "g6 below sigma 1=$B,guidance=6,guidance_hi=1" \
  --config "g6 at sigma in [0.5, 5)=$B,guidance=6,guidance_lo=0.5,guidance_hi=5" \
  --config "g8=$B,guidance=8" ;;
paint) run paint $P/validation-paint.jsonl \
  --config "not painted=until=base,paint=false" \
  --config "w 0.3=until=base,paint_weight=0.3" --config "w 0.6 (file)=until=base" \
  --config "w 1.0=until=base,paint_weight=1.0" --config "w 1.5=until=base,paint_weight=1.5" \
  --config "w 2.5=until=base,paint_weight=2.5" --config "w 4=until=base,paint_weight=4" ;;
style) run style $P/validation-style.jsonl \
  --config "without style=until=base,style=false" \
  --config "s 0.5=until=base,style_strength=0.5" --config "s 1=until=base,style_strength=1" \
  --config "s 1.5=until=base,style_strength=1.5" --config "s 2=until=base,style_strength=2" \
  --config "s 3=until=base,style_strength=3" ;;
sr) run sr $P/validation300.jsonl --limit 150 --real $S/real \
  --config "SR default (heun 12, aug 0.1, g 1)=sampler=dpmpp_2m,steps=20" \
  --config "bicubic 32->64=sampler=dpmpp_2m,steps=20,upsample=bicubic" \
  --config "SR aug 0=sampler=dpmpp_2m,steps=20,sr_augmentation_sigma=0" \
  --config "SR aug 0.05=sampler=dpmpp_2m,steps=20,sr_augmentation_sigma=0.05" \
  --config "SR aug 0.2=sampler=dpmpp_2m,steps=20,sr_augmentation_sigma=0.2" \
  --config "SR aug 0.4=sampler=dpmpp_2m,steps=20,sr_augmentation_sigma=0.4" \
  --config "SR heun 6=sampler=dpmpp_2m,steps=20,sr_sampler=heun,sr_steps=6" \
  --config "SR heun 20=sampler=dpmpp_2m,steps=20,sr_sampler=heun,sr_steps=20" \
  --config "SR dpm++2m 20=sampler=dpmpp_2m,steps=20,sr_sampler=dpmpp_2m,sr_steps=20" \
  --config "SR guidance 2=sampler=dpmpp_2m,steps=20,sr_guidance=2" ;;
*) echo "unknown sweep '$w'; sweeps: guidance guidance2 paint style sr" >&2; exit 2 ;;
esac; done; done
