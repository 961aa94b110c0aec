#!/bin/sh
# mk/deps.sh: installs the Debian packages the build and tests need; silent when all are present.
set -eu
PKGS="gcc make clang llvm libclang-rt-14-dev pkg-config linux-libc-dev
libbpf-dev libelf-dev zlib1g-dev bpftool xdp-tools iproute2
libz3-dev libopenmpi-dev openmpi-bin libhwloc-dev hwloc libhdf5-dev hdf5-tools
libcriterion-dev libinih-dev slurm-wlm slurm-wlm-basic-plugins munge
python3-h5py python3-matplotlib"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "k2-cluster needs these Debian packages:$missing" >&2
	echo "run 'make deps' as root, or: apt-get install$missing" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
