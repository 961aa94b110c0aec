#!/bin/sh
# tests/kernel/obj_asm.sh: k2 disasm | k2 asm round trips keep the text; bpftool loads the results.
set -u
B=${K2_BUILD:-build}
K2=$B/k2
tmp=$(mktemp -d /tmp/k2-objasm-XXXXXX)
pins=/sys/fs/bpf/k2asm_$$
trap 'rm -rf "$tmp" "$pins"' EXIT
fail=0; n=0; loaded=0

[ -x "$K2" ] || { echo "obj_asm: $K2 not built"; exit 1; }
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
	mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf 2>/dev/null
fi
printf 'r0 = 0\nexit\n' >"$tmp/probe.s"
if ! "$K2" asm "$tmp/probe.s" -o "$tmp/probe.o" --type socket_filter; then
	echo "obj_asm: k2 asm failed"; exit 1
fi
can_load=1
if ! bpftool prog load "$tmp/probe.o" "${pins}_probe" >"$tmp/probe.err" 2>&1; then
	echo "obj_asm: bpf() is not usable here ($(tail -n 1 "$tmp/probe.err")): load checks skipped"
	can_load=0
fi
rm -f "${pins}_probe"

for o in $B/tests/data/maps_xdp.o $B/tests/data/calls_tc.o $B/tests/data/legacy_sock.o \
	$B/tests/data/types_trace.o $B/tests/data/dead_code.o /usr/lib/x86_64-linux-gnu/bpf/*.o; do
	[ -f "$o" ] || { echo "obj_asm: missing $o"; fail=$((fail + 1)); continue; }
	b=$(basename "$o" .o)
	n=$((n + 1))
	if ! "$K2" disasm "$o" >"$tmp/$b.s" || ! "$K2" asm "$tmp/$b.s" -o "$tmp/$b.o" ||
		! "$K2" disasm "$tmp/$b.o" >"$tmp/$b.2.s"; then
		echo "obj_asm: $b: disasm/asm failed"; fail=$((fail + 1)); continue
	fi
	# comments aside (CO-RE marks: a built object has no CO-RE records), the same text
	sed -i 's/\t; CO-RE.*//' "$tmp/$b.s" "$tmp/$b.2.s"
	if ! diff -u "$tmp/$b.s" "$tmp/$b.2.s" | grep -v '^[-+];' | grep -q '^[-+][^-+]'; then
		:
	else
		echo "obj_asm: $b: the text changed after a round trip"
		diff -u "$tmp/$b.s" "$tmp/$b.2.s" | head -20
		fail=$((fail + 1)); continue
	fi
	[ $can_load = 1 ] || continue
	# xdpdump_bpf's fentry programs need an attach target that only xdp-tools gives
	[ "$b" = xdpdump_bpf ] && continue
	# maps pinned by name would land in /sys/fs/bpf itself (bpftool has no pin root): unpinned
	sed 's/ pin$//; s/ pin / /' "$tmp/$b.s" >"$tmp/$b.np.s"
	if ! "$K2" asm "$tmp/$b.np.s" -o "$tmp/$b.np.o"; then
		fail=$((fail + 1)); continue
	fi
	if bpftool prog loadall "$tmp/$b.np.o" "$pins" >"$tmp/$b.err" 2>&1; then
		loaded=$((loaded + 1))
	else
		echo "obj_asm: $b: bpftool prog loadall refused the rebuilt object:"
		tail -n 5 "$tmp/$b.err"
		fail=$((fail + 1))
	fi
	rm -rf "$pins"
done
echo "obj_asm: $n objects round-tripped through k2 disasm/asm," \
	"$loaded rebuilt objects loaded, $fail failures"
[ $fail = 0 ]
