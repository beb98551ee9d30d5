# One command to set up and run the studio, one to set up and pass the tests (see README).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# Every installed package's version, from the environment the suite last passed in (`make upgrade` rewrites it).
LOCK := requirements.lock
# torch comes first, at the lock's version: the CPU build this machine kind keeps on disk, or PyPI's CUDA build of
# the same version where a GPU is seen.
TORCH := $(shell grep -m1 '^torch==' $(LOCK))
# Debian packages: Noto CJK so that 小明 renders without tofu boxes, DejaVu and Symbola for symbols and
# emoji, Chromium for the studio's browser tests, Redis for the production worker's Celery broker (tests start
# their own redis-server on a free port), PostgreSQL for the warehouse-source tests (they initdb and start their
# own server on a free port), strace for the test that counts how often an ingest opens a file.
APT_PACKAGES ?= fonts-noto-cjk fonts-dejavu-core fonts-symbola chromium redis-server postgresql strace

# The suite runs on TEST_WORKERS processes (pytest-xdist), a whole test file to each, so a file's module fixtures
# (a studio server, a browser, rendered clips) are made once. Much of the suite waits on servers and subprocesses,
# so a second process uses the second core; TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 2
PYTEST_PARALLEL := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

.PHONY: setup system-deps studio test upgrade clean

setup: system-deps $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml $(LOCK)
	python3 -m venv $(VENV)
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	  echo "GPU found: installing the CUDA build of $(TORCH)"; \
	else \
	  echo "no GPU: installing the CPU build of $(TORCH)"; \
	fi
	$(PIP) install -q '$(TORCH)'
	$(PIP) install -q -c $(LOCK) -e '.[gpu,dev,scale]'
	touch $(STAMP)

studio: setup
	$(VENV)/bin/highlight-lab studio

test: setup
	$(VENV)/bin/ruff check lab analysis tests benchmarks docs
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q $(PYTEST_PARALLEL) --durations=25

# Newest releases that pyproject.toml allows, in a scratch environment; the lock is replaced only if the whole
# suite passes there. Then `make test` reinstalls .venv from the new lock.
UPGRADE_VENV := .venv-upgrade
upgrade: system-deps
	rm -rf $(UPGRADE_VENV) && python3 -m venv $(UPGRADE_VENV)
	$(UPGRADE_VENV)/bin/pip install -q --upgrade pip torch
	$(UPGRADE_VENV)/bin/pip install -q --upgrade -e '.[gpu,dev,scale]'
	$(UPGRADE_VENV)/bin/ruff check lab analysis tests benchmarks docs
	HF_HUB_OFFLINE=1 $(UPGRADE_VENV)/bin/python -m pytest -q $(PYTEST_PARALLEL) --durations=25
	{ head -n 2 $(LOCK); $(UPGRADE_VENV)/bin/pip freeze --exclude-editable | sed -E 's/^(torch==[^+]*)\+.*/\1/'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf $(UPGRADE_VENV)
	@echo "$(LOCK) now pins what the suite passed with; commit it"

clean:
	rm -rf $(VENV) $(UPGRADE_VENV) .pytest_cache
