#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the libcurl that `make CURL=lean` links: Debian bookworm's own
# curl source package (so Debian's security patches are in it), built as
# a static library for HTTP and HTTPS only, over mbedTLS, with none of
# the optional libraries. Debian's libcurl4 loads about 30 shared
# libraries (OpenSSL, GnuTLS through librtmp, Kerberos, LDAP, SSH, ...)
# and initialises OpenSSL and GnuTLS at start; scribe uses none of that
# beyond TLS. See README "A smaller build".
#
#   sh docker/build-curl.sh [DIR]      install into DIR (default build-curl)
#
# Needs apt-get, dpkg-source (dpkg-dev), cmake and libmbedtls-dev
# (docker/install-deps.sh --lean installs them) and Debian's source
# archive: DEBIAN_MIRROR (default http://deb.debian.org/debian) and
# DEBIAN_SECURITY (default http://deb.debian.org/debian-security). The
# system's apt sources are not touched: the source lists live in DIR.
# Does nothing when DIR/lib/libcurl.a exists.
set -eu

dir=${1:-build-curl}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
[ -f "$dir/lib/libcurl.a" ] && exit 0
for tool in apt-get dpkg-source cmake; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build-curl: $tool is missing; run sh docker/install-deps.sh --lean" >&2
		exit 1
	fi
done
if [ ! -f /usr/include/mbedtls/ssl.h ]; then
	echo "build-curl: mbedTLS headers are missing; run sh docker/install-deps.sh --lean" >&2
	exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
work=$dir/work
rm -rf "$work"
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
cat >"$work/sources.list" <<EOF
deb-src $mirror bookworm main
deb-src $mirror bookworm-updates main
deb-src $security bookworm-security main
EOF
set -- -q -o "Dir::Etc::SourceList=$work/sources.list" \
	-o Dir::Etc::SourceParts=/nonexistent \
	-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" \
	-o Debug::NoLocking=1
[ "$(id -u)" -eq 0 ] && set -- "$@" -o APT::Sandbox::User=root
echo "build-curl: fetching Debian's curl source" >&2
apt-get "$@" update >"$work/apt.log" 2>&1 || {
	cat "$work/apt.log" >&2
	exit 1
}
# apt checks the files against the signed Release file before dpkg-source
# unpacks them and applies Debian's patches (the last two only rename the
# autotools library for the GnuTLS and NSS flavours; CMake ignores them)
(cd "$work/dl" && apt-get "$@" source --download-only curl) >>"$work/apt.log" 2>&1 || {
	cat "$work/apt.log" >&2
	exit 1
}
dpkg-source -x "$work"/dl/curl_*.dsc "$work/src" >>"$work/apt.log" 2>&1
echo "build-curl: building $(basename "$work"/dl/curl_*.dsc .dsc)" >&2
lib=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_PREFIX="$dir" -DCMAKE_INSTALL_LIBDIR=lib \
	-DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF \
	-DHTTP_ONLY=ON -DCURL_DISABLE_COOKIES=ON -DCURL_DISABLE_NTLM=ON \
	-DCURL_DISABLE_ALTSVC=ON -DCURL_DISABLE_NETRC=ON \
	-DCURL_USE_OPENSSL=OFF -DCURL_USE_MBEDTLS=ON \
	-DMBEDTLS_LIBRARY="/usr/lib/$lib/libmbedtls.a" \
	-DMBEDX509_LIBRARY="/usr/lib/$lib/libmbedx509.a" \
	-DMBEDCRYPTO_LIBRARY="/usr/lib/$lib/libmbedcrypto.a" \
	-DCURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -DCURL_CA_PATH=none \
	-DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBSSH=OFF -DUSE_NGHTTP2=OFF \
	-DCURL_ZLIB=OFF -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_LIBIDN2=OFF \
	-DCURL_USE_LIBPSL=OFF -DCURL_DISABLE_LDAP=ON -DCURL_USE_GSSAPI=OFF \
	>"$work/cmake.log" 2>&1 || {
	tail -n 30 "$work/cmake.log" >&2
	exit 1
}
cmake --build "$work/build" -j "$(nproc)" >"$work/build.log" 2>&1 || {
	tail -n 30 "$work/build.log" >&2
	exit 1
}
cmake --install "$work/build" >/dev/null
# what was built, for `scribe --version`-style questions later
grep -e "Enabled features" -e "Enabled protocols" -e "Enabled SSL" \
	"$work/cmake.log" | sed 's/^-- //' >"$dir/features.txt"
cp "$work"/dl/curl_*.dsc "$dir/"
rm -rf "$work"
echo "build-curl: $dir/lib/libcurl.a" >&2
