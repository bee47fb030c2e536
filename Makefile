PYTHON ?= python3
VENV := venv
STACK ?= dev

.DEFAULT_GOAL := help
.PHONY: help up preview down forward ps logs restart shell tunnel drop-data check test install

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  (STACK=name picks a stack, default dev; S=service picks a service: make logs S=kafka-1)"

install: $(VENV)/.installed ## make the virtualenv with the pinned dependencies

# once, and again when requirements.txt changes: about a minute, said before it starts
$(VENV)/.installed: requirements.txt
	@echo "Installing the Python dependencies into $(VENV)/ (once; about a minute)..."
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@
	@echo "Installed the Python dependencies into $(VENV)/."

up: install ## bring the platform up on stack STACK (nothing changed: one line; REFRESH=1 reads everything back)
	$(VENV)/bin/python commands/stack.py up --stack $(STACK)$(if $(filter 1 yes true,$(REFRESH)), --refresh)

preview: install ## show what `make up` would change (pulumi preview --refresh --diff)
	$(VENV)/bin/python commands/stack.py preview --stack $(STACK)

down: install ## destroy the stack's containers and network (data volumes are kept)
	$(VENV)/bin/python commands/stack.py down --stack $(STACK)

forward: install ## engine kubernetes: run the port forwards to every service until Ctrl-C
	$(VENV)/bin/python commands/stack.py forward --stack $(STACK)

ps: install ## every service of the stack: state, health, restarts, address (docker compose ps)
	$(VENV)/bin/python commands/daytoday.py ps --stack $(STACK)

logs: install ## S=service: its recent log lines; F=1 follows them (docker compose logs -f)
	$(VENV)/bin/python commands/daytoday.py logs --stack $(STACK) --service "$(S)" $(if $(F),--follow)

restart: install ## S=service: restart it on the same data, until healthy (docker compose restart)
	$(VENV)/bin/python commands/daytoday.py restart --stack $(STACK) --service "$(S)"

shell: install ## S=service: a shell inside it (docker compose exec S bash)
	$(VENV)/bin/python commands/daytoday.py shell --stack $(STACK) --service "$(S)"

tunnel: install ## engine docker on a server: print the ssh command tunnelling every port the stack publishes
	@$(VENV)/bin/python commands/tunnel.py --stack $(STACK) $(if $(SSH),--ssh $(SSH))

drop-data: install ## after `make down`: delete this stack's data volumes or claims, asking first (YES=1: without)
	$(VENV)/bin/python commands/drop_data.py --stack $(STACK) $(if $(filter 1 yes true,$(YES)),--yes) $(if $(filter 1 yes true,$(LEGACY)),--legacy)

check: install ## ask every service its own question, as a client would (JSON=1 prints JSON)
	@$(VENV)/bin/python commands/check.py --stack $(STACK)$(if $(JSON), --json)

# no bytecode, no pytest cache: the tests leave the project folder as they found it
test: install ## run the tests
	PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests
