# Newsroom: set-up, run and test. `make run` and `make test` are all a new machine needs.
VENV     := .venv
BIN      := $(VENV)/bin
PYTHON   := $(BIN)/python
STAMP    := $(VENV)/.installed
HOST     ?= 127.0.0.1
PORT     ?= 8000

# Find Python >= 3.12: python3.13 or python3.12 on PATH, else a pyenv install of either.
FIND_PYTHON = for c in python3.13 python3.12 \
	  $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null) \
	  $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12 2>/dev/null); do \
	  if $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then echo $$c; break; fi; \
	done

.PHONY: run serve worker bench soak test test-slow test-browser install migrate demo check clean lock

# Local development runs with DEBUG on unless the environment says otherwise: `make migrate`
# (and so `make run`) writes DEBUG=1 into the git-ignored .env once, which the settings read
# for every manage.py command run by hand too; a variable in the environment wins over it.
check: export DEBUG ?= 1
ENV_FILE := .env

$(ENV_FILE):
	@printf '%s\n' \
	  '# Development settings for this checkout, written once by make run / make migrate (git-ignored).' \
	  '# newsroom/settings.py reads them; a variable set in the environment wins. Never used in production:' \
	  '# make serve sets DEBUG=0 and needs SECRET_KEY from the environment.' \
	  'DEBUG=1' > $@.tmp && mv $@.tmp $@
	@echo "Wrote $@ (DEBUG=1, for development only)"

$(STAMP): requirements-dev.lock
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then \
	  echo "error: Python 3.12 or newer is needed (looked for python3.13 and python3.12 on PATH and in pyenv)." >&2; exit 1; \
	fi; \
	echo "Using $$py ($$($$py --version))"; \
	[ -x $(PYTHON) ] || $$py -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $(STAMP)

install: $(STAMP)

migrate: install | $(ENV_FILE)
	$(PYTHON) manage.py migrate --noinput

demo: migrate
	$(PYTHON) manage.py load_demo

run: demo
	$(PYTHON) manage.py runserver $(HOST):$(PORT)

# Production mode: DEBUG off, hashed and compressed static files, gunicorn. Needs SECRET_KEY
# (and usually DATABASE_URL, REDIS_URL, ALLOWED_HOSTS) in the environment.
serve: install
	DEBUG=0 $(PYTHON) manage.py collectstatic --noinput -v0
	DEBUG=0 $(PYTHON) manage.py migrate --noinput
	DEBUG=0 $(BIN)/gunicorn newsroom.wsgi -c newsroom/gunicorn.conf.py

# The task worker (django-tasks-db): runs the e-mails and image renditions that app servers
# started with TASKS_BACKEND=django_tasks_db.DatabaseBackend queue. Same environment as they
# have (DATABASE_URL, MEDIA_*, EMAIL_*); WORKER_ARGS adds db_worker's options (e.g. --batch).
worker: export TASKS_BACKEND ?= django_tasks_db.DatabaseBackend
worker: install
	$(PYTHON) manage.py db_worker --no-reload $(WORKER_ARGS)

# The benchmark: seeds PostgreSQL, serves with gunicorn (2 workers), drives it with wrk,
# prints the table and writes BENCHMARKS.md. BENCH_STORIES sets the number of stories.
bench: install
	$(PYTHON) bench/run.py

# Sustained mixed load (reads + an editor saving + a moderator publishing) for SOAK_SECONDS.
soak: install
	$(PYTHON) bench/soak.py

# The suite in two processes (pytest-xdist; a file's tests stay in one, so files that share
# a Redis database or a server never overlap). MARKS picks the tests: the quick suite by
# default; `make test-slow` runs the long sweeps; CI's PostgreSQL pass runs both.
MARKS ?= not browser and not slow
WORKERS ?= 2
test: install
	$(PYTHON) -m pytest -n $(WORKERS) --dist loadfile -m "$(MARKS)" $(PYTEST_ARGS)

test-slow: install
	$(PYTHON) -m pytest -n $(WORKERS) --dist loadfile -m slow $(PYTEST_ARGS)

# Browser tests: Playwright driving Debian's Chromium (apt-get install chromium).
test-browser: install
	$(PYTHON) -m pytest tests/browser -m browser -p no:cacheprovider $(PYTEST_ARGS)

# Lint and format (ruff), Django's system checks, and no model change without its migration.
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PYTHON) manage.py check
	$(PYTHON) manage.py makemigrations --check --dry-run

# Regenerate the locks after editing pyproject.toml (needs pip-tools in the venv).
lock: install
	$(PYTHON) -m pip install --quiet pip-tools
	$(BIN)/pip-compile -q --strip-extras --generate-hashes -o requirements.lock pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --generate-hashes --extra test -o requirements-dev.lock pyproject.toml

clean:
	rm -rf $(VENV) db.sqlite3 media .pytest_cache
