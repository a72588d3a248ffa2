# SPDX-License-Identifier: MIT
# Makefile for scribe. Flags are composed from named parts (Redis style):
#   make                      build ./scribe
#   make test                 build and run the whole suite (tests/run)
#   make SANITIZE=address,undefined test
#   make WERROR=1             turn warnings into errors (CI does this)
#   make install PREFIX=/usr/local DESTDIR=...

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/scribe
CC ?= cc
PKG_CONFIG ?= pkg-config
O ?= build

PKGS := libcurl jansson olm sqlite3

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
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))

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

$(O)/tests/%: tests/unit/%.c $(O)/tests/harness.o $(O)/libscribe.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(O)/tests/harness.o $(O)/libscribe.a $(LIBS)

$(O)/tests/harness.o: tests/unit/harness.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests-build: $(O)/scribe $(TEST_BIN)

# The whole suite: unit, command tables, protocol and interop tests.
test: tests-build
	O=$(O) tests/run

# What CI runs: the layering check, then the whole suite built with
# -Werror under ASan and UBSan.
check: lint
	$(MAKE) O=build-asan SANITIZE=address,undefined WERROR=1 tests-build
	O=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
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
		build-bench/bench/rss_floor
	bench/run

$(O)/bench/%: bench/%.c $(O)/libscribe.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(O)/libscribe.a $(LIBS)

# Layering (the house style): only the Matrix layer includes curl, only the store
# sqlite, only the crypto module olm; every .c includes banned.h.
lint:
	@bad=$$(grep -l '<curl/curl.h>' src/*.c commands/*.c include/*.h | grep -v -e src/matrix.c); \
	bad="$$bad $$(grep -l '<sqlite3.h>' src/*.c commands/*.c include/*.h | grep -v -e src/store)"; \
	bad="$$bad $$(grep -l '<olm/' src/*.c commands/*.c include/*.h | grep -v -e src/crypto.c)"; \
	bad="$$bad $$(grep -L '"banned.h"' src/*.c commands/*.c)"; \
	bad=$$(echo $$bad); \
	if [ -n "$$bad" ]; then echo "layering violations: $$bad"; exit 1; fi; echo "lint ok"

install: scribe
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	install -m 0755 scribe $(DESTDIR)$(BINDIR)/scribe
	install -m 0644 src/scribe.1 $(DESTDIR)$(MANDIR)/man1/scribe.1
	install -m 0644 bot.conf.example README.md $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build build-asan scribe

-include $(LIB_OBJ:.o=.d) $(O)/src/main.d
