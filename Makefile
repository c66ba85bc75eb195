# The two commands of the README: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench samples clean browser postgres

DEMO_STAMP := $(VENV)/.installed-demo

# The installer: uv (from PyPI, into the venv) when it can be had, else (or if uv fails) pip.
# uv installs the same packages from the same index, in parallel and from its own cache.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q uv 2>/dev/null \
	  || echo "uv not available; installing with pip (slower)"

define install
	@if [ -x $(BIN)/uv ] && $(BIN)/uv pip install -q --python $(BIN)/python -e '$(1)'; then :; \
	else $(BIN)/python -m pip install -q -e '$(1)'; fi
endef

# Everything: all extras (Dask, object storage, numba) and the test tools; `make test` uses it.
EVERYTHING := .[all,dev]
$(STAMP): pyproject.toml | $(BIN)/python
	$(call install,$(EVERYTHING))
	touch $(STAMP) $(DEMO_STAMP)

# What the demo needs: the core only (no Dask, no object storage, no numba, no test tools).
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(call install,.)
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	HSIWQ_HOME=$${HSIWQ_HOME:-$(CURDIR)/.hsiwq-demo} $(BIN)/hsiwq demo

# Debian's chromium for the dashboard's browser test; installed only when missing and we are
# root with apt-get (elsewhere the test is skipped, or fails when CI=true).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    || echo "could not install chromium; the dashboard browser test will fail in CI" >&2; \
	fi

# Debian's PostgreSQL server binaries (initdb, pg_ctl) for the test of `hsiwq serve` on a
# PostgreSQL-backed Prefect server; installed only when missing and we are root with apt-get.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing postgresql for the PostgreSQL-backed serve test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
	    || echo "could not install postgresql; the PostgreSQL serve test will fail in CI" >&2; \
	fi

test: $(STAMP) browser postgres
	$(BIN)/python -m pytest -q -ra; rc=$$?; if [ $$rc -eq 5 ]; then echo 'no tests collected'; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --suite all

samples: $(STAMP)
	$(BIN)/hsiwq simulate --samples sample_cubes

clean:
	rm -rf .hsiwq-demo .pytest_cache
