# patchcast — the only build entry. Out-of-tree build into $(BUILD)/.
#   make            library, CLIs, test programs
#   make check      deps, build, run every test (last line: N passed, N failed)
#   make asan       the same tests on an ASan+UBSan build (build-asan/)
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (default 60)
#   make demo       the end-to-end story on file://, no server
#   make demo-qt    the PyQt5 example updated while it runs, under Xvfb (screenshots in build/screenshots)
#   make deps       apt-get what building, testing and the demo need
#   make deps-build apt-get only what building and installing need
#   make install    PREFIX=/usr/local DESTDIR= (LIBDIR, MANDIR, PYTHONDIR… too); make uninstall
#   make deb        build/patchcast_<version>_<arch>.deb (dpkg-deb)
#   make lint       cppcheck over client/, generator/, include/ (fails on a finding)

# One source for the version: include/patchcast.h.
version_part = $(shell sed -n 's/^\#define PC_VERSION_$(1) \([0-9][0-9]*\)$$/\1/p' include/patchcast.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION_MINOR := $(call version_part,MINOR)
VERSION_PATCH := $(call version_part,PATCH)
VERSION       := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

CC      ?= gcc
BUILD   ?= build
# One spelling of the build folder (tests pass it absolute): the objects'
# dependency files name their targets as the rules do, or header changes
# would not rebuild them.
override BUILD := $(patsubst $(CURDIR)/%,%,$(abspath $(BUILD)))
PREFIX  ?= /usr/local
DESTDIR ?=

OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror
CPPFLAGS += -D_GNU_SOURCE
# Only what include/ declares is exported from libpatchcast.so (PC_API).
CFLAGS   += -std=c11 $(OPT) $(WARN) -fPIC -fvisibility=hidden $(SAN)
LDFLAGS  += $(SAN)

# Targets that install their packages first, then build in a sub-make (so
# the flags below are read once the packages are there); every other target
# that builds stops at once, naming what is missing.
DEPS_FIRST := deps deps-build check demo demo-qt bench bench-diff bench-gen bench-client bench-release bench-big bench-shard clean uninstall
ifneq ($(filter-out $(DEPS_FIRST),$(or $(MAKECMDGOALS),all)),)
  MISSING := $(shell scripts/deps.sh --missing build)
  ifneq ($(MISSING),)
    $(error missing: $(MISSING) (run make deps-build))
  endif
endif

# Client library dependencies (mbedTLS and bzip2 ship no .pc file on Debian 12).
# libcurl is not linked: client/net/curlapi.c loads it on the first download.
LIB_PKGS  := libsodium libcjson libzstd liblzma
LIB_LIBS  := $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null) -lmbedcrypto -lbz2 -lpthread -ldl -lm
LIB_CFLAGS := $(shell pkg-config --cflags $(LIB_PKGS) libcurl 2>/dev/null)
# The generator adds suffix sorting (32-bit arrays; segments from 2 GiB on).
GEN_LIBS  := -ldivsufsort
CPPFLAGS  += $(LIB_CFLAGS)

# The folders and what each may include besides include/ and itself
# (docs/architecture.md). Each folder's sources get only these -I paths, so
# an include the wrong way fails to compile.
USES.client/common    :=
USES.client/trust     := client/common
USES.client/apply     := client/common
USES.client/net       := client/common
USES.client/install   := client/common
USES.client/host      := client/common
USES.client/update    := client/common client/trust client/apply client/net client/install
USES.client/cli       := client/common client/apply
USES.generator/diff   := client/common client/apply
USES.generator/sign   := client/common client/trust
USES.generator/site   := client/common client/trust client/apply generator/diff generator/sign
USES.generator/shard  := client/common client/trust client/apply generator/diff generator/sign generator/site
USES.generator/cli    := client/common client/trust client/apply client/update generator/diff generator/sign generator/site generator/shard
LIB_DIRS := client/common client/trust client/apply client/net client/install client/host client/update
GEN_DIRS := generator/diff generator/sign generator/site generator/shard
ALL_DIRS := $(LIB_DIRS) client/cli $(GEN_DIRS) generator/cli
# Tests see everything (tests/unit/<area>/ mirrors the folders).
TEST_INC := $(ALL_DIRS) tests/unit tests/modules
incs = -Iinclude $(if $(filter tests/%,$(1)),$(addprefix -I,$(TEST_INC)),-I$(1) $(addprefix -I,$(USES.$(1))))

CLIENT_SRC := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
CLI_SRC    := $(wildcard client/cli/*.c)
GEN_SRC    := $(foreach d,$(GEN_DIRS),$(wildcard $(d)/*.c))
GENCLI_SRC := $(wildcard generator/cli/*.c)
UNIT_SRC   := $(wildcard tests/unit/*/test_*.c)

CLIENT_OBJ := $(CLIENT_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(BUILD)/%.o)
GEN_LIB_OBJ := $(GEN_SRC:%.c=$(BUILD)/%.o) $(BUILD)/generator/site/site_template.o
GEN_OBJ    := $(GENCLI_SRC:%.c=$(BUILD)/%.o) $(GEN_LIB_OBJ)
UNIT_BIN   := $(foreach t,$(UNIT_SRC),$(BUILD)/tests/$(basename $(notdir $(t))))

SONAME     := libpatchcast.so.$(VERSION_MAJOR)

# The man pages: docs/NAME.1.md is the source, the roff is generated
# (scripts/md2man.awk) into $(BUILD)/man/man1/, so MANPATH=$(BUILD)/man finds it.
MAN_SRC    := $(wildcard docs/*.1.md)
MANPAGES   := $(MAN_SRC:docs/%.md=$(BUILD)/man/man1/%)

.PHONY: print-incs demo-run demo-qt demo-qt-run all deps deps-build check asan fuzz fuzz-build demo install uninstall deb lint clean bench bench-diff bench-gen bench-client bench-release bench-big bench-shard FORCE
.SECONDARY:
all: $(BUILD)/libpatchcast.a $(BUILD)/libpatchcast.so $(BUILD)/patchcast $(BUILD)/patchcast-gen $(UNIT_BIN) $(MANPAGES)

# Objects are rebuilt when the compiler, the flags or the version change.
FLAGS_NOW := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(VERSION)
$(BUILD)/.flags: FORCE
	@mkdir -p $(BUILD)
	@[ "$$(cat $@ 2>/dev/null)" = '$(FLAGS_NOW)' ] || printf '%s\n' '$(FLAGS_NOW)' >$@

$(BUILD)/%.o: %.c $(BUILD)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(call incs,$(patsubst %/,%,$(dir $<))) $(CFLAGS) -MMD -MP -c $< -o $@

# site-template/ is compiled into patchcast-gen (generator/site/tmpl.h), so an
# installed generator needs no data folder.
TMPL_FILES := $(sort $(wildcard site-template/*))

# The folder too: adding or removing a file changes its time.
$(BUILD)/generator/site/site_template.c: site-template $(TMPL_FILES) scripts/embed.sh
	@mkdir -p $(dir $@)
	scripts/embed.sh $(TMPL_FILES) >$@.tmp && mv $@.tmp $@

$(BUILD)/generator/site/site_template.o: $(BUILD)/generator/site/site_template.c $(BUILD)/.flags
	$(CC) $(CPPFLAGS) $(call incs,generator/site) $(CFLAGS) -MMD -MP -c $< -o $@

# The version in .TH is the program's (include/patchcast.h).
$(BUILD)/man/man1/%.1: docs/%.1.md scripts/md2man.awk include/patchcast.h
	@mkdir -p $(dir $@)
	LC_ALL=C awk -v source="patchcast $(VERSION)" -f scripts/md2man.awk $< >$@.tmp && mv $@.tmp $@

$(BUILD)/libpatchcast.a: $(CLIENT_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libpatchcast.so.$(VERSION): $(CLIENT_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) -o $@ $^ $(LDFLAGS) $(LIB_LIBS)

$(BUILD)/libpatchcast.so: $(BUILD)/libpatchcast.so.$(VERSION)
	ln -sf libpatchcast.so.$(VERSION) $(BUILD)/$(SONAME)
	ln -sf libpatchcast.so.$(VERSION) $@

# The CLIs link the static library so they run from the build tree and after install alike.
$(BUILD)/patchcast: $(CLI_OBJ) $(BUILD)/libpatchcast.a
	$(CC) -o $@ $(CLI_OBJ) $(BUILD)/libpatchcast.a $(LDFLAGS) $(LIB_LIBS)

$(BUILD)/patchcast-gen: $(GEN_OBJ) $(BUILD)/libpatchcast.a
	$(CC) -o $@ $(GEN_OBJ) $(BUILD)/libpatchcast.a $(LDFLAGS) $(GEN_LIBS) $(LIB_LIBS)

# Unit tests link the generator's modules too (everything but its CLI).
define unit_rule
$(BUILD)/tests/$(basename $(notdir $(1))): $(BUILD)/$(1:.c=.o) $(GEN_LIB_OBJ) $(BUILD)/libpatchcast.a
	$$(CC) -o $$@ $$< $(GEN_LIB_OBJ) $(BUILD)/libpatchcast.a $$(LDFLAGS) $(GEN_LIBS) $(LIB_LIBS)
endef
$(foreach t,$(UNIT_SRC),$(eval $(call unit_rule,$(t))))

deps-build:
	@scripts/deps.sh build

deps:
	@scripts/deps.sh

# A sub-make reads the package flags once `deps` has installed the packages.
check: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) tests/run

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run

# cppcheck (a test package of scripts/deps.sh). Every folder's include path
# at once: a checker, not a compiler, so the USES rule is the build's to
# enforce. Findings accepted, each with its reason: .cppcheck-suppressions.xml.
# -D_Thread_local=: cppcheck 2.10 does not parse `static _Thread_local
# struct {...} x;` (host.c) and calls its members unused. $(BUILD)/cppcheck
# keeps the results of unchanged files.
LINT_FLAGS := --quiet --error-exitcode=1 --std=c11 --enable=warning,style,performance,portability \
  --library=posix -D_GNU_SOURCE -D_Thread_local= -Iinclude $(addprefix -I,$(ALL_DIRS)) \
  --suppress-xml=.cppcheck-suppressions.xml --cppcheck-build-dir=$(BUILD)/cppcheck \
  --template='{file}:{line}: {severity} ({id}): {message}'

lint:
	@command -v cppcheck >/dev/null || { echo "missing: cppcheck (run make deps)" >&2; exit 1; }
	@mkdir -p $(BUILD)/cppcheck
	cppcheck $(LINT_FLAGS) client generator include

# libFuzzer harnesses (clang). `make check` runs each briefly on its seed corpus.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
  $(addprefix -I,$(LIB_DIRS)) $(LIB_CFLAGS)
FUZZ_LIB_SRC := $(CLIENT_SRC)

build-fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRC) $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.h)) $(wildcard include/*.h)
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(LIB_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build-fuzz/corpus-$$n; \
	  echo "== $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 build-fuzz/corpus-$$n tests/fuzz/seeds/$${n#fuzz_} || exit 1; done

demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: all
	@PC_LIBS="$(LIB_LIBS)" BUILD=$(BUILD) scripts/demo.sh

demo-qt: deps
	@$(MAKE) --no-print-directory demo-qt-run

demo-qt-run: all
	@BUILD=$(BUILD) scripts/demo-qt.sh

# Benchmarks on the real release series; figures side by side with the peers.
bench-diff: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh diff

bench-gen: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh gen

bench-client: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh client

# Whole-release patches against per-file patches and zstd of the tarballs.
bench-release: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-release.sh

# A generated pair over 2 GiB: ~15 GB of memory and ~10 GB of /tmp.
bench-big: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh big

# A sharded build against a one-machine build of 4 versions of 512 MiB
# (SHARD_MIB): ~15 GB of memory (4 jobs at once) and ~10 GB of /tmp.
bench-shard: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench-shard.sh

bench: bench-diff bench-gen bench-client bench-release bench-big bench-shard
	@{ echo "# Benchmarks"; echo; echo "Produced by \`make bench\` (scripts/bench.sh, scripts/bench-release.sh, scripts/bench-shard.sh)."; echo; \
	  cat $(BUILD)/bench/diff.md; echo; cat $(BUILD)/bench/gen.md; echo; cat $(BUILD)/bench/client.md; \
	  echo; cat $(BUILD)/bench/release.md; echo; cat $(BUILD)/bench/big.md; echo; cat $(BUILD)/bench/shard.md; } > docs/benchmarks.md
	@echo "wrote docs/benchmarks.md"

# Install layout; the .deb uses PREFIX=/usr and Debian's multiarch LIBDIR.
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/patchcast
PCDIR      ?= $(LIBDIR)/pkgconfig
CI_SCRIPTS := ci/publish-rsync ci/publish-s3
# The Python package, where Debian's python3 looks: /usr/lib/python3/dist-packages
# for PREFIX=/usr (the .deb), PREFIX/lib/python3.X/dist-packages otherwise.
PY_MINOR   := $(shell /usr/bin/python3 -c 'import sys; print(sys.version_info[1])' 2>/dev/null || echo 11)
PYTHONDIR  ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PREFIX)/lib/python3.$(PY_MINOR)/dist-packages)
PY_FILES   := $(sort $(wildcard python/patchcast/*.py python/patchcast/*/*.py))
HEADERS    := $(wildcard include/*.h)

install: $(BUILD)/libpatchcast.a $(BUILD)/libpatchcast.so $(BUILD)/patchcast $(BUILD)/patchcast-gen $(MANPAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DATADIR)/ci
	install -m 755 $(BUILD)/patchcast $(BUILD)/patchcast-gen $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/libpatchcast.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libpatchcast.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libpatchcast.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpatchcast.so
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${exec_prefix}/%,$(LIBDIR))|' \
	  -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	  -e 's|@VERSION@|$(VERSION)|' patchcast.pc.in >$(DESTDIR)$(PCDIR)/patchcast.pc
	chmod 644 $(DESTDIR)$(PCDIR)/patchcast.pc
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 755 $(CI_SCRIPTS) $(DESTDIR)$(DATADIR)/ci/
	install -m 644 ci/site-refs.sh ci/github-actions.yml ci/gitlab-ci.yml $(DESTDIR)$(DATADIR)/ci/
	for f in $(PY_FILES:python/%=%); do install -D -m 644 python/$$f $(DESTDIR)$(PYTHONDIR)/$$f || exit 1; done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/patchcast $(DESTDIR)$(BINDIR)/patchcast-gen
	rm -f $(DESTDIR)$(LIBDIR)/libpatchcast.a $(DESTDIR)$(LIBDIR)/libpatchcast.so \
	  $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libpatchcast.so.$(VERSION)
	rm -f $(HEADERS:include/%=$(DESTDIR)$(INCLUDEDIR)/%) $(DESTDIR)$(PCDIR)/patchcast.pc
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MANPAGES)))
	rm -rf $(DESTDIR)$(DATADIR)
	rm -rf $(DESTDIR)$(PYTHONDIR)/patchcast
	-rmdir $(DESTDIR)$(PCDIR) 2>/dev/null || true

# A Debian package of everything `install` installs, into /usr.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB      := $(BUILD)/patchcast_$(VERSION)_$(DEB_ARCH).deb

deb: $(BUILD)/libpatchcast.a $(BUILD)/libpatchcast.so $(BUILD)/patchcast $(BUILD)/patchcast-gen $(MANPAGES)
	@BUILD=$(BUILD) VERSION=$(VERSION) MAKE="$(MAKE)" scripts/deb.sh $(DEB)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The -I flags a folder's sources get (tests/docs/test_architecture.sh).
print-incs:
	@echo $(call incs,$(DIR))
