# Blue/green stack. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ENV_FILE ?= .env
# One .env syntax for every reader (docs/configuration.md): a line that Make,
# Compose and the tools would read differently stops make here, one line each.
$(if $(shell scripts/check-env.sh $(ENV_FILE) || echo bad),$(error $(ENV_FILE): fix the lines above))
COMPOSE ?= docker compose --env-file $(ENV_FILE)
# Also the optional profiles' services (Prometheus; the second Nginx + watcher
# and Alertmanager): Compose leaves a running container of an inactive profile
# alone, so down, clean and logs name them.
COMPOSE_ALL = $(COMPOSE) --profile monitoring --profile alertmanager

# Per-run arguments come from make's command line only (`make chaos MODE=timeout`):
# each reaches the CLI as ARG_<NAME>, never re-parsed by a shell, and one left
# in the shell's environment must not change a drill. Settings (ports, pools)
# the CLI reads itself: the command line, the environment, $(ENV_FILE), then
# .env.example (ops/stack/settings.ts).
RUN_ARGS := MODE RATE POOL REPLICA FORCE RELEASE IMAGE REASON N RPS DURATION
given = $(filter command line,$(origin $(1)))
$(foreach arg,$(RUN_ARGS),$(if $(call given,$(arg)),$(eval export ARG_$(arg) = $$($(arg))),$(eval unexport ARG_$(arg))))
export ENV_FILE

# The host-side CLI (ops/cli/main.ts), compiled once per change of its sources.
CLI := dist/ops/cli/main.js
cli = @node $(CLI)

.PHONY: help up up-monitoring down chaos chaos-stop switch release rollback history status logs maintenance-on maintenance-off test-alert check test bench drill kubernetes-files gallery scale traffic screenshot version ready metrics clean purge

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(ENV_FILE):
	@scripts/new-env.sh $@

up: $(ENV_FILE) $(CLI) ## Build and start the stack, wait until every service is healthy
	$(cli) up

up-monitoring: $(ENV_FILE) ## make up, plus Prometheus (profile monitoring) scraping the watcher, with monitoring/rules.yml
	@COMPOSE_PROFILES=monitoring $(MAKE) --no-print-directory up

down: $(ENV_FILE) ## Stop and remove the containers (volumes and logs stay)
	$(COMPOSE_ALL) down

# Without REPLICA every replica of the pool fails (a failover); with it one
# does, and the others serve (a degraded pool). make status lists the replicas.
chaos: $(ENV_FILE) $(CLI) ## Make a pool fail on purpose: MODE=error|timeout RATE=0..1 POOL=<serving pool> [REPLICA=<index>]
	$(cli) chaos

chaos-stop: $(ENV_FILE) $(CLI) ## End chaos on both pools, every replica
	$(cli) chaos-stop

traffic: $(ENV_FILE) $(CLI) ## Steady requests through Nginx, a line a second per pool, until Ctrl-C: [RPS=5] [DURATION=<seconds>]
	$(cli) traffic

screenshot: $(ENV_FILE) $(CLI) ## Take docs/status-page.png from the running stack during a real failover (needs Chromium), then heal it
	$(cli) screenshot

switch: $(ENV_FILE) $(CLI) ## Planned switch of the serving pool: POOL=blue|green [FORCE=1]
	$(cli) switch

scale: $(ENV_FILE) $(CLI) ## Set a pool's replica count, kept in .env so make up and releases keep it: POOL=blue|green N=<1..20>
	$(cli) scale

$(CLI): node_modules $(shell find ops common watcher -name '*.ts') tsconfig.json tsconfig.bench.json
	npx tsc -p tsconfig.bench.json
	@touch $@

release: $(ENV_FILE) $(CLI) ## Ship a version to the idle pool, gate, promote, roll back if bad: RELEASE=<id> [IMAGE=<ref>]
	$(cli) release

rollback: $(ENV_FILE) $(CLI) ## Back to the previous release (the other pool) at once: [REASON="..."] [FORCE=1]
	$(cli) rollback

history: $(ENV_FILE) $(CLI) ## The audit trail: releases, rollbacks, switches, chaos, maintenance (newest last)
	$(cli) history

version: $(ENV_FILE) $(CLI) ## Who answers a client right now: the public port's /version with its headers (X-App-Pool, X-Release-Id)
	$(cli) version

ready: $(ENV_FILE) $(CLI) ## Each replica's /readyz on its direct port, both pools (503 while chaos is on)
	$(cli) ready

metrics: $(ENV_FILE) $(CLI) ## The watcher's Prometheus metrics (/metrics)
	$(cli) metrics

status: $(ENV_FILE) $(CLI) ## Serving pool, health of each service, watcher stats
	$(cli) status

logs: $(ENV_FILE) ## Follow the logs of every service
	$(COMPOSE_ALL) logs -f --tail=100

maintenance-on: $(ENV_FILE) $(CLI) ## Hold back every alert (planned work), without a restart
	$(cli) maintenance on

maintenance-off: $(ENV_FILE) $(CLI) ## Send alerts again
	$(cli) maintenance off

test-alert: $(ENV_FILE) $(CLI) ## Post one marked test message down every configured path (Slack, Alertmanager), and print what each answered
	$(cli) test-alert

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

check: node_modules ## Lint (the architecture's import rules too), typecheck and the unit tests: before every commit
	@npm run -s check

test: node_modules ## Run every test: make check first, then end to end (needs Docker)
	@scripts/prerequisites.sh && npm run -s check && npm run -s test:e2e

bench: node_modules ## Run the benchmarks (core, source, latency, proxy): tables and bench/results/*.json
	npm run bench

# The drill reads the stack's settings as the CLI does (ENV_FILE is exported).
# ARGS comes from the command line only, like MODE and POOL.
drill: $(ENV_FILE) node_modules ## Failover and release drill under load (starts the stack if down): ARGS="--rate 20 --seconds 5 --no-release"
	@npm run -s drill -- $(if $(call given,ARGS),$(ARGS))

kubernetes-files: ## Copy the files deploy/kubernetes shares with Compose (Nginx template, Alertmanager config) into it
	@scripts/k8s-files.sh

# Generated from the watcher's code (gallery/): make check fails while they differ from it.
gallery: node_modules ## Rewrite the alert gallery (docs/alerts.md) and the README's example failover from the watcher's Slack formatting
	@npm run -s gallery

# Without the CLI (clean removes dist/): POOL_CONTROL_DIR from the env file, else .env.example.
clean: ## Remove containers, volumes (access log, control files, the switched pool) and build output
	-[ -f $(ENV_FILE) ] && $(COMPOSE_ALL) down -v --remove-orphans
	rm -rf dist bench/results coverage
	rm -f "$$(sed -n 's/^POOL_CONTROL_DIR=//p' .env.example $(wildcard $(ENV_FILE)) | tail -n1)/serving-pool"

# Every tag of the two images this stack builds (IMAGE_TAG's, and make release's
# bluegreen-node:<release>); base images (node, nginx, prometheus) stay, as
# another project may use them.
purge: clean ## make clean, plus every image the stack built (bluegreen-node:*, bluegreen-nginx:*)
	docker image ls --format '{{.Repository}}:{{.Tag}}' --filter reference=bluegreen-node --filter reference=bluegreen-nginx | xargs -r docker image rm
