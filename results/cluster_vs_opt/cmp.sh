#!/bin/bash
# scripts used for results/cluster_vs_opt.md (paths under /tmp/mpim as run; BIN= the k2-cluster binary)
# cmp.sh SEEDS PROGS... : one row per run into /tmp/mpim/rows.tsv
seeds=$1; shift
cd /work/wt-mpi
for seed in $seeds; do for prog in "$@"; do
  for kind in opt8 before after; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    if [ $kind = opt8 ]; then
      o=$( { /usr/bin/time -f "cpu %U %S" build/k2 opt build/corpus/$prog.o -o /tmp/mpim/opt-$prog-$seed.o --budget 8 --seed $seed; } 2>&1 )
      ins=$(echo "$o" | sed -n 's/.*: [0-9]* -> \([0-9]*\) instructions.*/\1/p' | head -1)
      pr=$(echo "$o" | sed -n 's/.* \([0-9.e+]*\) proposals.*/\1/p' | head -1)
      cpu=$(echo "$o" | awk '/^cpu/{print $2+$3}')
      echo -e "$prog\t$seed\t$kind\t$ins\t$pr\t$load\tcpu=$cpu" >> /tmp/mpim/rows.tsv
    else
      tag=$kind; bin=build/k2-cluster; [ $kind = before ] && bin=/tmp/mpim/before_src/build/k2-cluster
      c=$(BIN=$bin /tmp/mpim/cl.sh $prog $seed 15 $tag | awk '{printf "r%s=%s ", $2, $4}')
      j=/tmp/mpim/$tag-$prog-$seed.json
      v=$(/usr/bin/python3 -c "import json;d=json.load(open('$j'));print(d['insns_after'], '%.3g'%d['proposals'], sep='\t')" 2>/dev/null || echo -e "FAIL\t-")
      echo -e "$prog\t$seed\t$kind\t$v\t$load\t$c" >> /tmp/mpim/rows.tsv
    fi
  done
done; done
