# floodgate's front door. `make demo` and `make test` are the quick start:
# each installs the Debian packages it needs (only those missing), builds, and
# runs. Everything real is in CMake and the scripts under bench/ and tests/.

SANITIZE ?=
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)

ifeq ($(SANITIZE),)
BUILD_DIR ?= build
CMAKE_SAN :=
else ifeq ($(SANITIZE),thread)
BUILD_DIR ?= build-tsan
CMAKE_SAN := -DFG_SANITIZE=thread
# TSan: the unit tests and the data plane's integration tests (proxy,
# attacks, faults), each floodgate with 4 workers (tests/CMakeLists.txt).
CTEST_ARGS ?= -L 'unit|dataplane'
else
BUILD_DIR ?= build-san
CMAKE_SAN := -DFG_SANITIZE=address,undefined
endif
CTEST_ARGS ?=

BUILD_PKGS := cmake make gcc pkg-config libevent-dev libssl-dev libjansson-dev libcmocka-dev \
              node-llhttp openssl
TEST_PKGS  := $(BUILD_PKGS) prometheus curl
DEMO_PKGS  := $(BUILD_PKGS) gnuplot-nox curl
BENCH_PKGS := $(BUILD_PKGS) gnuplot-nox wrk nginx haproxy valgrind curl
FUZZ_PKGS  := $(BUILD_PKGS) clang libclang-rt-14-dev

# Installs the packages of $(1) that dpkg does not report as installed; as
# root with apt-get, otherwise prints the exact command and fails.
define install_pkgs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing || exit 1; \
	  else \
	    echo "missing Debian packages; run as root:"; \
	    echo "  apt-get update && apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

.PHONY: all build deps deps-demo deps-bench deps-fuzz test demo bench fuzz install format lint clean

all: build

deps:
	$(call install_pkgs,$(TEST_PKGS))

deps-demo:
	$(call install_pkgs,$(DEMO_PKGS))

deps-bench:
	$(call install_pkgs,$(BENCH_PKGS))

deps-fuzz:
	$(call install_pkgs,$(FUZZ_PKGS))

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_SAN) $(CMAKE_ARGS)

build: $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: deps
	$(MAKE) --no-print-directory build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

demo: deps-demo
	$(MAKE) --no-print-directory build
	@if [ -x bench/demo.sh ]; then bench/demo.sh $(BUILD_DIR); else \
	  echo "make demo: the storm demo is not built yet (see the open demo issue);"; \
	  echo "nothing was run."; exit 1; fi

bench: deps-bench
	$(MAKE) --no-print-directory build
	bench/run.sh $(BUILD_DIR)

fuzz: deps-fuzz
	@if [ -x tests/fuzz/run.sh ]; then tests/fuzz/run.sh; else \
	  echo "make fuzz: no fuzz targets yet"; exit 1; fi

install: build
	cmake --install $(BUILD_DIR)

format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

lint: build
	git ls-files '*.c' | grep -v '^tests/fuzz/' | xargs clang-tidy -p $(BUILD_DIR) --quiet
	cppcheck --enable=warning,performance,portability --inline-suppr --quiet \
	  --error-exitcode=1 -I limiter -I conf -I proxy $$(git ls-files '*.c')

clean:
	rm -rf build build-san build-tsan build-fuzz
