PYTHON ?= python3
VENV := venv
STACK ?= dev

.DEFAULT_GOAL := help
.PHONY: help up preview down forward check test install

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (STACK=name picks a stack, default dev)"

install: $(VENV)/.installed ## make the virtualenv with the pinned dependencies

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

up: install ## bring the platform up (pulumi up --refresh on stack STACK)
	$(VENV)/bin/python scripts/stack.py up --stack $(STACK)

preview: install ## show what `make up` would change (pulumi preview --refresh --diff)
	$(VENV)/bin/python scripts/stack.py preview --stack $(STACK)

down: install ## destroy the stack's containers and network (data volumes are kept)
	$(VENV)/bin/python scripts/stack.py down --stack $(STACK)

forward: install ## engine kubernetes: run the port forwards to every service until Ctrl-C
	$(VENV)/bin/python scripts/stack.py forward --stack $(STACK)

check: install ## ask every service its own question, as a client would (JSON=1 prints JSON)
	@$(VENV)/bin/python scripts/check.py --stack $(STACK)$(if $(JSON), --json)

# no bytecode, no pytest cache: the tests leave the project folder as they found it
test: install ## run the tests
	PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests
