# The two commands a newcomer runs: `make demo` and `make test`. Both set up .venv first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TORCH   := torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export MPLBACKEND ?= Agg

.PHONY: setup demo demo-train test test-all bench clean lab explore

setup: $(STAMP)

# torch goes in before anything that depends on it, or pip pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip wheel
	$(BIN)/pip install $(TORCH)
	$(BIN)/pip install -e ".[dev,notebooks]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# Two tiers (markers in pyproject.toml). `make test`, for every change, in under 3 min on 2 cores: every module, no
# notebook execution, no training longer than a few seconds, the docstring examples. `make test-all` adds the
# notebooks, the real-browser test and the slow tests (training, rendering a data set); CI (.ci/run) runs it.
test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not notebooks and not browser"

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

# the notebooks explore the shipped model (mcl/pretrained/open, MODEL_CARD.md); notebook 01 fine-tunes it briefly
demo: $(STAMP)
	$(BIN)/python -m mcl.lab.demo

# everything from scratch, as before the shipped model: the cpu preset trained on DeepMimic (~17 min on 2 cores)
demo-train: $(STAMP)
	$(BIN)/python -m mcl.lab.demo --train

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# --allow-root only as root (containers, GPU boxes): Jupyter refuses root without it
ROOT_FLAG = $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $(ROOT_FLAG)

# the explorers and the UMAP map of the shipped model (or RUN=dir) on http://127.0.0.1:8866/
explore: $(STAMP)
	$(BIN)/mcl explore $(RUN)

clean:
	rm -rf $(VENV) runs data/cache .pytest_cache
