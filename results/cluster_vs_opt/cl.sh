#!/bin/bash
# scripts used for results/cluster_vs_opt.md (paths under /tmp/mpim as run; BIN= the k2-cluster binary)
# usage: cl.sh PROG SEED BUDGET TAG [extra k2-cluster args]; BIN= binary
prog=$1; seed=$2; budget=$3; tag=$4; shift 4
cd /work/wt-mpi
out=/tmp/mpim/$tag-$prog-$seed
t0=$(date +%s.%N)
mpirun --allow-run-as-root --oversubscribe -np 4 ${BIN:-build/k2-cluster} build/corpus/$prog.o -o $out.o \
  --budget $budget --seed $seed --report $out.json --no-trace --no-status "$@" > $out.log 2>&1 &
mp=$!
declare -A cpu rk cs
snap=0
while kill -0 $mp 2>/dev/null; do
  for p in $(pgrep -f -- "$out.o"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = k2-cluster ] || continue
    r=$(tr '\0' '\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
    s=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null)
    [ -n "$s" ] && cpu[$p]=$s && rk[$p]=$r
  done
  if [ $snap = 0 ] && [ $(echo "$(date +%s.%N) - $t0 >= $budget + 0.3" | bc) = 1 ]; then
    for p in "${!cpu[@]}"; do cs[$p]=${cpu[$p]}; done; snap=1
  fi
  sleep 0.3
done
wait $mp; echo "rc=$?" >> $out.log
for p in "${!cpu[@]}"; do echo "rank ${rk[$p]} cpu_s_search $(echo "scale=2; ${cs[$p]:-0}/100" | bc) cpu_s_total $(echo "scale=2; ${cpu[$p]}/100" | bc)"; done | sort -k2 -n > $out.cpu
cat $out.cpu
