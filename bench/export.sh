#!/bin/sh
# SPDX-License-Identifier: MIT
# Time every `scribe export` format (html twice: a new site, then the
# same site again), `scribe import` and `scribe stats`
# on a store of N mixed records (default 1,000,000), one machine-readable
# line per measurement:
#
#   bench export-json records=1000000 seconds=4.23 user=3.1 sys=0.4 maxrss_kb=303460 bytes=693370582
#
# seconds is wall time; user and sys are CPU seconds, which say more than
# wall time on a busy machine.
#
# The store is generated once by bench/export_gen.c through the store API
# (a few minutes) and kept in $O/export-N.db. Output goes to $O/export-out
# and is removed at the end. Needs /usr/bin/time (GNU time).
#
#   bench/export.sh [N]        O=build-bench by default; SKIP_IMPORT=1
#                              leaves out the import (about 2 minutes)
#
# It starts with bench/machine's line: on the shared VM of the README's
# figures the json export took 2.4-2.6 s on 2026-11-24 and, with the same
# code, 6-7.5 s on 2026-12-07, when bench/machine read memory in 400-500
# ns; compare figures of one day, or with that line beside them.
set -u
cd "$(dirname "$0")/.." || exit 2
N=${1:-1000000}
O=${O:-build-bench}
make -s O="$O" OPT_CFLAGS=-O2 "$O/scribe" "$O/bench/export_gen" \
	"$O/bench/machine" >/dev/null || exit 1
S=$O/scribe
DB=$O/export-$N.db
OUT=$O/export-out
if [ ! -f "$DB" ]; then
	echo "generating $DB ($N records)..." >&2
	"$O/bench/export_gen" -n "$N" -f "$DB.tmp" || exit 1
	mv "$DB.tmp" "$DB" && rm -f "$DB.tmp-wal" "$DB.tmp-shm"
fi
records=$("$S" stats --store "$DB" | awk '$1 == "all" { print $NF }')
rm -rf "$OUT"
mkdir -p "$OUT"
rc=0
# how fast the machine is today (bench/machine.c; bench/run has
# printed it already)
[ "${NO_MACHINE:-0}" = 1 ] || "$O/bench/machine"

# measure NAME OUTPUT command...: one "bench" line from GNU time's
# elapsed seconds, CPU seconds and maximum resident set size.
measure() {
	name=$1
	out=$2
	shift 2
	t=$(mktemp)
	# start from a quiet disk: the previous format's output must not be
	# written back to disk during this one's clock
	sync
	if /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" >/dev/null; then
		set -- $(cat "$t")
		bytes=$(du -sb "$out" 2>/dev/null | cut -f1)
		echo "bench $name records=$records seconds=$1 user=$2 sys=$3 maxrss_kb=$4 bytes=${bytes:-0}"
	else
		echo "bench $name records=$records failed"
		rc=1
	fi
	rm -f "$t"
}

measure export-json "$OUT/all.jsonl" "$S" export --store "$DB" --no-progress --format json -o "$OUT/all.jsonl"
measure export-csv "$OUT/csv" "$S" export --store "$DB" --no-progress --format csv -o "$OUT/csv"
measure export-md "$OUT/md" "$S" export --store "$DB" --no-progress --format md -o "$OUT/md"
measure export-adr "$OUT/adr" "$S" export --store "$DB" --no-progress --format adr -o "$OUT/adr"
# the same again into that folder: every file compared, none written
measure export-adr-again "$OUT/adr" "$S" export --store "$DB" --no-progress --format adr -o "$OUT/adr"
measure export-minutes "$OUT/minutes" "$S" export --store "$DB" --no-progress --format minutes -o "$OUT/minutes"
# the static site: about 150,000 pages for a million records (one per
# decision and meeting, the logs by month, the search index); then the
# same again into that folder, every page compared and none written
measure export-html "$OUT/html" "$S" export --store "$DB" --no-progress --format html -o "$OUT/html"
measure export-html-again "$OUT/html" "$S" export --store "$DB" --no-progress --format html -o "$OUT/html"
measure stats "$DB" "$S" stats --store "$DB"
[ "${SKIP_IMPORT:-0}" = 1 ] ||
	measure import-json "$OUT/import.db" "$S" import --store "$OUT/import.db" "$OUT/all.jsonl"
rm -rf "$OUT"
exit $rc
