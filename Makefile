# Builds libreadmit (the C client of readmitd), its example program and its C tests with the
# C compiler alone: plain C11 over libzmq and libc, no Swift.
#
#   make                     build/libreadmit.so, build/libreadmit.a, build/readmit.pc, and the examples
#                            build/readmit_score, build/readmit_records
#   make test                build and run the C tests (they start a real readmitd; see tests/c/)
#   make check-valgrind      the C tests under valgrind --leak-check=full (errors fail)
#   make check-asan          the C tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make install PREFIX=/usr/local [DESTDIR=...]   library, header and readmit.pc
#   make clean               remove build/

CC       ?= cc
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
PKGDIR   ?= $(LIBDIR)/pkgconfig
VERSION  := $(shell sed -n 's/^\#define READMIT_VERSION "\(.*\)"/\1/p' include/readmit.h)
SOMAJOR  := 0
ZMQ_CFLAGS := $(shell pkg-config --cflags libzmq 2>/dev/null)
ZMQ_LIBS   := $(shell pkg-config --libs libzmq 2>/dev/null || echo -lzmq)

WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=c11 $(WARN) $(CFLAGS) -Iinclude -Ishim $(ZMQ_CFLAGS)

B        := build
SHIM_SRC := $(wildcard shim/*.c)
SHIM_HDR := include/readmit.h $(wildcard shim/*.h)
PIC_OBJ  := $(SHIM_SRC:shim/%.c=$(B)/pic/%.o)
STA_OBJ  := $(SHIM_SRC:shim/%.c=$(B)/static/%.o)
TEST_SRC := $(wildcard tests/c/test_*.c)
TEST_BIN := $(TEST_SRC:tests/c/%.c=$(B)/tests/%)
TEST_LIB := tests/c/harness.c tests/c/fake_daemon.c
TEST_HDR := tests/c/harness.h tests/c/fake_daemon.h

.PHONY: all test check-valgrind check-asan install uninstall clean bench

EXAMPLES := $(B)/readmit_score $(B)/readmit_records

all: $(B)/libreadmit.so $(B)/libreadmit.a $(B)/readmit.pc $(EXAMPLES)

$(B)/pic/%.o: shim/%.c $(SHIM_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(B)/static/%.o: shim/%.c $(SHIM_HDR)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c $< -o $@

# Only the READMIT_EXPORT functions are visible; the rm_* internals stay private.
$(B)/libreadmit.so.$(VERSION): $(PIC_OBJ)
	$(CC) -shared -Wl,-soname,libreadmit.so.$(SOMAJOR) -Wl,--no-undefined -Wl,--as-needed $(LDFLAGS) -o $@ $^ $(ZMQ_LIBS)

$(B)/libreadmit.so: $(B)/libreadmit.so.$(VERSION)
	ln -sf libreadmit.so.$(VERSION) $(B)/libreadmit.so.$(SOMAJOR)
	ln -sf libreadmit.so.$(VERSION) $@

$(B)/libreadmit.a: $(STA_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/readmit.pc: readmit.pc.in include/readmit.h
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@ZMQ_LIBS@|$(ZMQ_LIBS)|' $< > $@

# The examples link the shared library with an rpath so they run from the build tree.
$(B)/readmit_%: bindings/c/readmit_%.c include/readmit.h $(B)/libreadmit.so
	$(CC) $(ALL_CFLAGS) -o $@ $< -L$(B) -lreadmit -Wl,-rpath,'$$ORIGIN' $(ZMQ_LIBS)

# Tests link the static library so valgrind/ASan see every line of the shim.
$(B)/tests/%: tests/c/%.c $(TEST_LIB) $(TEST_HDR) $(B)/libreadmit.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -D_POSIX_C_SOURCE=200809L -Itests/c -pthread -o $@ $< $(TEST_LIB) $(B)/libreadmit.a $(ZMQ_LIBS) -lm

test: all $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; $$t; done

VALGRIND := valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=1 --quiet
check-valgrind: $(TEST_BIN)
	@set -e; for t in $(TEST_BIN); do echo "== valgrind $$t"; READMIT_TEST_SLOW=1 $(VALGRIND) $$t; done

# A separate build tree with sanitizers, so it never mixes objects with the release build.
check-asan:
	$(MAKE) B=build/asan CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer' \
	    LDFLAGS='-fsanitize=address,undefined' build/asan/libreadmit.a
	@set -e; for t in $(TEST_SRC); do n=$$(basename $$t .c); echo "== asan $$n"; \
	  $(CC) -std=c11 $(WARN) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -Iinclude -Ishim \
	    -Itests/c -D_POSIX_C_SOURCE=200809L -pthread -o build/asan/$$n $$t $(TEST_LIB) build/asan/libreadmit.a $(ZMQ_LIBS) -lm; \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build/asan/$$n; done

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PKGDIR)
	install -m 644 include/readmit.h $(DESTDIR)$(INCDIR)/readmit.h
	install -m 755 $(B)/libreadmit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libreadmit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libreadmit.so.$(SOMAJOR)
	ln -sf libreadmit.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libreadmit.so
	install -m 644 $(B)/libreadmit.a $(DESTDIR)$(LIBDIR)/libreadmit.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@ZMQ_LIBS@|$(ZMQ_LIBS)|' readmit.pc.in > $(DESTDIR)$(PKGDIR)/readmit.pc

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/readmit.h $(DESTDIR)$(LIBDIR)/libreadmit.so* $(DESTDIR)$(LIBDIR)/libreadmit.a \
	      $(DESTDIR)$(PKGDIR)/readmit.pc

bench: all
	$(MAKE) -C benchmarks/shim

clean:
	rm -rf $(B)
