# CSPO Tracker: `make run` for a working app on this machine, `make test` for the whole suite.
# Needs only Python 3.11+ and make; everything else is installed into .venv from the lock files.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Absolute links (emails, calendar feed, QR code, PDF) point where `make run` listens, unless
# SITE_URL is set in the environment or on the command line (one in .env wins too: honcho and
# the settings read it). A wildcard HOST listens on every address; links use the loopback one.
SITE_URL ?= http://$(if $(filter 0.0.0.0 [::],$(HOST)),127.0.0.1,$(HOST)):$(PORT)
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: help install run test lint format bench screenshots lock clean messages

help:
	@echo "make run    set up, migrate, load demo data, start web + worker + beat"
	@echo "make test   run the whole test suite"
	@echo "make lint   ruff check and format check"
	@echo "make bench  run the benchmarks in tests/benchmarks"
	@echo "make screenshots  refresh the README's screenshots from the browser tests"
	@echo "make lock   re-pin requirements/*.txt from requirements/*.in"

# The virtualenv is rebuilt whenever a lock file changes.
$(VENV)/.installed: requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py compilemessages
	$(PY) manage.py badge_keys generate --if-missing
	$(PY) manage.py migrate --noinput
	SITE_URL='$(SITE_URL)' $(PY) manage.py seed_demo
	@echo ""
	@echo "CSPO Tracker is starting at http://$(HOST):$(PORT)/ (staff admin: http://$(HOST):$(PORT)/admin/)"
	@echo "Web server, Celery worker and Celery beat run together; Ctrl-C stops all three."
	@echo ""
	HOST=$(HOST) WEB_PORT=$(PORT) SITE_URL='$(SITE_URL)' $(VENV)/bin/honcho --no-prefix -f Procfile.dev start

test: install
	$(PY) manage.py compilemessages
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	BENCH_README=README.md $(PY) -m pytest tests/benchmarks -p no:cacheprovider -s $(PYTEST_ARGS)

screenshots: install
	SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest tests/browser -q

# After changing user-facing text: extract it into every language's .po file, then translate
# the new entries (needs GNU gettext's xgettext; compiling does not).
messages: install
	$(PY) manage.py makemessages --no-obsolete --no-location --ignore=tests/* --ignore=.venv/* --ignore=staticfiles/* --ignore=var/* --ignore=docs/* -l de -l es -l pt_BR -l zh_Hans
	$(PY) manage.py compilemessages

lock: install
	cd requirements && ../$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o base.txt base.in
	cd requirements && ../$(VENV)/bin/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links -o dev.txt dev.in

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
