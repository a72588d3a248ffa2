#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the libcurl that `make CURL=lean` links: Debian's own curl and
# mbedtls source packages, from Debian 13 "trixie", the current stable
# release (so Debian's security patches are in them), built as static
# libraries: curl for HTTP and HTTPS only, over mbedTLS 3.6 (TLS 1.2 and
# 1.3), with none of the optional libraries. Debian's libcurl4 loads
# about 30 shared libraries (OpenSSL, GnuTLS through librtmp, Kerberos,
# LDAP, SSH, ...) and initialises OpenSSL and GnuTLS at start; scribe
# uses none of that beyond TLS. See README "A smaller build".
#
#   sh docker/build-curl.sh [DIR]      install into DIR (default build-curl)
#
# Needs apt-get, dpkg-source (dpkg-dev) and cmake (docker/install-deps.sh
# --lean installs them) and Debian's source archive: DEBIAN_MIRROR
# (default http://deb.debian.org/debian), DEBIAN_SECURITY (default
# http://deb.debian.org/debian-security) and DEBIAN_SUITE (default
# trixie). The system's apt sources are not touched: the source lists
# live in DIR. Does nothing when DIR holds a build of this recipe
# (DIR/recipe-2.done); `rm -rf DIR` fetches the sources again, with
# whatever security updates Debian has published since.
set -eu

dir=${1:-build-curl}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
suite=${DEBIAN_SUITE:-trixie}
[ -f "$dir/recipe-2.done" ] && exit 0
for tool in apt-get apt-cache dpkg-source cmake; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build-curl: $tool is missing; run sh docker/install-deps.sh --lean" >&2
		exit 1
	fi
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$dir/work
# an earlier recipe's files (curl 7.88 over the system's mbedTLS 2.28)
rm -rf "$work" "$dir/include" "$dir/lib" "$dir"/*.dsc
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
cat >"$work/sources.list" <<EOF
deb-src $mirror $suite main
deb-src $mirror $suite-updates main
deb-src $security $suite-security main
EOF
set -- -q -o "Dir::Etc::SourceList=$work/sources.list" \
	-o Dir::Etc::SourceParts=/nonexistent \
	-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" \
	-o Debug::NoLocking=1
[ "$(id -u)" -eq 0 ] && set -- "$@" -o APT::Sandbox::User=root
fail() { # what went wrong: the end of the log that says more
	echo "build-curl: $1 failed; the end of $2:" >&2
	tail -n 30 "$2" >&2
	exit 1
}
echo "build-curl: fetching Debian $suite's curl and mbedtls sources" >&2
apt-get "$@" update >"$work/apt.log" 2>&1 || fail "apt-get update" "$work/apt.log"
# apt checks the files against the signed Release file before dpkg-source
# unpacks them and applies Debian's patches. The newest version listed
# first; an older one still listed when a mirror lags behind its index.
fetch() { # package apt-options...
	pkg=$1
	shift
	newest=
	for v in $(apt-cache "$@" showsrc "$pkg" 2>>"$work/apt.log" |
		sed -n 's/^Version: //p' | sort -u -r -V); do
		newest=${newest:-$v}
		if (cd "$work/dl" && apt-get "$@" source --download-only "$pkg=$v") \
			>>"$work/apt.log" 2>&1; then
			dpkg-source -x "$work/dl/${pkg}_$(echo "$v" | sed 's/^[0-9]*://').dsc" \
				"$work/$pkg" >>"$work/apt.log" 2>&1 ||
				fail "unpacking $pkg $v" "$work/apt.log"
			[ "$v" = "$newest" ] || echo "build-curl: warning: $pkg $newest is" \
				"listed but not on the mirror; building $v" >&2
			echo "build-curl: building $pkg $v" >&2
			echo "$pkg $v" >>"$dir/sources.txt"
			return 0
		fi
	done
	fail "fetching $pkg" "$work/apt.log"
}
: >"$dir/sources.txt"
fetch mbedtls "$@"
fetch curl "$@"
# as Debian builds it (debian/rules): thread-safe, so that scribe's two
# threads with connections of their own can handshake at the same time
# (mbedTLS 3.6 keeps the handshake's keys in one global table)
conf=$work/mbedtls/include/mbedtls/mbedtls_config.h
sed -i -e 's|^//#define MBEDTLS_THREADING_C$|#define MBEDTLS_THREADING_C|' \
	-e 's|^//#define MBEDTLS_THREADING_PTHREAD$|#define MBEDTLS_THREADING_PTHREAD|' "$conf"
for opt in MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD; do
	grep -q "^#define $opt\$" "$conf" || fail "enabling $opt" "$conf"
done
cmake -S "$work/mbedtls" -B "$work/build-mbedtls" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_PREFIX="$dir" -DCMAKE_INSTALL_LIBDIR=lib \
	-DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
	-DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF -DGEN_FILES=OFF \
	-DMBEDTLS_FATAL_WARNINGS=OFF \
	>"$work/mbedtls.log" 2>&1 || fail "configuring mbedtls" "$work/mbedtls.log"
cmake --build "$work/build-mbedtls" -j "$(nproc)" >>"$work/mbedtls.log" 2>&1 ||
	fail "building mbedtls" "$work/mbedtls.log"
cmake --install "$work/build-mbedtls" >>"$work/mbedtls.log" 2>&1 ||
	fail "installing mbedtls" "$work/mbedtls.log"
cmake -S "$work/curl" -B "$work/build-curl" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_PREFIX="$dir" -DCMAKE_INSTALL_LIBDIR=lib \
	-DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON -DBUILD_CURL_EXE=OFF \
	-DBUILD_TESTING=OFF -DBUILD_LIBCURL_DOCS=OFF -DBUILD_MISC_DOCS=OFF \
	-DENABLE_CURL_MANUAL=OFF -DCURL_USE_PKGCONFIG=OFF \
	-DHTTP_ONLY=ON -DCURL_DISABLE_COOKIES=ON -DCURL_DISABLE_NTLM=ON \
	-DCURL_DISABLE_ALTSVC=ON -DCURL_DISABLE_NETRC=ON \
	-DCURL_DISABLE_WEBSOCKETS=ON \
	-DCURL_USE_OPENSSL=OFF -DCURL_USE_MBEDTLS=ON \
	-DMBEDTLS_INCLUDE_DIR="$dir/include" \
	-DMBEDTLS_LIBRARY="$dir/lib/libmbedtls.a" \
	-DMBEDX509_LIBRARY="$dir/lib/libmbedx509.a" \
	-DMBEDCRYPTO_LIBRARY="$dir/lib/libmbedcrypto.a" \
	-DCURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -DCURL_CA_PATH=none \
	-DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBSSH=OFF -DUSE_NGHTTP2=OFF \
	-DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_LIBIDN2=OFF \
	-DCURL_USE_LIBPSL=OFF -DCURL_DISABLE_LDAP=ON -DCURL_USE_GSSAPI=OFF \
	>"$work/curl.log" 2>&1 || fail "configuring curl" "$work/curl.log"
cmake --build "$work/build-curl" -j "$(nproc)" >>"$work/curl.log" 2>&1 ||
	fail "building curl" "$work/curl.log"
cmake --install "$work/build-curl" >>"$work/curl.log" 2>&1 ||
	fail "installing curl" "$work/curl.log"
# what was built, for `scribe --version`-style questions later
grep -e "^-- Protocols:" -e "^-- Features:" -e "Enabled SSL" \
	"$work/curl.log" | sed 's/^-- //' >"$dir/features.txt"
cp "$work"/dl/*.dsc "$dir/"
rm -rf "$work" "$dir/bin" "$dir/share"
touch "$dir/recipe-2.done"
echo "build-curl: $dir/lib/libcurl.a" >&2
