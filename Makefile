# stretchd: set-up, build, run and test. `make run` and `make test` are all a new machine needs.

SWIFT ?= swift
PREFIX ?= $(HOME)/.local
BINDIR = $(PREFIX)/bin
SOUNDDIR = $(PREFIX)/share/stretchd/sounds
UNITDIR = $(or $(XDG_CONFIG_HOME),$(HOME)/.config)/systemd/user
# Debian packages the build needs, and the tests besides (systemd-analyze checks the unit); `deps` and
# `test-deps` install whichever are missing.
SYSTEM_PACKAGES := libasound2-dev
TEST_PACKAGES := $(SYSTEM_PACKAGES) systemd
# Release binaries carry the Swift runtime and Foundation inside: no libraries to install, and the idle daemon is
# about 5 MiB smaller in memory than with the shared ones.
RELEASE := -c release -Xswiftc -static-stdlib
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps test-deps build release run test bench fuzz install uninstall clean

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
# (no XDG_RUNTIME_DIR), the control socket goes in a private folder under /tmp instead.
run: release
	@if [ -z "$$XDG_RUNTIME_DIR" ]; then \
	  XDG_RUNTIME_DIR=/tmp/stretchd-runtime-$$(id -u); export XDG_RUNTIME_DIR; \
	  mkdir -p -m 700 "$$XDG_RUNTIME_DIR"; \
	  echo "XDG_RUNTIME_DIR is not set; using $$XDG_RUNTIME_DIR. For stretchctl: export XDG_RUNTIME_DIR=$$XDG_RUNTIME_DIR"; \
	fi; \
	exec "$$($(SWIFT) build $(RELEASE) --show-bin-path)/stretchd"

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Benchmarks in a release build; figures go to stdout.
bench: deps
	$(SWIFT) build $(RELEASE) --product stretchd-bench --product stretchd
	$$($(SWIFT) build $(RELEASE) --show-bin-path)/stretchd-bench

# Fuzzes the TOML reader (with routine and config loading) and the control-request decoder with libFuzzer,
# FUZZ_SECONDS each; a crash stops with its input saved in .build-fuzz/. Not part of `make test`.
FUZZ_SECONDS ?= 60
FUZZ_DIR := .build-fuzz
FUZZ_FLAGS := -sanitize=fuzzer,address -use-ld=lld -parse-as-library -swift-version 6 -O -g -wmo -I $(FUZZ_DIR)
fuzz:
	@mkdir -p $(FUZZ_DIR)/corpus-toml $(FUZZ_DIR)/corpus-control
	swiftc $(FUZZ_FLAGS) -module-name TOML -emit-module -emit-module-path $(FUZZ_DIR)/TOML.swiftmodule \
	  -c Sources/TOML/*.swift -o $(FUZZ_DIR)/TOML.o
	swiftc $(FUZZ_FLAGS) -module-name StretchCore -emit-module -emit-module-path $(FUZZ_DIR)/StretchCore.swiftmodule \
	  -c Sources/StretchCore/*.swift -o $(FUZZ_DIR)/StretchCore.o
	swiftc $(FUZZ_FLAGS) -module-name StretchConfig -emit-module -emit-module-path $(FUZZ_DIR)/StretchConfig.swiftmodule \
	  -c Sources/StretchConfig/*.swift -o $(FUZZ_DIR)/StretchConfig.o
	swiftc $(FUZZ_FLAGS) Fuzz/TOMLFuzz.swift $(FUZZ_DIR)/TOML.o $(FUZZ_DIR)/StretchCore.o $(FUZZ_DIR)/StretchConfig.o \
	  -o $(FUZZ_DIR)/fuzz-toml
	swiftc $(FUZZ_FLAGS) -module-name ControlProtocolFuzz Fuzz/ControlProtocolFuzz.swift Sources/ControlProtocol/*.swift \
	  -o $(FUZZ_DIR)/fuzz-control
	cp Fuzz/seeds/toml/* $(FUZZ_DIR)/corpus-toml/
	@if [ -d ../shared/toml-test/tests ]; then \
	  find ../shared/toml-test/tests -name '*.toml' | while read -r f; do \
	    cp "$$f" "$(FUZZ_DIR)/corpus-toml/$$(echo "$$f" | tr / _)"; done; fi
	cp Fuzz/seeds/control/* $(FUZZ_DIR)/corpus-control/
	cd $(FUZZ_DIR) && ./fuzz-toml -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=1 corpus-toml
	cd $(FUZZ_DIR) && ./fuzz-control -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -timeout=10 -print_final_stats=1 corpus-control

# Installs the binaries, the sounds and the user unit; enables and starts it where a user manager runs.
install: release
	install -d "$(BINDIR)" "$(SOUNDDIR)" "$(UNITDIR)"
	install -m 755 "$$($(SWIFT) build $(RELEASE) --show-bin-path)/stretchd" \
	  "$$($(SWIFT) build $(RELEASE) --show-bin-path)/stretchctl" "$(BINDIR)/"
	install -m 644 Sounds/*.wav "$(SOUNDDIR)/"
	sed 's|^ExecStart=.*|ExecStart=$(BINDIR)/stretchd|' systemd/stretchd.service > "$(UNITDIR)/stretchd.service"
	@if systemctl --user show-environment >/dev/null 2>&1; then \
	  systemctl --user daemon-reload && systemctl --user enable --now stretchd && \
	  echo "stretchd is enabled and running: systemctl --user status stretchd"; \
	else \
	  echo "Installed. No user systemd manager is running here; after logging in: systemctl --user enable --now stretchd"; \
	fi

uninstall:
	@systemctl --user disable --now stretchd 2>/dev/null || true
	rm -f "$(BINDIR)/stretchd" "$(BINDIR)/stretchctl" "$(UNITDIR)/stretchd.service"
	rm -rf "$(SOUNDDIR)"
	@rmdir "$(PREFIX)/share/stretchd" 2>/dev/null || true
	@systemctl --user daemon-reload 2>/dev/null || true

clean:
	rm -rf .build
