#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Debian sid root that tests/synapse runs a real, current
# Synapse from. Debian ships matrix-synapse only in sid (it needs sid's
# Python), so it cannot be installed on bookworm itself: a minimal sid
# root (debootstrap --variant=minbase) gets it instead, and
# tests/synapse/synapse.py starts it there with chroot. Run as root.
#
#   sh tests/synapse/setup.sh [DIR]     build into DIR (default build-synapse)
#
# The sid packages come from the mirror this machine's apt uses for its
# own release (DEBIAN_MIRROR overrides it). Nothing of the system's apt
# setup is touched. Does nothing when DIR/recipe-1.done exists; `rm -rf
# DIR` builds it again with whatever sid has by then. A mirror that
# cannot give sid, or any other failure, is one line on stderr and a
# non-zero exit: the Synapse tests must then fail, not be skipped.
set -eu

dir=${1:-build-synapse}
[ -f "$dir/recipe-1.done" ] && exit 0
die() {
	echo "synapse-setup: $*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mount)"

# Every mount of this script (and debootstrap's own) happens in a
# private mount namespace: the kernel drops them when the script ends,
# however it ends, and none is ever seen by the rest of the machine.
if [ -z "${SYNAPSE_SETUP_NS:-}" ]; then
	unshare --mount true 2>/dev/null ||
		die "cannot make a mount namespace (unshare --mount): needs CAP_SYS_ADMIN"
	SYNAPSE_SETUP_NS=1 exec unshare --mount --propagation private \
		sh "$0" "$@"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends debootstrap; } >/dev/null 2>&1 ||
		die "cannot install debootstrap (apt-get install debootstrap)"
fi

# the mirror apt uses here for this machine's own release (not -security)
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	# shellcheck disable=SC1091 # the machine's, not ours to follow
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	# shellcheck disable=SC2016 # apt's $(FIELD) format, not the shell's
	mirror=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
		awk -v c="$codename" '$1 == c { print $2; exit }')
	mirror=${mirror:-http://deb.debian.org/debian}
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
root=$dir/root
new=$dir/root.new
log=$dir/setup.log
start=$(date +%s)

# Unmount whatever is mounted under the root being built, innermost
# first (the namespace would drop it anyway; this keeps rm below from
# ever meeting a mount).
unmount_all() {
	awk -v r="$new/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r m; do
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
}
trap unmount_all EXIT
trap 'exit 1' INT TERM HUP

unmount_all
# --one-file-system: never descend into anything still mounted there
rm -rf --one-file-system "$new"
: >"$log"

echo "synapse-setup: building a Debian sid root from $mirror (a few minutes)" >&2
if ! debootstrap --variant=minbase sid "$new" "$mirror" >>"$log" 2>&1; then
	# the first thing debootstrap does is fetch and verify sid's Release
	if grep -q -e "Failed getting release" -e "Release signed by unknown key" \
		-e "Invalid Release" -e "Failed getting release signature" "$log"; then
		die "the mirror $mirror cannot give Debian sid: $(grep '^E:' "$log" | tail -n 1) (see $log)"
	fi
	die "debootstrap of sid from $mirror failed: $(grep '^E:' "$log" | tail -n 1) (see $log)"
fi

# apt inside the root: a sid mirror snapshot may be past its Valid-Until;
# no services may start in a chroot; no documentation
cat >"$new/etc/apt/apt.conf.d/99scribe-tests" <<EOF
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
EOF
cat >"$new/etc/dpkg/dpkg.cfg.d/99scribe-tests" <<EOF
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/locale/*
EOF
printf '#!/bin/sh\nexit 101\n' >"$new/usr/sbin/policy-rc.d"
chmod 755 "$new/usr/sbin/policy-rc.d"
# name resolution for apt, and localhost for Synapse
cp -L /etc/resolv.conf "$new/etc/resolv.conf" 2>/dev/null || true
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$new/etc/hosts"

# /proc and /dev only for the install (maintainer scripts use them)
mount -t proc proc "$new/proc"
mount --bind /dev "$new/dev"
in_root() {
	DEBIAN_FRONTEND=noninteractive chroot "$new" "$@" >>"$log" 2>&1
}
echo "matrix-synapse matrix-synapse/server-name string localhost
matrix-synapse matrix-synapse/report-stats boolean false" |
	chroot "$new" debconf-set-selections >>"$log" 2>&1 ||
	die "cannot preseed debconf in the sid root (see $log)"
in_root apt-get -q -o Acquire::Check-Valid-Until=false update ||
	die "apt-get update in the sid root failed: $(grep '^E:' "$log" | tail -n 1) (see $log)"
in_root apt-get -q -y -o Acquire::Check-Valid-Until=false install matrix-synapse ||
	die "cannot install matrix-synapse from sid: $(grep '^E:' "$log" | tail -n 1) (see $log)"
version=$(chroot "$new" python3 -c 'import synapse; print(synapse.__version__)' 2>>"$log") ||
	die "Synapse does not import in the sid root (see $log)"
in_root apt-get clean
rm -rf "$new/var/lib/apt/lists/"* "$new/var/cache/debconf/"*-old
unmount_all

rm -rf --one-file-system "$root"
mv "$new" "$root"
echo "$version" >"$dir/version.txt"
size=$(du -sxm "$root" | cut -f1)
echo "synapse-setup: Synapse $version in $root ($size MB, $(($(date +%s) - start)) s)" >&2
touch "$dir/recipe-1.done"
