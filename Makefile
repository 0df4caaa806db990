# Two entry points: `make demo` and `make test`. Each creates .venv and installs what it needs when missing
# (OpenSSL's headers for the batched HMAC extension, Debian's chromium for the page tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.spark-installed
BROWSER := /usr/bin/chromium

.PHONY: demo test test-sqlite test-pg install browser bench clean

$(STAMP): pyproject.toml hub/collection/_hmac.c setup.py
	@test -f /usr/include/openssl/sha.h || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev >/dev/null) || echo "no OpenSSL headers: pseudonyms hashed in Python (slower, same bytes)"
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(SPARK_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,spark]'
	touch $(SPARK_STAMP)

install: $(STAMP)

# Debian's chromium drives the page tests (Playwright's own browser download does not work offline).
browser:
	@test -x $(BROWSER) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

demo: $(STAMP)
	rm -rf var/demo
	$(BIN)/passerelle demo --dir var/demo $(if $(ONCE),--once,)

test: $(SPARK_STAMP) browser
	PASSERELLE_DB=sqlite $(BIN)/python -m pytest -q -p no:cacheprovider
	@if [ -n "$$PASSERELLE_TEST_PG" ]; then \
		echo "== again on PostgreSQL ($$PASSERELLE_TEST_PG)"; \
		PASSERELLE_DB=pg $(BIN)/python -m pytest -q -p no:cacheprovider -m "pg" ; \
	fi

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b --quick | tail -1; done

clean:
	rm -rf $(VENV) var .pytest_cache
