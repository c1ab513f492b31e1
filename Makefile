# Etsy-Gen: the entry points people type. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
PYTEST_ARGS ?=
DEV_ARGS ?=

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(UV):
	@echo "uv not found: installing it with pip (python3 -m pip install --user uv)"
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

.PHONY: install
install: | $(UV) ## Create .venv from uv.lock (all services, dev tools)
	$(UV) sync --frozen

.PHONY: run
run: install ## Start the whole platform locally (embedded Kafka/Postgres/Redis unless their URLs are set)
	$(UV) run --frozen etsygen dev $(DEV_ARGS)

.PHONY: lint
lint: install ## ruff (lint + format check), mypy strict, schema compatibility, declared topics up to date
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy
	$(UV) run --frozen etsygen schemas check
	$(UV) run --frozen etsygen deploy topics --check
	$(UV) run --frozen etsygen metrics check

.PHONY: test-prerequisites
test-prerequisites: ## Install what the tests need beyond Python (Debian's chromium and prometheus for promtool)
	@bash scripts/test-prerequisites.sh

.PHONY: test
test: lint test-prerequisites ## Lint, type check, then unit, integration, e2e and browser tests (real Postgres, Redis, Tansu, Chromium)
	$(UV) run --frozen pytest $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: install ## Unit tests only (no services needed)
	$(UV) run --frozen pytest -m "not integration and not e2e and not browser" $(PYTEST_ARGS)

.PHONY: chaos
chaos: install ## Chaos suite: 200 jobs while every service is SIGKILLed 3x, the broker 2x, stores restart, the AI is down; then the same without broker kills
	$(UV) run --frozen python tests/chaos/chaos.py --jobs 200 --kills 3 --broker-kills 2 --compare --duration 240

.PHONY: bench
bench: install ## Benchmarks; each compares against a baseline in the same run and prints ratios
	$(UV) run --frozen python -m bench

.PHONY: schemas
schemas: install ## Export the event contracts' JSON Schemas into schemas/events
	$(UV) run --frozen etsygen schemas export

.PHONY: metrics-doc
metrics-doc: install ## Regenerate docs/metrics.md from the metric declarations of every service
	$(UV) run --frozen etsygen metrics catalogue

.PHONY: env-template
env-template: install ## Regenerate .env.template from the settings classes
	$(UV) run --frozen etsygen config template

.PHONY: up
up: ## Run the stack on Docker Compose (needs a Docker engine)
	docker compose up --build -d

.PHONY: down
down: ## Stop the Docker Compose stack
	docker compose down

.PHONY: k8s-validate
k8s-validate: ## Validate k8s overlays/components, compose, Prometheus/Grafana/OTel configs and the Dockerfile, offline
	bash scripts/k8s-validate.sh

.PHONY: clean
clean: ## Remove caches (keeps .data, the embedded stores' data)
	rm -rf .mypy_cache .ruff_cache .pytest_cache .hypothesis
