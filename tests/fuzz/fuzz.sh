#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets (make fuzz, clang, ASan + UBSan) if needed
# and run one briefly over its corpus:
#
#   sh tests/fuzz/fuzz.sh TARGET [SECONDS]    (cmd, sync, config, when)
#
# Prints "ok - fuzz TARGET" or "not ok - fuzz TARGET: why" for tests/run.
# New inputs go to a scratch directory; the corpus in the repository is
# only read (add a finding to it by hand, with a name saying what it is).
# A missing clang is a failure, not a skip: docker/install-deps.sh --test
# installs it. The longer runs are documented in docs/testing.md:
#   FUZZ_SECONDS=600 sh tests/fuzz/fuzz.sh cmd
set -u
cd "$(dirname "$0")/../.." || exit 2
t=${1:?target}
secs=${2:-${FUZZ_SECONDS:-15}}
bin=build-fuzz/fuzz/fuzz_$t
corpus=tests/fuzz/corpus/$t

if ! command -v clang >/dev/null 2>&1; then
	echo "not ok - fuzz $t: clang is not installed (sh docker/install-deps.sh --test)"
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/scribe-fuzz-$t.XXXXXX")
if ! make -s fuzz >"$work/make.log" 2>&1; then
	echo "not ok - fuzz $t: make fuzz failed"
	tail -n 20 "$work/make.log" >&2
	rm -rf "$work"
	exit 1
fi
log=$work/fuzz.log
mkdir -p "$work/new" "$work/crash"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len=16384 -print_final_stats=1 -artifact_prefix="$work/crash/" \
	"$work/new" "$corpus" >"$log" 2>&1
rc=$?
stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$log" |
	sed 's/^stat:://; s/: */=/' | tr '\n' ' ')
cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
if [ "$rc" -eq 0 ]; then
	echo "ok - fuzz $t (${secs}s, $stats$cov)"
else
	echo "not ok - fuzz $t: exit $rc, crash input in $work/crash"
	grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' "$log" | head -n 30 >&2
	exit 1
fi
rm -rf "$work"
