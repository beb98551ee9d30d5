# One command to set up and run the studio, one to set up and pass the tests (see README).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# The CPU build of torch this machine kind keeps on disk; a GPU machine takes a CUDA build.
TORCH_CPU ?= torch==2.13.0
TORCH_GPU ?= torch>=2.4
# Debian packages: Noto CJK so that 小明 renders without tofu boxes, DejaVu and Symbola for symbols and
# emoji, Chromium for the studio's browser tests, Redis for the production worker's Celery broker (tests start
# their own redis-server on a free port), PostgreSQL for the warehouse-source tests (they initdb and start their
# own server on a free port), strace for the test that counts how often an ingest opens a file.
APT_PACKAGES ?= fonts-noto-cjk fonts-dejavu-core fonts-symbola chromium redis-server postgresql strace

.PHONY: setup system-deps studio test clean

setup: system-deps $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
	  echo "GPU found: installing a CUDA build of torch"; $(PIP) install -q '$(TORCH_GPU)'; \
	else \
	  echo "no GPU: installing the CPU build $(TORCH_CPU)"; $(PIP) install -q '$(TORCH_CPU)'; \
	fi
	$(PIP) install -q -e '.[gpu,dev,scale]'
	touch $(STAMP)

studio: setup
	$(VENV)/bin/highlight-lab studio

test: setup
	$(VENV)/bin/ruff check lab analysis tests benchmarks docs
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
