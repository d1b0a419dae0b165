#!/usr/bin/env bash
# CLI cold start to the first PNG (one image, the default model), JVM variant by variant, interleaved
# round by round; prints a Markdown table of medians: wall time, CPU time (user + sys, all threads),
# peak resident memory. Needs a built CLI (mvn -B -q package -DskipTests) and GNU time (/usr/bin/time).
#
#   tools/bench/cold_start.sh [ROUNDS] [COUNT]      # default 5 rounds, 1 image
#   ENGINE=/path/libonnxruntime.so.1.30.0 tools/bench/cold_start.sh   # adds the launcher on that engine
#   BEFORE=/other/checkout/ediff-cli/target tools/bench/cold_start.sh # adds another build's launcher
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="$root/ediff-cli/target"
rounds="${1:-5}"
count="${2:-1}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
prompt="a small red circle above a large blue square"
names=("java -jar ediff.jar" "+ CDS archive" "+ C1 only (-XX:TieredStopAtLevel=1)" "launcher (CDS + C1)"
       "launcher + -XX:+UseSerialGC" "launcher + -Xmx96m" "launcher, no warm-up thread (-Dediff.cli.warmup=false)"
       "launcher, ONNX-format graph cache (-Dediff.graphCache.format=onnx)")
if [ -n "${ENGINE:-}" ]; then
  names+=("launcher, engine $(basename "$ENGINE")")
fi
if [ -n "${BEFORE:-}" ]; then
  names+=("launcher of $BEFORE")
fi
run() { # variant index -> command
  case "$1" in
    0) echo java -jar "$target/ediff.jar" ;;
    1) echo java "-XX:SharedArchiveFile=$target/ediff.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off -jar "$target/ediff.jar" ;;
    2) echo java -XX:TieredStopAtLevel=1 -jar "$target/ediff.jar" ;;
    3) echo env EDIFF_JAVA_OPTS= "$target/ediff" ;;
    4) echo env EDIFF_JAVA_OPTS=-XX:+UseSerialGC "$target/ediff" ;;
    5) echo env EDIFF_JAVA_OPTS=-Xmx96m "$target/ediff" ;;
    6) echo env EDIFF_JAVA_OPTS=-Dediff.cli.warmup=false "$target/ediff" ;;
    7) echo env EDIFF_JAVA_OPTS=-Dediff.graphCache.format=onnx "$target/ediff" ;;
    8) if [ -n "${ENGINE:-}" ]; then echo env "EDIFF_ONNXRUNTIME_LIBRARY=$ENGINE" "$target/ediff"; else echo "$BEFORE/ediff"; fi ;;
    9) echo "$BEFORE/ediff" ;;
  esac
}
for ((r = 0; r < rounds; r++)); do
  for ((v = 0; v < ${#names[@]}; v++)); do
    i=$(( (v + r) % ${#names[@]} ))   # rotate the order round by round
    # shellcheck disable=SC2046
    /usr/bin/time -f "%e %U %S %M" -o "$out/t" $(run "$i") generate --seed 42 --count "$count" --overwrite \
      --progress none --out "$out/png" "$prompt" > /dev/null 2>&1
    echo "$i $(cat "$out/t")" >> "$out/all"
  done
done
echo "CLI cold start, $count image(s), $rounds interleaved rounds, medians; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| variant | wall s | CPU s (user+sys) | peak RSS MiB |"
echo "|---|---:|---:|---:|"
for ((v = 0; v < ${#names[@]}; v++)); do
  awk -v v="$v" -v name="${names[$v]}" '
    $1 == v { n++; w[n] = $2; c[n] = $3 + $4; m[n] = $5 / 1024 }
    function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                                     return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END { printf "| %s | %.2f | %.2f | %.0f |\n", name, med(w, n), med(c, n), med(m, n) }' "$out/all"
done
