# The two set-up commands: `make run` and `make test`. Both create the venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test format bench messages clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Development server: SQLite unless DATABASE_URL is set; DEBUG on and ISSUER following
# HOST:PORT unless set.
RUN_ENV = DEBUG=$${DEBUG:-true} ISSUER=$${ISSUER:-http://$(HOST):$(PORT)}
run: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --noinput
	$(RUN_ENV) $(PY) manage.py bootstrapdemo
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

# Lint, format check, then the whole suite (browser tests need /usr/bin/chromium).
test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=false CONN_MAX_AGE=0 SECRET_KEY=$${SECRET_KEY:-test-only-secret-key-not-for-production-0123456789abcdef} \
		$(PY) -m pytest $(PYTEST_ARGS)

# Load test on PostgreSQL (DATABASE_URL, default the local `test` database) with wrk.
bench: $(VENV)/.installed
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/run.py $(BENCH_ARGS)

# Translations: refresh locale/ru/LC_MESSAGES/django.po from the code, then compile the
# .mo that is committed (so neither `make run` nor CI needs gettext). Needs GNU gettext.
messages: $(VENV)/.installed
	command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext)
	DEBUG=true $(PY) manage.py makemessages -l ru --no-obsolete --ignore=.venv --ignore=venv \
		--ignore=bench --ignore=tests --ignore=resource_server --ignore=examples
	DEBUG=true $(PY) manage.py compilemessages -l ru --ignore=.venv --ignore=venv

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
