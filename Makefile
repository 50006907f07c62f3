# The two front-door commands are `make demo` and `make test`; each sets itself up.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo demo-compare stop test lint install migrate web worker gpu-worker beat flower clean

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
	./scripts/demo.sh

## Queue the demo comparison (uniform vs stat_sel, 3 seeds) for the demo's worker.
demo-compare: migrate
	$(PY) manage.py demo_compare

## Stop what `make demo` started.
stop:
	./scripts/stop.sh

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

## The Celery monitor (queues, workers, tasks) on http://127.0.0.1:5555/.
flower: install
	$(VENV)/bin/celery -A config flower --address=127.0.0.1 --port=5555

clean:
	rm -rf $(VENV) data staticfiles .pytest_cache .ruff_cache
