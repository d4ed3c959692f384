# Two commands matter: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR ?= ./.data
# The DNS responder for EC2 aliases and server names (core/dns), UDP and TCP;
# `make run` runs it in the API process unless RUN_DNS=false.
DNS_PORT ?= 8053
RUN_DNS ?= true
# The all-in-one controller is one process: the in-process message bus and the
# simulated compute hosts live in it. Scale out with more nodes behind nginx.
WORKERS ?= 1
PYTEST_ARGS ?=
# `make stack`: the scale-out topology on this machine under supervisord (README,
# "The stack"), on the PostgreSQL (DB=mariadb: MariaDB) and RabbitMQ running here.
STACK_DIR ?= ./.stack
STACK_NAME ?= nimbus_stack
STACK_PORT ?= 8080
API_NODES ?= 2
API_WORKERS ?= 1
CONDUCTORS ?= 2
SCHEDULERS ?= 2
AGENTS ?= 8
DB ?= postgresql
STACK_ARGS ?=

export NIMBUS_HOST := $(HOST)
export NIMBUS_PORT := $(PORT)
export NIMBUS_DATA_DIR := $(DATA_DIR)
export NIMBUS_DNS_PORT := $(DNS_PORT)
ifdef ADMIN_PASSWORD
export NIMBUS_ADMIN_PASSWORD := $(ADMIN_PASSWORD)
endif

.PHONY: run test lint bench venv venv-dev clean stack stack-down stack-status

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.runtime
venv-dev: $(VENV)/.dev

run: export NIMBUS_RUN_DNS := $(RUN_DNS)
run: venv
	$(PY) -m core.manage bootstrap
	exec $(VENV)/bin/gunicorn -c gunicorn.conf.py --workers $(WORKERS) wsgi:app

stack: venv
	$(PY) -m deploy.stack up --dir $(STACK_DIR) --name $(STACK_NAME) --db $(DB) \
		--port $(STACK_PORT) --api-nodes $(API_NODES) --api-workers $(API_WORKERS) \
		--conductors $(CONDUCTORS) --schedulers $(SCHEDULERS) --agents $(AGENTS) \
		--dns-port $(DNS_PORT) $(STACK_ARGS)

stack-down: venv
	$(PY) -m deploy.stack down --dir $(STACK_DIR)

stack-status: venv
	$(PY) -m deploy.stack status --dir $(STACK_DIR)

test: venv-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv-dev
	$(VENV)/bin/ruff check core gateway tests bench deploy
	$(VENV)/bin/mypy core gateway
	$(PY) tools/check_architecture.py

bench: venv-dev
	$(PY) -m bench.bus
	$(PY) -m bench.boot_path
	$(PY) -m bench.identity
	$(PY) -m bench.image
	$(PY) -m bench.scheduler
	$(PY) -m bench.compute
	$(PY) -m bench.ec2

clean:
	rm -rf $(VENV) .pytest_cache
