# k2-cluster: build, tests, benchmarks. `make` builds build/k2 (and build/k2-cluster),
# `make test` runs every test. Debian packages are installed first when missing.

BUILD   ?= build
SAN     ?=
CC      := gcc
CLANG   := clang
MPICC   := mpicc

PKGS    := libbpf z3 hwloc inih hdf5-serial
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz -lm -lpthread

WARN    := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS  := -std=gnu11 -O2 -g $(WARN) -I. $(PKG_CFLAGS) -MMD -MP
# The version traces record (git describe); the header is rewritten only when it changes.
K2_VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
$(shell mkdir -p $(BUILD)/gen && v=$$(printf '\043define K2_VERSION "%s"' '$(K2_VERSION)') && \
	echo "$$v" | cmp -s - $(BUILD)/gen/k2_version.h || echo "$$v" > $(BUILD)/gen/k2_version.h)
CFLAGS  += -I$(BUILD)/gen
LDFLAGS :=
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# Modules in dependency order (a module may use those after it). mpi/ is built with mpicc.
MODULES := kernel_bench search smt bpf
LIB     = $(BUILD)/lib/libk2$(1).a
MOD_SRCS = $(filter-out %/main.c,$(wildcard $(1)/*.c))
MOD_OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(call MOD_SRCS,$(1)))
LIBS    := $(foreach m,$(MODULES),$(call LIB,$(m)))
LINK    := $(LIBS) $(PKG_LIBS)

HAVE_MPI := $(wildcard mpi/main.c)
PROGS   := $(BUILD)/k2 $(if $(HAVE_MPI),$(BUILD)/k2-cluster)

.PHONY: all deps test test-unit test-kernel asan fuzz bench clean corpus fuzz-semantics fuzz-smt \
	bench-scaling
.PHONY: bench-sizes bench-latency bench-slurm-scaling demo
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory $(PROGS) corpus

deps:
	@sh mk/deps.sh

define module_rules
$(call LIB,$(1)): $(call MOD_OBJS,$(1))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/mpi/%.o: mpi/%.c
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) -c $< -o $@

# cli/*.c: the command layer (may use every module, e.g. `k2 opt` = search + kernel_bench).
CLI_OBJS = $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c))
$(BUILD)/k2: $(CLI_OBJS) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LINK)

MPI_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard mpi/*.c))
$(BUILD)/k2-cluster: $(MPI_OBJS) $(LIBS)
	$(MPICC) $(LDFLAGS) -o $@ $(MPI_OBJS) $(LINK)

# ---- corpus: the project's BPF C programs, clang -O2 -------------------------------------
BPF_CFLAGS := -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -Icorpus -Wall -Werror
CORPUS  := $(patsubst corpus/%.bpf.c,$(BUILD)/corpus/%.o,$(wildcard corpus/*.bpf.c))
corpus: $(CORPUS)
$(BUILD)/corpus/%.o: corpus/%.bpf.c $(wildcard corpus/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# ---- test data: small BPF objects the object tests read (tests/data/*.bpf.c) -------------
TEST_DATA := $(patsubst tests/data/%.bpf.c,$(BUILD)/tests/data/%.o,$(wildcard tests/data/*.bpf.c))
$(BUILD)/tests/data/%.o: tests/data/%.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -Wall -Werror -c $< -o $@

# ---- tests -----------------------------------------------------------------------------
# Each tests/<suite>/<name>.c is one Criterion binary; tests/run.sh runs them and sums up.
TEST_SUITES := unit kernel
TEST_BINS = $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/$(1)/*.c))
$(BUILD)/tests/%: tests/%.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LINK) -lcriterion

test: deps
	@$(MAKE) --no-print-directory $(PROGS) corpus $(TEST_DATA) $(foreach s,$(TEST_SUITES),$(call TEST_BINS,$(s)))
	@$(MAKE) --no-print-directory asan-build
	@sh tests/run.sh $(BUILD) $(BUILD)/asan

test-unit: deps
	@$(MAKE) --no-print-directory $(TEST_DATA) $(call TEST_BINS,unit)
	@sh tests/run.sh $(BUILD)

# AddressSanitizer + UBSan build of the tool and of the unit tests (interpreter, parsers).
FUZZ_REPLAY = $(addprefix $(BUILD)/tests/fuzz/,$(FUZZ_NAMES))
asan-build:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 $(BUILD)/asan/k2 \
		$(patsubst $(BUILD)/%,$(BUILD)/asan/%,$(call TEST_BINS,unit) $(FUZZ_REPLAY))
asan: deps asan-build $(TEST_DATA)
	@sh tests/run.sh $(BUILD)/asan

# ---- fuzzing: libFuzzer targets tests/fuzz/<name>.c over the bpf/ sources -------------------
# `make fuzz` runs each for FUZZ_SECONDS; crashes land in tests/fuzz/crashers/<name>/, which
# (with the seeds) `make test` replays under ASan through tests/fuzz/replay.c.
FUZZ_SECONDS ?= 600
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(filter-out tests/fuzz/replay.c,$(wildcard tests/fuzz/*.c)))
BPF_SRCS   := $(call MOD_SRCS,bpf)
FUZZ_FLAGS := -std=gnu11 -g -O1 -I. $(PKG_CFLAGS) -fsanitize=fuzzer,address,undefined
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BPF_SRCS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_FLAGS) -o $@ $< $(BPF_SRCS) $(PKG_LIBS)
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LINK)
fuzz: deps
	@$(MAKE) --no-print-directory $(addprefix $(BUILD)/fuzz/,$(FUZZ_NAMES))
	@for n in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/fuzz/work-$$n tests/fuzz/crashers/$$n tests/fuzz/seeds/$$n; \
		echo "fuzzing $$n for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=tests/fuzz/crashers/$$n/ \
			$(BUILD)/fuzz/work-$$n tests/fuzz/seeds/$$n || exit 1; \
	done

# ---- benchmarks: `make bench` runs every step of configs/bench.ini (mk/bench.py) and writes
# results/README.md. bench-<name>: tests/bench/<name>.c, printing into results/<name>.txt;
# bench-sizes, bench-latency, bench-slurm-scaling: mk/bench.py's own steps.
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/*.c))
$(BUILD)/bench/%: tests/bench/%.c $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LINK)
# `make demo`: k2-cluster with 4 ranks on a corpus program: listings, proofs, verdict, latency.
demo: deps
	@$(MAKE) --no-print-directory $(PROGS) corpus
	@sh mk/demo.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory $(PROGS) corpus $(BENCH_BINS)
	@/usr/bin/python3 mk/bench.py --build $(BUILD)
.PRECIOUS: $(BUILD)/bench/%
bench-%: $(BUILD)/bench/%
	@mkdir -p results
	@{ $<; echo $$? >$(BUILD)/bench/$*.rc; } | tee results/$*.txt; \
		exit $$(cat $(BUILD)/bench/$*.rc)
bench-sizes bench-latency bench-slurm-scaling: deps
	@$(MAKE) --no-print-directory $(PROGS) corpus
	@/usr/bin/python3 mk/bench.py --build $(BUILD) $(patsubst bench-%,%,$@)

# ---- k2-cluster scaling: np 1, 2, 4, 8 (oversubscribed) and shared pools / tempering on-off ----
bench-scaling: all
	@sh mk/bench_scaling.sh $(BUILD)

# ---- differential fuzzing: random programs in the kernel and the interpreter -----------------
# `make fuzz-semantics N=100000 [SEED=1] [FUZZ_ARGS=...]`: progress every 10000 programs, a
# summary (programs, runs, mismatches, verifier rejections) and, per mismatch, a reduced
# program with its input in $(BUILD)/fuzz-semantics.md. Fails on any mismatch or rejection
# (the verifier's own internal errors are counted and reported, not failed on).
N ?= 100000
SEED ?= 1
fuzz-semantics: deps
	@$(MAKE) --no-print-directory $(BUILD)/k2
	@rm -f $(BUILD)/fuzz-semantics.md
	$(BUILD)/k2 fuzz-semantics -n $(N) --seed $(SEED) --every 10000 \
		--report $(BUILD)/fuzz-semantics.md $(FUZZ_ARGS)

# `make fuzz-smt N=10000 [SEED=1]`: random programs and mutants, z3's verdicts against bpf/interp
# (smt/fuzz_smt.c), every option set in turn; fails on any disagreement. A query that runs out
# of SMT_TIMEOUT ms is counted as unknown.
SMT_TIMEOUT ?= 1000
fuzz-smt: deps
	@$(MAKE) --no-print-directory $(BUILD)/k2
	$(BUILD)/k2 fuzz-smt -n $(N) --seed $(SEED) --timeout $(SMT_TIMEOUT) --every 500

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
