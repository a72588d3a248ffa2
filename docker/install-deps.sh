#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what scribe needs on Debian bookworm (run as root). Idempotent:
# packages already present are left alone. The Dockerfile and .ci/run use
# it too, so a fresh machine, CI and the image get the same set.
#
#   sh docker/install-deps.sh          build + run dependencies
#   sh docker/install-deps.sh --lean   also what `make CURL=lean` needs
#   sh docker/install-deps.sh --test   also what the test suite needs
#                                      (it tests the lean build too)
set -eu

pkgs="build-essential pkg-config libcurl4-openssl-dev libjansson-dev libolm-dev
libsqlite3-dev tzdata ca-certificates"
case "${1:-}" in
--lean | --test)
	# docker/build-curl.sh: Debian's curl and mbedtls sources, built
	# with CMake
	pkgs="$pkgs dpkg-dev cmake"
	;;
"") ;;
*)
	echo "usage: sh docker/install-deps.sh [--lean | --test]" >&2
	exit 2
	;;
esac
if [ "${1:-}" = "--test" ]; then
	# the test homeserver and the real Matrix client used for interop;
	# clang's libFuzzer runtime (only recommended by clang, so named here)
	# and llvm-symbolizer for the fuzz targets' ASan/UBSan reports;
	# openssl(1) makes the TLS test's certificates; chromium loads the
	# html export's pages (tests/admin/test_html.py)
	pkgs="$pkgs python3 python3-matrix-nio python3-olm clang libclang-rt-14-dev llvm-14 valgrind openssl chromium"
fi

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: need root to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
if [ "${1:-}" = "--test" ]; then
	# Real Matrix for the suite, fetched once and cached in ignored
	# folders of the checkout: Element's crypto stack (matrix-js-sdk and
	# Node from npm) and a current Synapse (Debian sid's, in a sid root)
	top=$(cd "$(dirname "$0")/.." && pwd)
	sh "$top/tests/e2ee/js/setup.sh"
	sh "$top/tests/synapse/setup.sh" "$top/build-synapse"
fi
