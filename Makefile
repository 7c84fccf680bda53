# stretchd: set-up, build, run and test. `make run` and `make test` are all a new machine needs.

SWIFT ?= swift
PREFIX ?= $(HOME)/.local
BINDIR = $(PREFIX)/bin
UNITDIR = $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/systemd/user
# The user's own sound overrides: `make install` only reads them, to point out stale copies of the built-in ones.
USER_SOUNDS = $(or $(XDG_DATA_HOME),$(HOME)/.local/share)/stretchd/sounds
# Where `install-files` takes the binaries from: the release build `make install` makes first.
BUILT ?= .build/release
SYSTEMCTL ?= systemctl --user
# Debian packages the build needs, and the tests besides (systemd-analyze checks the unit; a private dbus-daemon
# with python-dbusmock peers stands in for the desktop's buses; dconf-cli's `dconf compile` writes the dconf databases
# GNOME's do-not-disturb is read from); `deps` and `test-deps` install whichever are missing.
# flite1-dev: the spoken prompts' headers, and (through libflite1) the voice the binaries load when they speak.
SYSTEM_PACKAGES := libasound2-dev libsystemd-dev flite1-dev
TEST_PACKAGES := $(SYSTEM_PACKAGES) systemd dbus-daemon python3-dbusmock dconf-cli
# Release binaries carry the Swift runtime inside: no libraries to install, and the idle daemon is about 5 MiB
# smaller in memory than with the shared ones. Linked by lld with packed relative relocations (DT_RELR, glibc
# 2.36+): the daemon's relocation table shrinks from 1.3 MB, read whole at every start, to a few KB. And without
# the toolchain's -export-dynamic: nothing loads plug-ins into these binaries, and their 14,000 exported symbols
# (.dynsym, .dynstr, .gnu.hash) were 1.3 MiB of the idle daemon's memory, read on every symbol lookup at start.
#
# The functions the daemon runs to start and answer `status` are linked first, side by side
# (scripts/startup-symbols.order, from scripts/order-startup-symbols.sh): the kernel maps 64 KiB around each code
# page touched, so scattered over the whole text they kept most of it resident (9.5 MiB of code; 6.4 MiB in order).
# SwiftPM does not relink when only that file changes: touch a source file of the binary.
RELEASE := -c release -Xswiftc -static-stdlib -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs \
  -Xlinker --no-export-dynamic -Xlinker --symbol-ordering-file=$(CURDIR)/scripts/startup-symbols.order \
  -Xlinker --no-warn-symbol-ordering
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps build release run test bench fuzz install install-files uninstall clean

all: build

deps test-deps: PACKAGES = $(if $(filter test-deps,$@),$(TEST_PACKAGES),$(SYSTEM_PACKAGES))
deps test-deps:
	@missing=""; \
	for package in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$package" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build $(RELEASE)

# Runs the daemon in the foreground with built-in defaults; Ctrl-C stops it. Outside a login session
# (no XDG_RUNTIME_DIR), the control socket goes in a private folder under /tmp instead: created with mode 0700,
# and refused unless it is a folder (not a link) of ours with mode 0700, since another user could have made it.
RUN_RUNTIME_DIR ?= /tmp/stretchd-runtime-$(shell id -u)
run: release
	@if [ -z "$$XDG_RUNTIME_DIR" ]; then \
	  XDG_RUNTIME_DIR="$(RUN_RUNTIME_DIR)"; export XDG_RUNTIME_DIR; \
	  mkdir -m 700 "$$XDG_RUNTIME_DIR" 2>/dev/null; \
	  if [ -L "$$XDG_RUNTIME_DIR" ] || [ ! -d "$$XDG_RUNTIME_DIR" ] || \
	     [ "$$(stat -c %u "$$XDG_RUNTIME_DIR")" != "$$(id -u)" ] || [ "$$(stat -c %a "$$XDG_RUNTIME_DIR")" != 700 ]; then \
	    echo "Refusing $$XDG_RUNTIME_DIR: it must be a folder of yours with mode 0700, not a link; someone else may" \
	      "have made it. Remove it (or set XDG_RUNTIME_DIR to a private folder) and run make run again." >&2; \
	    exit 1; \
	  fi; \
	  echo "XDG_RUNTIME_DIR is not set; using $$XDG_RUNTIME_DIR. For stretchctl: export XDG_RUNTIME_DIR=$$XDG_RUNTIME_DIR"; \
	fi; \
	exec "$$($(SWIFT) build $(RELEASE) --show-bin-path)/stretchd"

# The end-to-end tests run after the rest: they block test threads while they wait on real processes, which would
# starve the in-process socket servers of the other tests and make their time limits fail.
test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip EndToEndTests
	$(SWIFT) test --skip-build --filter EndToEndTests

# Benchmarks in a release build: every figure of the performance table, each with the command that reproduces it,
# to stdout (about 4 minutes). `make bench ONLY="idle render"` measures only those; `make bench ONLY=help` lists them.
# The idle figures with the buses connected need the test dependencies (dbus-daemon, python3-dbusmock, busctl).
ONLY ?=
bench: test-deps
	$(SWIFT) build $(RELEASE)
	$$($(SWIFT) build $(RELEASE) --show-bin-path)/stretchd-bench $(ONLY)

# Fuzzes the TOML reader (with routine and config loading), the control-request decoder, the history line
# judgement and the dconf database reader with libFuzzer, FUZZ_SECONDS each; a crash stops with its input saved in .build-fuzz/. The libraries are
# built by SwiftPM with coverage and ASan in their own scratch folder, the fuzz drivers (Fuzz/) linked against them
# with libFuzzer.
FUZZ_SECONDS ?= 60
FUZZ_DIR := .build-fuzz
FUZZ_LIBS := $(FUZZ_DIR)/release
FUZZ_LINK := swiftc -sanitize=fuzzer,address -use-ld=lld -parse-as-library -swift-version 6 -O -g -I $(FUZZ_LIBS)/Modules \
  -I $(FUZZ_DIR)/checkouts/swift-system/Sources/CSystem/include
fuzz:
	@# The drivers link every object of these folders: objects of files since moved away must not linger there.
	rm -f $(foreach target,TOML StretchCore StretchConfig StretchSystem ControlProtocol StretchHistory GVDB,$(FUZZ_LIBS)/$(target).build/*.o)
	$(SWIFT) build --scratch-path $(FUZZ_DIR) -c release --target StretchConfig -Xswiftc -sanitize=fuzzer,address
	$(SWIFT) build --scratch-path $(FUZZ_DIR) -c release --target ControlProtocol -Xswiftc -sanitize=fuzzer,address
	$(SWIFT) build --scratch-path $(FUZZ_DIR) -c release --target StretchHistory -Xswiftc -sanitize=fuzzer,address
	$(SWIFT) build --scratch-path $(FUZZ_DIR) -c release --target GVDB -Xswiftc -sanitize=fuzzer,address
	$(FUZZ_LINK) Fuzz/TOMLFuzz.swift $(FUZZ_LIBS)/TOML.build/*.o $(FUZZ_LIBS)/StretchCore.build/*.o \
	  $(FUZZ_LIBS)/StretchConfig.build/*.o $(FUZZ_LIBS)/StretchSystem.build/*.o $(FUZZ_LIBS)/SystemPackage.build/*.o $(FUZZ_LIBS)/CSystem.build/*.o \
	  -o $(FUZZ_DIR)/fuzz-toml
	$(FUZZ_LINK) Fuzz/ControlProtocolFuzz.swift $(FUZZ_LIBS)/ControlProtocol.build/*.o $(FUZZ_LIBS)/StretchCore.build/*.o \
	  -o $(FUZZ_DIR)/fuzz-control
	$(FUZZ_LINK) Fuzz/HistoryFuzz.swift $(FUZZ_LIBS)/StretchHistory.build/*.o $(FUZZ_LIBS)/StretchCore.build/*.o \
	  -o $(FUZZ_DIR)/fuzz-history
	$(FUZZ_LINK) Fuzz/GVDBFuzz.swift $(FUZZ_LIBS)/GVDB.build/*.o -o $(FUZZ_DIR)/fuzz-gvdb
	@mkdir -p $(FUZZ_DIR)/corpus-toml $(FUZZ_DIR)/corpus-control $(FUZZ_DIR)/corpus-history $(FUZZ_DIR)/corpus-gvdb
	cp Fuzz/seeds/toml/* $(FUZZ_DIR)/corpus-toml/
	@if [ -d ../shared/toml-test/tests ]; then \
	  find ../shared/toml-test/tests -name '*.toml' | while read -r f; do \
	    cp "$$f" "$(FUZZ_DIR)/corpus-toml/$$(echo "$$f" | tr / _)"; done; fi
	cp Fuzz/seeds/control/* $(FUZZ_DIR)/corpus-control/
	cp Fuzz/seeds/history/* $(FUZZ_DIR)/corpus-history/
	cp Fuzz/seeds/gvdb/* $(FUZZ_DIR)/corpus-gvdb/
	cd $(FUZZ_DIR) && ./fuzz-toml -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=1 corpus-toml
	cd $(FUZZ_DIR) && ./fuzz-control -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -timeout=10 -print_final_stats=1 corpus-control
	cd $(FUZZ_DIR) && ./fuzz-history -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -timeout=10 -print_final_stats=1 corpus-history
	cd $(FUZZ_DIR) && ./fuzz-gvdb -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=1 corpus-gvdb

# Builds, then installs the binaries (stripped) and the user unit; enables and starts (or restarts) it where a user
# manager runs. The cue sounds are built into the binaries: nothing is written under the user's data, config or
# state, where their own sounds, routines and history live.
install: release
	@$(MAKE) --no-print-directory install-files

# The install without the build, from the binaries in BUILT (the tests run it on stand-ins).
install-files:
	install -d "$(BINDIR)" "$(UNITDIR)"
	install -s -m 755 "$(BUILT)/stretchd" "$(BUILT)/stretchctl" "$(BINDIR)/"
	sed -e 's|^ExecStart=.*|ExecStart=$(BINDIR)/stretchd|' -e 's|^ExecReload=.*|ExecReload=$(BINDIR)/stretchctl reload|' \
	  systemd/stretchd.service > "$(UNITDIR)/stretchd.service"
	@stale=""; \
	for sound in Sounds/*.wav; do \
	  if cmp -s "$$sound" "$(USER_SOUNDS)/$${sound##*/}"; then stale="$$stale $${sound##*/}"; fi; \
	done; \
	if [ -n "$$stale" ]; then \
	  echo "Note: $(USER_SOUNDS) holds copies of built-in sounds, left by an older make install:$$stale."; \
	  echo "  They count as your own sounds and are left alone; delete them if you did not put them there."; \
	fi
	@if $(SYSTEMCTL) show-environment >/dev/null 2>&1; then \
	  $(SYSTEMCTL) daemon-reload && $(SYSTEMCTL) enable stretchd || exit 1; \
	  if $(SYSTEMCTL) restart stretchd; then \
	    echo "stretchd is enabled and running the installed binaries: systemctl --user status stretchd"; \
	  else \
	    echo "stretchd did not start: systemctl --user status stretchd; journalctl --user -u stretchd" >&2; exit 1; \
	  fi; \
	else \
	  echo "Installed. No user systemd manager is running here; after logging in: systemctl --user enable --now stretchd"; \
	fi

# Removes what `make install` put in place; the user's config, routines, sounds and history stay.
uninstall:
	@$(SYSTEMCTL) disable --now stretchd 2>/dev/null || true
	rm -f "$(BINDIR)/stretchd" "$(BINDIR)/stretchctl" "$(UNITDIR)/stretchd.service"
	@$(SYSTEMCTL) daemon-reload 2>/dev/null || true

clean:
	rm -rf .build
