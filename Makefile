# The contract: `make build` and `make test`, from a fresh clone with only Python 3.11.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export GX_ANALYTICS_ENABLED := false
# one BLAS thread a process, as the CLI sets it (pipelines/cli.py): the tests run a process per core
export OPENBLAS_NUM_THREADS := 1

.PHONY: build test test-fast install clean bench

$(STAMP): setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[driver,dask,dev,semantic]"
	touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	$(VENV)/bin/biasbench build

TEST_PATHS := tests pipelines transforms schemas validation

# everything, the slow real-data builds included
test: $(STAMP)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -q -n auto $(TEST_PATHS)

# without the tests marked slow (full builds over the real CALM/HolisticBias data)
test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -q -n auto -m "not slow" $(TEST_PATHS)

# needs ../shared beside the project (CALM and HolisticBias inputs)
bench: $(STAMP)
	$(PY) benchmarks/calm_build.py --repeat 2
	$(PY) benchmarks/expansion.py --hb-beam
	$(PY) benchmarks/oversized_records.py
	$(PY) benchmarks/build_floor.py --repeat 2

clean:
	rm -rf $(VENV) releases build *.egg-info
