# SPDX-License-Identifier: MIT
# Makefile for scribe. Flags are composed from named parts (Redis style):
#   make                      build ./scribe
#   make test                 build and run the whole suite (tests/run)
#   make SANITIZE=address,undefined test
#   make WERROR=1             turn warnings into errors (CI does this)
#   make install PREFIX=/usr/local DESTDIR=...
#   make CURL=lean            build-lean/scribe with a static HTTP(S)-only
#                             libcurl (docker/build-curl.sh, README
#                             "A smaller build")

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/scribe
CC ?= cc
PKG_CONFIG ?= pkg-config

# CURL=system links Debian's libcurl (OpenSSL; about 30 shared libraries
# come with it). CURL=lean links the static libcurl and mbedTLS that
# docker/build-curl.sh builds from Debian's sources into CURL_DIR: HTTP
# and HTTPS, nothing else loaded.
CURL ?= system
CURL_DIR ?= build-curl
ifeq ($(CURL),system)
O ?= build
PKGS := libcurl jansson olm sqlite3
CURL_CFLAGS :=
CURL_LIBS :=
CURL_DEP :=
else ifeq ($(CURL),lean)
O ?= build-lean
PKGS := jansson olm sqlite3
CURL_CFLAGS := -I$(CURL_DIR)/include
CURL_LIBS := $(addprefix $(CURL_DIR)/lib/,libcurl.a libmbedtls.a libmbedx509.a libmbedcrypto.a)
CURL_DEP := $(CURL_DIR)/recipe-2.done
else
$(error CURL must be system or lean, not '$(CURL)')
endif

STD_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread
WARN_CFLAGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wwrite-strings -Wno-format-nonliteral
OPT_CFLAGS ?= -O2 -g
ifeq ($(WERROR),1)
WARN_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT_CFLAGS := -O1 -g
endif
PKG_CFLAGS := $(CURL_CFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(CURL_LIBS) $(shell $(PKG_CONFIG) --libs $(PKGS))

ALL_CFLAGS = $(STD_CFLAGS) $(WARN_CFLAGS) $(OPT_CFLAGS) $(SAN_FLAGS) \
	-Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm -pthread $(LDLIBS)

LIB_SRC := $(filter-out src/main.c,$(wildcard src/*.c)) $(wildcard commands/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(O)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(O)/fuzz/%)

.PHONY: all test check lint install clean fuzz fuzz-build bench tests-build scribe
all: scribe

$(O)/scribe: $(O)/src/main.o $(O)/libscribe.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

scribe: $(O)/scribe
	cp $(O)/scribe $@

$(O)/libscribe.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# the lean libcurl is built once, before anything includes its headers
$(LIB_OBJ) $(O)/src/main.o: | $(CURL_DEP)
$(CURL_DIR)/recipe-2.done:
	sh docker/build-curl.sh $(CURL_DIR)

$(O)/tests/%: tests/unit/%.c $(O)/tests/harness.o $(O)/libscribe.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(O)/tests/harness.o $(O)/libscribe.a $(LIBS)

$(O)/tests/harness.o: tests/unit/harness.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests-build: $(O)/scribe $(TEST_BIN)

# The whole suite: unit, command tables, protocol and interop tests.
# The HTTP-facing protocol tests run a second time against the lean
# build (CURL=lean) in $(O)-lean.
test: tests-build
	$(MAKE) CURL=lean O=$(O)-lean $(O)-lean/scribe
	O=$(O) LEAN_O=$(O)-lean tests/run

# What CI runs: the layering check, then the whole suite built with
# -Werror under ASan and UBSan (and the lean build's share of it).
check: lint
	$(MAKE) O=build-asan SANITIZE=address,undefined WERROR=1 tests-build
	$(MAKE) O=build-lean-asan CURL=lean SANITIZE=address,undefined WERROR=1 \
		build-lean-asan/scribe
	O=build-asan LEAN_O=build-lean-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run

# libFuzzer targets (tests/fuzz/fuzz_*.c, clang) in build-fuzz, the
# library instrumented for coverage under ASan and UBSan. Run one with
# tests/fuzz/run-<target>.sh or build-fuzz/fuzz/fuzz_<target> DIR.
fuzz:
	$(MAKE) O=build-fuzz CC=clang SANITIZE=fuzzer-no-link,address,undefined fuzz-build

fuzz-build: $(FUZZ_BIN)

$(O)/fuzz/%: tests/fuzz/%.c $(O)/libscribe.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(O)/libscribe.a $(LIBS)

# Benchmarks (bench/): an optimised build without sanitizers in
# build-bench, then bench/run prints one summary line per benchmark.
bench:
	$(MAKE) O=build-bench OPT_CFLAGS=-O2 build-bench/scribe build-bench/bench/queries \
		build-bench/bench/rss_floor build-bench/bench/machine
	bench/run

$(O)/bench/%: bench/%.c $(O)/libscribe.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(O)/libscribe.a $(LIBS)

# Layering (the house style): only the Matrix layer includes curl, only the store
# sqlite, only the crypto module olm; every .c includes banned.h.
lint:
	@bad=$$(grep -l '<curl/curl.h>' src/*.[ch] commands/*.c include/*.h | grep -v -e src/matrix.c); \
	bad="$$bad $$(grep -l '<sqlite3.h>' src/*.[ch] commands/*.c include/*.h | grep -v -e src/store)"; \
	bad="$$bad $$(grep -l '<olm/' src/*.[ch] commands/*.c include/*.h | grep -v -x -E 'src/crypto(_[a-z0-9_]+)?\.[ch]')"; \
	bad="$$bad $$(grep -L '"banned.h"' src/*.c commands/*.c)"; \
	bad="$$bad $$(grep -l -e '"commands.h"' -e '"meeting.h"' src/*.[ch] | grep -v -x -E 'src/(admin|autoend|digest)\.c')"; \
	bad=$$(echo $$bad); \
	if [ -n "$$bad" ]; then echo "layering violations: $$bad"; exit 1; fi; echo "lint ok"

install: scribe
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	install -m 0755 scribe $(DESTDIR)$(BINDIR)/scribe
	install -m 0644 src/scribe.1 $(DESTDIR)$(MANDIR)/man1/scribe.1
	install -m 0644 bot.conf.example README.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(DOCDIR)/docs
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/

# (build-curl, the lean libcurl, stays: rebuilding it fetches its source)
clean:
	rm -rf build build-asan build-lean build-lean-asan scribe

-include $(LIB_OBJ:.o=.d) $(O)/src/main.d
