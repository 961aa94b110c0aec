#!/bin/sh
# corpus/insns.sh [BUILD]: one line per corpus object, tab-separated: object, program section, main
# function, its instructions (ld_imm64 counted once), its struct bpf_insn slots (ld_imm64 counts
# two, as the kernel counts), subprogram slots (.text), and the maps and globals it defines.
set -eu
build=${1:-build}
for o in "$build"/corpus/*.o; do
	name=$(basename "$o" .o)
	sec=$(llvm-objdump -t "$o" | awk '$3 == "F" && $4 !~ /^\.text/ { print $4; exit }')
	insns=$(llvm-objdump -d --section="$sec" "$o" | grep -cE '^ +[0-9]+:')
	llvm-objdump -t "$o" | awk -v name="$name" -v insns="$insns" '
		function hex(s,   v, i) {
			v = 0
			for (i = 1; i <= length(s); i++)
				v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		$3 == "F" && $4 !~ /^\.text/ { sec = $4; fn = $NF; slots = hex($5) / 8 }
		$3 == "F" && $4 ~ /^\.text/  { sub_slots += hex($5) / 8 }
		$3 == "O" && ($4 == ".maps" || $4 == "maps") { maps = maps (maps ? ", " : "") $NF }
		$4 ~ /^\.(rodata|data|bss)$/ && $3 == "O" { glob = glob (glob ? ", " : "") $NF " (" $4 ")" }
		END {
			if (glob) maps = maps (maps ? ", " : "") glob
			printf "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", name, sec, fn, insns, slots, sub_slots, maps
		}'
done
