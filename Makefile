# Makefile — builds the harness (core: no FFTW, OpenBLAS or CUDA), one plugin per
# backend folder under impls/, the cmocka tests; runs the quick suite and the tests.
# Every library comes from Debian's packages through pkg-config (ci/install-deps.sh).

CC      ?= cc
OPT     ?= -O2
ROOT    ?= .
BUILD   := $(ROOT)/build
BIN     := $(ROOT)/bin
PREFIX  ?= /usr/local

CORE_PKGS := jansson inih hwloc sndfile samplerate papi
# issue 14: the decode op's second decoders (FLAC, Vorbis, Opus + Ogg, MP3)
CORE_PKGS += flac vorbisfile opus ogg libmpg123
# snprintf into fixed message buffers truncates on purpose: a cut message beats none.
WARN      := -Wall -Wextra -Werror -Wno-format-truncation
BASE      := -std=c11 -D_GNU_SOURCE -g $(WARN) $(OPT) $(SANITIZE)
# harness/ is in folders that name the stages (ARCHITECTURE.md); each is on the include
# path, so a file includes a header by its name wherever it lives.
HARNESS_DIRS := core plan run out verdict fleet ops ops/ref cli
INCS      := -Iharness/include -Iharness $(HARNESS_DIRS:%=-Iharness/%) -Idatasets -I$(BUILD)/gen
CFLAGS_CORE := $(BASE) $(INCS) $(shell pkg-config --cflags $(CORE_PKGS) 2>/dev/null)
LIBS_CORE   := $(shell pkg-config --libs $(CORE_PKGS) 2>/dev/null) -ldl -lm
PLUGIN_FLAGS := $(BASE) -Iharness/include -fPIC -fvisibility=hidden -shared

CORE_SRC := $(filter-out harness/main.c, \
              $(wildcard harness/*.c $(HARNESS_DIRS:%=harness/%/*.c) datasets/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/harness/main.o
CORE_LIB := $(BUILD)/libsonocore.a

# A backend is a folder under impls/ with C sources.
BACKENDS := cpu fftw template blas fftwblas py opus
# issue 14: audio (decoders and resamplers: libsndfile, libopusfile, libsamplerate, libsoxr)
BACKENDS += audio
# issue 14: dataload (load.batch's pipeline), with the .sbd and tar readers compiled in
BACKENDS += dataload
COMMON_dataload := datasets/sbd.c datasets/sbd.h datasets/tarshard.c datasets/tarshard.h
CFLAGS_dataload := -Idatasets $(shell pkg-config --cflags sndfile soxr opusfile 2>/dev/null)
LIBS_dataload := $(shell pkg-config --libs sndfile soxr opusfile 2>/dev/null) -pthread -lm

# cuda: built only where nvcc is (the first on PATH, else the toolkit's default place);
# host code is C11 by cc, kernels are .cu objects by nvcc for sm_90 plus compute_90 PTX
# (so a newer GPU JIT-compiles it). Without nvcc the backend is simply absent.
NVCC ?= $(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc))
ifneq ($(NVCC),)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
BACKENDS += cuda
CUDA_ARCH := -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
CUDA_LIBDIRS := $(wildcard $(CUDA_HOME)/lib64 $(CUDA_HOME)/extras/CUPTI/lib64)
CUDA_INCDIRS := $(wildcard $(CUDA_HOME)/include $(CUDA_HOME)/extras/CUPTI/include)
CFLAGS_cuda := $(CUDA_INCDIRS:%=-I%)
LIBS_cuda := $(CUDA_LIBDIRS:%=-L%) $(CUDA_LIBDIRS:%=-Wl,-rpath,%) -lcudart -lcufft -lcublas \
             -lcupti -lstdc++ -ldl -lm
CUDA_CU  := $(wildcard impls/cuda/*.cu)
CUDA_OBJ := $(CUDA_CU:%.cu=$(BUILD)/obj/%.o)
COMMON_cuda = $(COMMON_SRC) $(COMMON_HDR) $(CUDA_OBJ)
# issue 11: cuda/encodec reads the weights and graph with impls/common/encodec_* (jansson)
COMMON_cuda += $(COMMON_ENCODEC)
COMMON_cuda += $(COMMON_W2V)
LIBS_cuda += $(shell pkg-config --libs jansson 2>/dev/null)
# issue 26: gemm_dt.c's cuBLASLt GEMMs (cuda/encodec's dtypes, cuda/vq-lt, cuda/cublaslt)
LIBS_cuda += -lcublasLt
.SECONDARY: $(CUDA_OBJ)
else
$(info cuda: no nvcc on PATH or at /usr/local/cuda/bin/nvcc: the cuda backend is not built)
endif
PLUGINS  := $(BACKENDS:%=$(BUILD)/plugins/%.so)
# impls/common/: impl-side helpers (windows, filterbanks, framing) that the backends with
# audio front ends compile in; they share nothing with the references in harness/ops/.
COMMON_SRC := $(filter-out impls/common/encodec_% impls/common/whisper_%,$(wildcard impls/common/*.c))
COMMON_HDR := $(wildcard impls/common/*.h)
# codec.encodec's shared body and its safetensors reader (jansson): cpu and blas only.
COMMON_ENCODEC := $(wildcard impls/common/encodec_*.c)
# issue 23: whisper.encoder's shared body reads its weights with encodec_st.c: same three
COMMON_ENCODEC += $(wildcard impls/common/whisper_*.c)
# issue 25: vocoder.hifigan's shared body reads its weights with encodec_st.c too
COMMON_SRC := $(filter-out impls/common/hifigan_%,$(COMMON_SRC))
COMMON_ENCODEC += $(wildcard impls/common/hifigan_*.c)
# issue 24: codec.mimi's shared body (the same reader, jansson): the same three
COMMON_SRC := $(filter-out impls/common/mimi_%,$(COMMON_SRC))
COMMON_ENCODEC += $(wildcard impls/common/mimi_*.c)
# issue 23: wav2vec2.features' weights (the impls' safetensors reader, the harness's
# SHA-256 compiled in for describe): cpu, blas and cuda only, like codec.encodec's body
COMMON_W2V := $(wildcard impls/common/w2v_*.c) harness/core/sha256.c
COMMON_SRC := $(filter-out $(COMMON_W2V),$(COMMON_SRC))
# issue 24: codec.dac's shared body (reads weights with encodec_st.c, jansson): cpu, blas
COMMON_DAC := $(wildcard impls/common/dac_*.c)
COMMON_SRC := $(filter-out $(COMMON_DAC),$(COMMON_SRC))
COMMON_cpu := $(COMMON_SRC) $(COMMON_HDR) $(COMMON_ENCODEC)
COMMON_fftwblas := $(COMMON_SRC) $(COMMON_HDR)
# issue 22: fftwblas plans with FFTW too, so it shares fftw's wisdom file handling
COMMON_fftwblas += impls/fftw/wisdom.c impls/fftw/wisdom.h
# blas: the layer ops (conv1d, attention) read their params with impls/common/nnshape.c,
# and codec.encodec's body is shared with cpu/naive
COMMON_blas := $(COMMON_SRC) $(COMMON_HDR) $(COMMON_ENCODEC)
COMMON_cpu += $(COMMON_W2V)
COMMON_blas += $(COMMON_W2V)
COMMON_cpu += $(COMMON_DAC)
COMMON_blas += $(COMMON_DAC)
LIBS_cpu  := -lm -pthread
LIBS_cpu  += $(shell pkg-config --libs jansson 2>/dev/null)
LIBS_fftw := $(shell pkg-config --libs fftw3f 2>/dev/null) -lfftw3f_threads -lpthread
CFLAGS_fftw := $(shell pkg-config --cflags fftw3f 2>/dev/null)
LIBS_template :=
# blas: OpenBLAS's SGEMM, the peak FLOP/s that `harness calibrate` measures
LIBS_blas := $(shell pkg-config --libs openblas 2>/dev/null)
LIBS_blas += $(shell pkg-config --libs jansson 2>/dev/null) -lm
CFLAGS_blas := $(shell pkg-config --cflags openblas 2>/dev/null)
# fftwblas: the audio front ends as batched FFTW r2c plus one SGEMM for the filterbank
LIBS_fftwblas := $(LIBS_fftw) $(LIBS_blas) -lm
# py: NumPy/PyTorch peers in a Python worker (impls/py/sonopy), JSON over pipes, shm buffers
LIBS_py := $(shell pkg-config --libs jansson 2>/dev/null) -lrt
CFLAGS_py := $(shell pkg-config --cflags jansson 2>/dev/null)
CFLAGS_fftwblas := $(CFLAGS_fftw) $(CFLAGS_blas) -Iimpls/fftw
# opus: libopus, the reference Opus codec (codec.opus)
LIBS_opus := $(shell pkg-config --libs opus 2>/dev/null) -lm
CFLAGS_opus := $(shell pkg-config --cflags opus 2>/dev/null)
# issue 14: audio, the decode and resample impls
LIBS_audio := $(shell pkg-config --libs sndfile opusfile samplerate soxr 2>/dev/null) -lm
CFLAGS_audio := $(shell pkg-config --cflags sndfile opusfile samplerate soxr 2>/dev/null)

TEST_PLUGINS := $(patsubst tests/plugins/%.c,$(BUILD)/test-plugins/%.so,$(wildcard tests/plugins/*.c))
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all run test asan install clean plugins tests deps pyenv FORCE
all: $(BIN)/harness $(PLUGINS) $(TEST_PLUGINS)

deps:
	@bash ci/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all pyenv
	$(BIN)/harness run suites/quick

# The PyTorch peers' Python (build/pyenv, whatever the build root: the py plugin finds it
# from the repo); a no-op once made, and never an error (ci/pyenv.sh)
pyenv:
	@bash ci/pyenv.sh

test: all $(TESTS) pyenv
	@bash ci/names-in-core.sh $(BIN)/harness
	@SONO_HARNESS=$(BIN)/harness SONO_BUILD=$(BUILD) SONO_TEST_PLUGINS=$(BUILD)/test-plugins \
	  SONO_TESTS_SUBSET=$(if $(filter command line,$(origin TESTS)),1,0) \
	  bash tests/run.sh $(TESTS)

# The same tests under AddressSanitizer and UBSan, in a build of their own.
asan:
	@$(MAKE) --no-print-directory test ROOT=build/asan OPT=-O1 \
	  SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

# Build info that changes without a source change (git commit) is rewritten only when
# it differs, so a plain `make` relinks nothing.
$(BUILD)/gen/buildinfo.h: FORCE
	@mkdir -p $(@D)
	@printf '#define SONO_GIT "%s"\n#define SONO_CFLAGS "%s"\n' \
	  "$$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	  "$(CC) $(BASE)" > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

$(BUILD)/obj/harness/core/env.o: $(BUILD)/gen/buildinfo.h
$(BUILD)/obj/harness/core/env.o: CFLAGS_EXTRA := -include $(BUILD)/gen/buildinfo.h

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(CFLAGS_EXTRA) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/harness: $(MAIN_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(BASE) $^ -o $@ $(LIBS_CORE)

.SECONDEXPANSION:
$(BUILD)/plugins/%.so: $$(wildcard impls/%/*.c) $$(wildcard impls/%/*.h) harness/include/sono.h \
                       $$(COMMON_$$*)
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_FLAGS) -Iimpls/common $(CFLAGS_$*) $(filter %.c %.o,$^) -o $@ $(LIBS_$*)

# The cuda plugin's kernels: position-independent, as they go into a shared object.
$(BUILD)/obj/impls/cuda/%.o: impls/cuda/%.cu $(wildcard impls/cuda/*.h)
	@mkdir -p $(@D)
	$(NVCC) -std=c++17 -O3 $(CUDA_ARCH) -Xcompiler -fPIC -Xcompiler -fvisibility=hidden \
	  -Iharness/include -Iimpls/common -c $< -o $@

$(BUILD)/test-plugins/%.so: tests/plugins/%.c harness/include/sono.h
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_FLAGS) $< -o $@ -lm

$(BUILD)/tests/%: tests/%.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(shell pkg-config --cflags cmocka) $< $(CORE_LIB) -o $@ \
	  $(LIBS_CORE) $(shell pkg-config --libs cmocka)

# The host tests of the cuda kernels' own code (impls/cuda/*_math.h) rebuild when it changes.
$(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/test_cuda_math*.c)): $(wildcard impls/cuda/*_math.h)

# test_cuda_math_dsp compiles impls/common/frontend.c in: the window, filterbank and DCT the
# cuda front ends upload are frontend.c's, so the host test runs the kernels on the same.
$(BUILD)/tests/test_cuda_math_dsp: tests/test_cuda_math_dsp.c impls/common/frontend.c \
                                   impls/common/frontend.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/common $(shell pkg-config --cflags cmocka) $< \
	  impls/common/frontend.c $(CORE_LIB) -o $@ $(LIBS_CORE) $(shell pkg-config --libs cmocka)

# test_cuda_math_lm (issue 26) likewise: cuda/fused uploads frontend.c's window and bank.
$(BUILD)/tests/test_cuda_math_lm: tests/test_cuda_math_lm.c impls/common/frontend.c \
                                  impls/common/frontend.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/common $(shell pkg-config --cflags cmocka) $< \
	  impls/common/frontend.c $(CORE_LIB) -o $@ $(LIBS_CORE) $(shell pkg-config --libs cmocka)

# test_fastfft compiles the cpu backend's own FFT in, to test it without the plugin.
FASTFFT_SRC := $(wildcard impls/cpu/fastfft*.c)
$(BUILD)/tests/test_fastfft: tests/test_fastfft.c $(FASTFFT_SRC) $(wildcard impls/cpu/fastfft*.h) \
                             $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/cpu $(shell pkg-config --cflags cmocka) $< $(FASTFFT_SRC) \
	  $(CORE_LIB) -o $@ $(LIBS_CORE) -pthread $(shell pkg-config --libs cmocka)

# issue 28: test_dsp_block compiles cpu/fast's block kernels and frontend.c's filterbank in.
$(BUILD)/tests/test_dsp_block: tests/test_dsp_block.c impls/cpu/dsp_block.c impls/cpu/dsp_block.h \
                               impls/common/frontend.c impls/common/frontend.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/common $(shell pkg-config --cflags cmocka) $< \
	  impls/cpu/dsp_block.c impls/common/frontend.c $(CORE_LIB) -o $@ $(LIBS_CORE) \
	  $(shell pkg-config --libs cmocka)

# issue 28: test_en_elu compiles blas/encodec's ELU (impls/common/en_elu.c) in.
$(BUILD)/tests/test_en_elu: tests/test_en_elu.c impls/common/en_elu.c impls/common/en_elu.h \
                            $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(shell pkg-config --cflags cmocka) $< impls/common/en_elu.c \
	  $(CORE_LIB) -o $@ $(LIBS_CORE) $(shell pkg-config --libs cmocka)

# issue 28: test_pool compiles the CPU impls' thread pool (impls/common/pool.c) in.
$(BUILD)/tests/test_pool: tests/test_pool.c impls/common/pool.c impls/common/pool.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/common $(shell pkg-config --cflags cmocka) $< \
	  impls/common/pool.c $(CORE_LIB) -o $@ $(LIBS_CORE) -pthread $(shell pkg-config --libs cmocka)

# issue 28: test_en_tile compiles blas/encodec's tiled convolutions (impls/blas/en_tile.c)
# in, on OpenBLAS.
$(BUILD)/tests/test_en_tile: tests/test_en_tile.c impls/blas/en_tile.c impls/blas/en_tile.h \
                             impls/common/en_elu.c impls/common/en_elu.h impls/common/encodec_net.h \
                             $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(CFLAGS_blas) -Iimpls/common $(shell pkg-config --cflags cmocka) $< \
	  impls/blas/en_tile.c impls/common/en_elu.c $(CORE_LIB) -o $@ $(LIBS_CORE) $(LIBS_blas) \
	  $(shell pkg-config --libs cmocka)

# issue 28: test_rs_design compiles cpu/polyphase's filter design in.
$(BUILD)/tests/test_rs_design: tests/test_rs_design.c impls/cpu/rs_design.c impls/cpu/rs_design.h \
                               $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) $(shell pkg-config --cflags cmocka) $< impls/cpu/rs_design.c \
	  $(CORE_LIB) -o $@ $(LIBS_CORE) $(shell pkg-config --libs cmocka)

# test_encodec_st compiles the impls' own safetensors reader in, to test it without a plugin.
$(BUILD)/tests/test_encodec_st: tests/test_encodec_st.c impls/common/encodec_st.c \
                                impls/common/encodec_st.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/common $(shell pkg-config --cflags cmocka) $< \
	  impls/common/encodec_st.c $(CORE_LIB) -o $@ $(LIBS_CORE) $(shell pkg-config --libs cmocka)

# issue 11 (encodec streams): test_encodec_cudamem compiles codec.encodec's shared body in,
# to check cuda/encodec's device-memory figure (impls/cuda/en_mem.h) without nvcc or a GPU.
$(BUILD)/tests/test_encodec_cudamem: tests/test_encodec_cudamem.c $(COMMON_ENCODEC) \
                                     impls/cuda/en_mem.h impls/common/encodec_net.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/common -Iimpls/cuda $(shell pkg-config --cflags cmocka) $< \
	  $(COMMON_ENCODEC) $(CORE_LIB) -o $@ $(LIBS_CORE) $(shell pkg-config --libs cmocka)

# test_py_proto compiles the py backend's client (all but its plugin.c) in, to drive the
# Python worker and its stand-ins without the harness.
PY_CLIENT := $(filter-out impls/py/plugin.c,$(wildcard impls/py/*.c))
$(BUILD)/tests/test_py_proto: tests/test_py_proto.c $(PY_CLIENT) impls/py/py.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/py $(shell pkg-config --cflags cmocka) $< $(PY_CLIENT) \
	  $(CORE_LIB) -o $@ $(LIBS_CORE) -lrt $(shell pkg-config --libs cmocka)

# issue 13: the live Slurm test: a one-node cluster (munged, slurmctld, slurmd) started as
# root on localhost, the quick suite through `harness fleet` in 2 shards; skips, saying
# why, where it cannot start one. .ci/run runs it after `make test`.
.PHONY: test-fleet
test-fleet: all
	@SONO_HARNESS=$(BIN)/harness bash tests/fleet_live.sh

# issue 29: each mutant of tests/mutants/manifest (one planted bug, a patch) in a scratch
# copy of the tree, rebuilt, against the killers named for it; fails if one survives.
# About 15 minutes on 2 cores, so not part of `make test` nor .ci/run (README, Tests).
.PHONY: mutants
mutants: all
	@bash tests/mutants/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/sonobench/plugins \
	  $(DESTDIR)$(PREFIX)/share/sonobench $(DESTDIR)$(PREFIX)/include/sonobench
	install -m 755 $(BIN)/harness $(DESTDIR)$(PREFIX)/bin/harness
	install -m 755 $(PLUGINS) $(DESTDIR)$(PREFIX)/lib/sonobench/plugins/
	cp -r suites $(DESTDIR)$(PREFIX)/share/sonobench/
	install -d $(DESTDIR)$(PREFIX)/share/sonobench/datasets
	install -m 644 datasets/speech.manifest $(DESTDIR)$(PREFIX)/share/sonobench/datasets/
	install -d $(DESTDIR)$(PREFIX)/share/sonobench/reports/sonoreport
	install -m 644 reports/README.md reports/render.py $(DESTDIR)$(PREFIX)/share/sonobench/reports/
	install -m 644 reports/sonoreport/*.py $(DESTDIR)$(PREFIX)/share/sonobench/reports/sonoreport/
	install -d $(DESTDIR)$(PREFIX)/share/sonobench/schema
	install -m 644 harness/schema/results-1.json $(DESTDIR)$(PREFIX)/share/sonobench/schema/
	install -m 644 harness/include/sono.h $(DESTDIR)$(PREFIX)/include/sonobench/
	install -d $(DESTDIR)$(PREFIX)/share/sonobench/py/sonopy
	install -m 644 impls/py/PROTOCOL.md $(DESTDIR)$(PREFIX)/share/sonobench/py/
	install -m 644 impls/py/sonopy/*.py $(DESTDIR)$(PREFIX)/share/sonobench/py/sonopy/

clean:
	rm -rf build bin

-include $(CORE_OBJ:.o=.d) $(MAIN_OBJ:.o=.d)

# issue 24: test_cuda_math_mimi compiles codec.mimi's shared body in (the weights and graph
# cuda/mimi uploads), to assemble the codec on the host from impls/cuda/mi_math.h.
$(BUILD)/tests/test_cuda_math_mimi: tests/test_cuda_math_mimi.c $(COMMON_ENCODEC) \
                                    impls/cuda/mi_math.h impls/cuda/mi_mem.h \
                                    impls/common/mimi_net.h $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_CORE) -Iimpls/common -Iimpls/cuda $(shell pkg-config --cflags cmocka) $< \
	  $(COMMON_ENCODEC) $(CORE_LIB) -o $@ $(LIBS_CORE) $(shell pkg-config --libs cmocka)
# issue 24: cuda/dac reads codec.dac's weights with the CPU rungs' body (impls/common/dac_*)
ifneq ($(NVCC),)
COMMON_cuda += $(COMMON_DAC)
endif
# test_cuda_math_dac also runs cuda/dac's host code (impls/cuda/dac.c) on the CPU over host
# stand-ins for the runtime, cuBLAS and dc_kernels.cu: it needs the toolkit's headers only.
# impls/ first: impls/common/nndtype.h, not harness/ops/nndtype.h, is the impls' one.
ifneq ($(NVCC),)
$(BUILD)/tests/test_cuda_math_dac: tests/test_cuda_math_dac.c impls/cuda/dac.c \
                                   $(COMMON_DAC) impls/common/encodec_st.c \
                                   $(wildcard impls/common/dac_*.h) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) -Iimpls/common -Iimpls/cuda $(CUDA_INCDIRS:%=-I%) $(CFLAGS_CORE) -DDC_EMU \
	  $(shell pkg-config --cflags cmocka) $< impls/cuda/dac.c $(COMMON_DAC) \
	  impls/common/encodec_st.c $(CORE_LIB) -o $@ $(LIBS_CORE) \
	  $(shell pkg-config --libs cmocka jansson)
endif
