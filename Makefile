# stretchd: set-up, build, run and test. `make run` and `make test` are all a new machine needs.

SWIFT ?= swift
PREFIX ?= $(HOME)/.local
# Debian packages the build, the tests and the tools need; `deps` installs whichever are missing.
SYSTEM_PACKAGES := libasound2-dev
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build release run test bench clean

all: build

deps:
	@missing=""; \
	for package in $(SYSTEM_PACKAGES); do \
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
	$(SWIFT) build -c release

# Runs the daemon in the foreground with built-in defaults; Ctrl-C stops it.
run: release
	$$($(SWIFT) build -c release --show-bin-path)/stretchd

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Benchmarks in a release build; figures go to stdout.
bench: deps
	$(SWIFT) build -c release --product stretchd-bench
	$$($(SWIFT) build -c release --show-bin-path)/stretchd-bench

clean:
	rm -rf .build
