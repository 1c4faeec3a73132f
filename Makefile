# kubectl-podfix developer tasks. `make test` is what CI runs (see .ci/run).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: help install test bench dist release example readme clean

help:  ## list targets
	@grep -E '^[a-z]+:.*## ' Makefile | sed 's/:.*## /\t/'

BIN := $(abspath $(VENV))/bin
INSTALL_LOG := $(VENV)/install.log

# pip and setuptools print progress and deprecation banners even with -q: they go to a log, shown only
# when the install fails, so `make example` prints the example and nothing else.
$(STAMP): setup.cfg pyproject.toml
	@echo "installing podfix (editable) and the test tools into $(VENV) (log: $(INSTALL_LOG))" >&2
	@$(PYTHON) -m venv $(VENV)
	@{ $(PIP) install -q --upgrade pip && $(PIP) install -q -e '.[test]'; } > $(INSTALL_LOG) 2>&1 \
		|| { cat $(INSTALL_LOG) >&2; echo "make: installing into $(VENV) failed (log above)" >&2; exit 1; }
	@touch $(STAMP)

install: $(STAMP)  ## create .venv with podfix and the test tools

example: $(STAMP)  ## explain the shipped example bundle
	@export PATH="$(BIN):$$PATH"; \
	if command -v kubectl >/dev/null; then kubectl podfix explain -f examples/imagepull-notfound.yaml; \
	else kubectl-podfix explain -f examples/imagepull-notfound.yaml; fi

test: $(STAMP)  ## run the whole test suite
	PATH="$(BIN):$$PATH" $(PY) -m pytest -q

bench: $(STAMP)  ## benchmark against the loopback API server (docs/benchmarks.md)
	PATH="$(BIN):$$PATH" $(PY) tests/bench.py

dist: $(STAMP)  ## build dist/kubectl-podfix.tar.gz (zipapp + LICENSE); changes nothing outside dist/
	$(PY) tools/build_dist.py

release: $(STAMP)  ## build the archive and write its version and sha256 into plugin.yaml (the release commit)
	$(PY) tools/build_dist.py --manifest plugin.yaml

readme: $(STAMP)  ## regenerate the example outputs quoted in README.md (tools/readme.py)
	$(PY) tools/readme.py

clean:  ## remove build outputs
	rm -rf build dist *.egg-info .pytest_cache
