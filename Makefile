# The two front-door commands are `make demo` and `make test`; each sets itself up.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint install migrate web worker gpu-worker beat clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

## Start the product on the embedded default (web + a worker, demo data seeded).
demo: migrate
	$(PY) manage.py seed_demo --reset-password
	./scripts/demo.sh

## Run the whole test suite (PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL are set).
test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

web: migrate
	STUDIO_DB_POOL=1 $(PY) manage.py runserver 127.0.0.1:8000

worker: install
	$(VENV)/bin/celery -A config worker -Q default -c 2 -n default@%h --loglevel INFO

gpu-worker: install
	./scripts/gpu-worker.sh

beat: install
	mkdir -p data
	$(VENV)/bin/celery -A config beat --loglevel INFO -s data/celerybeat-schedule

clean:
	rm -rf $(VENV) data staticfiles .pytest_cache .ruff_cache
