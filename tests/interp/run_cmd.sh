#!/bin/sh
# tests/interp/run_cmd.sh: `k2 run` on a clang-built XDP object: r0, packet diff and map changes.
set -eu
B=${K2_BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c tests/data/interp_count.bpf.c -o "$T/c.o"
head -c 20 /dev/zero >"$T/p.bin"
"$B/k2" run "$T/c.o" -s xdp --packet "$T/p.bin" --map-init cnt:00000000=0500000000000000 >"$T/out"
cat "$T/out"
grep -q '^status: ok  r0 = 2 ' "$T/out"
grep -q '^  0000: 00 -> ff$' "$T/out"
grep -q 'changed key 00000000: 0500000000000000 -> 0600000000000000' "$T/out"
# A new key is added by the program's update.
printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\007\000\000\000\000\000\000' >"$T/p7.bin"
"$B/k2" run "$T/c.o" --packet "$T/p7.bin" >"$T/out7"
grep -q 'added key 07000000: 0100000000000000' "$T/out7"
# Bad input is reported, not crashed on.
if "$B/k2" run "$T/c.o" --packet "$T/missing.bin" 2>"$T/err"; then exit 1; fi
grep -q 'cannot open' "$T/err"
if "$B/k2" run "$T/c.o" --packet "$T/p.bin" --map-init nosuch:00=00 2>"$T/err"; then exit 1; fi
grep -q 'no such map' "$T/err"
echo "run_cmd: ok"
