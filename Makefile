# The two set-up commands of the README: `make app` (the main job) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STORE  ?= accountability.db
SCALE  ?= county

.PHONY: setup system app demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@

setup: $(VENV)/.installed

# Debian packages the tests need (a browser, CJK fonts, PDF tools) and the Neo4j test server's artifacts
system:
	tools/install-system-deps.sh

$(STORE): | setup
	$(BIN)/accountability demo --out demo --scale $(SCALE)
	$(BIN)/accountability import demo --store $(STORE)

demo: $(STORE)
	$(BIN)/accountability trace --all --store $(STORE) --format jsonl | head -n 1

app: $(STORE)
	ACCOUNTABILITY_STORE=$(STORE) $(BIN)/streamlit run streamlit_app.py --browser.gatherUsageStats false

# two workers (pytest-xdist), a test file per worker at a time: module fixtures are built once, each worker
# starts its own Neo4j test server
test: setup system
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo $(STORE) $(STORE)-wal $(STORE)-shm $(STORE).sign-ins
