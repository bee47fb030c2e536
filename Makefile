# make up      bring the platform up (installs what it needs; STACK=name picks a stack, default dev)
# make preview show what `make up` would change
# make down    destroy the stack's containers and network (data volumes are kept)
# make test    run the tests
PYTHON ?= python3
VENV := venv
STACK ?= dev

.PHONY: up preview down test install

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

up preview down: install
	$(VENV)/bin/python scripts/stack.py $@ --stack $(STACK)

test: install
	$(VENV)/bin/python -m pytest -q tests
