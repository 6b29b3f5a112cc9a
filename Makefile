# callwatch — `make run` serves rules.yaml with the embedded store; `make test` runs every test.
SWIFT ?= swift
ARGS ?=
APT_PACKAGES := libsqlite3-dev libcurl4-openssl-dev

.PHONY: deps test-deps build run test check lint format deb deb-test bench clean

# Installs the system libraries the build links against, only when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Installs what the tests run against besides the build: a real Alertmanager (Debian's prometheus-alertmanager).
test-deps:
	@command -v prometheus-alertmanager >/dev/null || { \
		echo "installing prometheus-alertmanager"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq prometheus-alertmanager; \
	}

build: deps
	$(SWIFT) build

run: build
	$(SWIFT) run callwatch serve -c rules.yaml $(ARGS)

check: build
	.build/debug/callwatch check -c rules.yaml --strict

test: deps test-deps
	$(SWIFT) build --build-tests
	.build/debug/callwatch check -c rules.yaml --strict
	.build/debug/callwatch test tests/*.test.yaml
	$(SWIFT) test --skip-build

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

deb: deps
	packaging/build-deb.sh

# Builds the release .deb and checks it (metadata, files, extracted `callwatch check`, systemd-analyze, shellcheck).
deb-test: deps
	packaging/test-deb.sh

bench:
	bench/load.sh

clean:
	rm -rf .build
