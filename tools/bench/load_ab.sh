#!/bin/bash
# The cold model load of two ediff.jar builds, in fresh JVMs, interleaved: medians of the load time,
# JVM start to loaded, CPU to loaded and peak RSS (PipelineBenchmark, one generation at batch 1).
# usage: tools/bench/load_ab.sh ROUNDS JAR_A JAR_B
N=$1; A=$2; B=$3
for i in $(seq $N); do
  for v in A B; do J=$A; [ $v = B ] && J=$B
    echo "$v $(java -cp $J dev.ediff.testkit.bench.PipelineBenchmark --threads 1 --runs 1 --warmup 0 --batches 1 --json 2>/dev/null | grep '^{')"
  done
done | python3 -c "
import sys,json,statistics as s
d={}
for l in sys.stdin:
    v,j=l.split(' ',1); d.setdefault(v,[]).append(json.loads(j))
for v,rs in d.items():
    print(v, ' '.join(f'{k} {s.median(r[k] for r in rs):.3f}' for k in ('load_s','jvm_to_loaded_s','cpu_to_loaded_s')), 'peak', s.median(r['peak_rss_mib'] for r in rs))
"
