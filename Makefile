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

# Settings: the environment or the command line wins, then $(ENV_FILE), then
# the default, which lives in .env.example only (the host-side tools read it too).
envline = $(shell sed -n 's/^$(1)=//p' $(2) 2>/dev/null | tail -n1)
envget = $(or $(call envline,$(1),$(ENV_FILE)),$(call envline,$(1),.env.example))
NGINX_PORT := $(or $(NGINX_PORT),$(call envget,NGINX_PORT))
BLUE_PORT := $(or $(BLUE_PORT),$(call envget,BLUE_PORT))
GREEN_PORT := $(or $(GREEN_PORT),$(call envget,GREEN_PORT))
BLUE_REPLICAS := $(or $(BLUE_REPLICAS),$(call envget,BLUE_REPLICAS))
GREEN_REPLICAS := $(or $(GREEN_REPLICAS),$(call envget,GREEN_REPLICAS))
ACTIVE_POOL := $(or $(ACTIVE_POOL),$(call envget,ACTIVE_POOL))
POOL_CONTROL_DIR := $(or $(POOL_CONTROL_DIR),$(call envget,POOL_CONTROL_DIR))
# The pool serving now: the control volume's file once a switch wrote it,
# else the pool of the first start.
SERVING_POOL := $(or $(shell cat $(POOL_CONTROL_DIR)/serving-pool 2>/dev/null),$(ACTIVE_POOL))
WATCHER_HOST_PORT := $(or $(WATCHER_HOST_PORT),$(call envget,WATCHER_HOST_PORT))
CHAOS_TOKEN := $(or $(CHAOS_TOKEN),$(call envget,CHAOS_TOKEN))
PROMETHEUS_PORT := $(or $(PROMETHEUS_PORT),$(call envget,PROMETHEUS_PORT))
NGINX_CONNECT_TIMEOUT_MS := $(or $(NGINX_CONNECT_TIMEOUT_MS),$(call envget,NGINX_CONNECT_TIMEOUT_MS))
NGINX_READ_TIMEOUT_MS := $(or $(NGINX_READ_TIMEOUT_MS),$(call envget,NGINX_READ_TIMEOUT_MS))
NGINX_RETRY_TIMEOUT_MS := $(or $(NGINX_RETRY_TIMEOUT_MS),$(call envget,NGINX_RETRY_TIMEOUT_MS))

# Per-run arguments come from the command line only (`make chaos MODE=timeout`):
# a MODE or POOL left in the shell's environment must not change a drill.
$(foreach arg,POOL MODE RATE REPLICA FORCE RELEASE IMAGE REASON N RPS DURATION,$(if $(filter command line,$(origin $(arg))),,$(eval $(arg) :=)))
given = $(filter command line,$(origin $(1)))
POOL := $(or $(POOL),$(SERVING_POOL))
MODE := $(or $(MODE),error)
RATE := $(or $(RATE),1)
# A pool's replicas, one line each: index, container, state, address, direct port.
replicas = COMPOSE="$(COMPOSE)" scripts/replicas.sh $(1)
# The direct ports of a pool's running replicas, or of the one numbered $(2).
replica_ports = $(call replicas,$(1)) | awk -v r="$(2)" '$$5 != "-" && (r == "" || $$1 == r) { print $$5 }'
serving_pool = curl -fsS -D - -o /dev/null --max-time 5 http://127.0.0.1:$(NGINX_PORT)/version | tr -d '\r' | sed -n 's/^[Xx]-[Aa]pp-[Pp]ool: //p'

# Who ran a target, for the audit trail (make history).
AUDIT_WHO := $(or $(SUDO_USER),$(shell id -un 2>/dev/null),unknown)@$(shell hostname 2>/dev/null || echo unknown)
export AUDIT_WHO
ctl = $(COMPOSE) exec -T alert_watcher node dist/watcher/operator/ctl.js

.PHONY: help up up-monitoring down chaos chaos-stop switch release rollback history status logs maintenance-on maintenance-off test-alert check test bench drill kubernetes-files scale traffic version ready metrics clean purge

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(ENV_FILE):
	@scripts/new-env.sh $@

# Each replica publishes its own direct port: Compose would stop halfway with
# "port is already allocated" when the range is short, so say it first.
enough_ports = n=$(1); p=$(2); first=$${p%-*}; last=$${p\#*-}; \
	[ "$$((last - first + 1))" -ge "$$n" ] 2>/dev/null || { echo "up: config error: $(3)_REPLICAS=$$n needs $$n ports in $(3)_PORT, one per replica: a range such as $$first-$$((first + n - 1)) (got \"$$p\")" >&2; exit 2; }

# Nginx checks the retry bound against one replica (it is not told the
# counts, so scaling a pool never recreates it); with replicas, every primary
# replica may hang before the backup is tried, so the bound must outlast them all.
retry_covers = n=$$(( $(1) > $(2) ? $(1) : $(2) )); c=$(NGINX_CONNECT_TIMEOUT_MS); r=$(NGINX_READ_TIMEOUT_MS); s=$$(( c > r ? c : r )); \
	[ "$(NGINX_RETRY_TIMEOUT_MS)" -gt "$$((n * s))" ] 2>/dev/null || { echo "up: config error: NGINX_RETRY_TIMEOUT_MS=$(NGINX_RETRY_TIMEOUT_MS) must exceed $$n replicas x $$s ms (the slower of NGINX_CONNECT_TIMEOUT_MS and NGINX_READ_TIMEOUT_MS) = $$((n * s)) ms, or a request whose primary replicas all hang never reaches the backup" >&2; exit 2; }

up: $(ENV_FILE) ## Build and start the stack, wait until every service is healthy
	@$(call enough_ports,$(BLUE_REPLICAS),$(BLUE_PORT),BLUE)
	@$(call enough_ports,$(GREEN_REPLICAS),$(GREEN_PORT),GREEN)
	@$(call retry_covers,$(BLUE_REPLICAS),$(GREEN_REPLICAS))
	$(COMPOSE) up -d --build --wait --wait-timeout 180
	@echo "Stack is up: http://localhost:$(NGINX_PORT)/version, serving pool: $$($(serving_pool))"

up-monitoring: $(ENV_FILE) ## make up, plus Prometheus (profile monitoring) scraping the watcher, with monitoring/rules.yml
	@COMPOSE_PROFILES=monitoring $(MAKE) --no-print-directory up
	@echo "Prometheus: http://localhost:$(PROMETHEUS_PORT) (alerts: /alerts, targets: /targets)"

down: $(ENV_FILE) ## Stop and remove the containers (volumes and logs stay)
	$(COMPOSE_ALL) down

# CHAOS_TOKEN (optional) reaches curl through the environment and stdin, never
# on a command line that `ps` would show.
chaos chaos-stop: export CHAOS_TOKEN := $(CHAOS_TOKEN)
chaos_post = printf '%s\n' "$${CHAOS_TOKEN:+Authorization: Bearer $$CHAOS_TOKEN}" | curl -sS --fail-with-body -w '\n' -H @- -X POST

# A failed history write is a warning: the drill itself must go on.
audit = $(ctl) record --who "$$AUDIT_WHO" $(1) >/dev/null || echo "WARNING: not recorded in the history" >&2

# Without REPLICA every replica of the pool fails (a failover); with it one
# does, and the others serve (a degraded pool). make status lists the replicas.
chaos: $(ENV_FILE) ## Make a pool fail on purpose: MODE=error|timeout RATE=0..1 POOL=<serving pool> [REPLICA=<index>]
	@set -o pipefail; ports=$$($(call replica_ports,$(POOL),$(REPLICA))) || exit 1; \
	[ -n "$$ports" ] || { echo "chaos: no running $(POOL) replica $(REPLICA)" >&2; exit 1; }; \
	for port in $$ports; do $(chaos_post) "http://127.0.0.1:$$port/chaos/start?mode=$(MODE)&rate=$(RATE)" || exit 1; done
	@$(call audit,--action chaos_start --outcome ok --pool $(POOL) --reason "mode=$(MODE) rate=$(RATE)$(if $(REPLICA), replica=$(REPLICA))")

chaos-stop: $(ENV_FILE) ## End chaos on both pools, every replica
	@set -o pipefail; ports=$$($(call replica_ports,blue)) && ports="$$ports $$($(call replica_ports,green))" || exit 1; \
	for port in $$ports; do \
	  $(chaos_post) "http://127.0.0.1:$$port/chaos/stop" || exit 1; done
	@$(call audit,--action chaos_stop --outcome ok)

traffic: $(ENV_FILE) ## Steady requests through Nginx, a line a second per pool, until Ctrl-C: [RPS=5] [DURATION=<seconds>]
	@scripts/traffic.sh "$(or $(RPS),5)" "$(or $(DURATION),0)" "http://127.0.0.1:$(NGINX_PORT)/version"

switch: $(ENV_FILE) ## Planned switch of the serving pool: POOL=blue|green [FORCE=1]
	@$(MAKE) -s --no-print-directory $(RELEASE_TOOL)
	@COMPOSE="$(COMPOSE)" ENV_FILE="$(ENV_FILE)" FORCE="$(FORCE)" POOL_CONTROL_DIR="$(POOL_CONTROL_DIR)" NGINX_PORT="$(NGINX_PORT)" scripts/switch.sh "$(POOL)"
	@echo "Serving pool: $$($(serving_pool))"

# The pool's port range and the retry bound are checked for the new count first, as make up checks them.
scale_pool = $(if $(filter green,$(POOL)),GREEN,BLUE)
scale: $(ENV_FILE) ## Set a pool's replica count, kept in .env so make up and releases keep it: POOL=blue|green N=<1..20>
	@$(MAKE) -s --no-print-directory $(RELEASE_TOOL)
	@$(call enough_ports,$(N),$($(scale_pool)_PORT),$(scale_pool))
	@$(call retry_covers,$(N),$(if $(filter green,$(POOL)),$(BLUE_REPLICAS),$(GREEN_REPLICAS)))
	@COMPOSE="$(COMPOSE)" ENV_FILE="$(ENV_FILE)" scripts/scale.sh "$(POOL)" "$(N)"

# The release tool runs on the host (Node), compiled once per change of its sources.
RELEASE_TOOL := dist/ops/release/main.js
$(RELEASE_TOOL): node_modules $(shell find ops common watcher -name '*.ts') tsconfig.json tsconfig.bench.json
	npx tsc -p tsconfig.bench.json
	@touch $@

# Arguments reach the tool through the environment, never re-parsed by the shell.
release rollback: export RELEASE_ARG := $(RELEASE)
release rollback: export IMAGE_ARG := $(IMAGE)
release rollback: export POOL_ARG := $(if $(call given,POOL),$(POOL))
release rollback: export REASON_ARG := $(REASON)
release rollback: export COMPOSE := $(COMPOSE)
release rollback: export ENV_FILE := $(ENV_FILE)

release: $(ENV_FILE) $(RELEASE_TOOL) ## Ship a version to the idle pool, gate, promote, roll back if bad: RELEASE=<id> [IMAGE=<ref>]
	@node $(RELEASE_TOOL) release --release "$$RELEASE_ARG" --image "$$IMAGE_ARG" --pool "$$POOL_ARG"

rollback: $(ENV_FILE) $(RELEASE_TOOL) ## Back to the previous release (the other pool) at once: [REASON="..."] [FORCE=1]
	@node $(RELEASE_TOOL) rollback $(if $(filter 1,$(FORCE)),--force) $(if $(REASON),--reason "$$REASON_ARG")

history: $(ENV_FILE) ## The audit trail: releases, rollbacks, switches, chaos, maintenance (newest last)
	@$(ctl) history

version: $(ENV_FILE) ## Who answers a client right now: the public port's /version with its headers (X-App-Pool, X-Release-Id)
	@curl -sSi --max-time 5 http://127.0.0.1:$(NGINX_PORT)/version

ready: $(ENV_FILE) ## Each replica's /readyz on its direct port, both pools (503 while chaos is on)
	@COMPOSE="$(COMPOSE)" scripts/ready.sh

metrics: $(ENV_FILE) ## The watcher's Prometheus metrics (/metrics)
	@curl -sS --max-time 5 http://127.0.0.1:$(WATCHER_HOST_PORT)/metrics

status: $(ENV_FILE) ## Serving pool, health of each service, watcher stats
	@$(COMPOSE) ps --all --format 'table {{.Service}}\t{{.Status}}'
	@printf '\n%-6s %-8s %-28s %-10s %-15s %s\n' POOL REPLICA CONTAINER STATE ADDRESS PORT; \
	for pool in blue green; do $(call replicas,$$pool) | awk -v p=$$pool '{ printf "%-6s %-8s %-28s %-10s %-15s %s\n", p, $$1, $$2, $$3, $$4, $$5 }'; done
	@echo "Serving pool: $$($(serving_pool) || echo unknown)"
	@$(ctl) stats || echo "Watcher stats unavailable"
	@echo "Status page: http://localhost:$(WATCHER_HOST_PORT)/"

logs: $(ENV_FILE) ## Follow the logs of every service
	$(COMPOSE_ALL) logs -f --tail=100

maintenance-on: $(ENV_FILE) ## Hold back every alert (planned work), without a restart
	@$(ctl) maintenance on --who "$$AUDIT_WHO"

maintenance-off: $(ENV_FILE) ## Send alerts again
	@$(ctl) maintenance off --who "$$AUDIT_WHO"

test-alert: $(ENV_FILE) ## Post one marked test message down every configured path (Slack, Alertmanager), and print what each answered
	@$(ctl) test-alert --who "$$AUDIT_WHO"

node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch node_modules

check: node_modules ## Lint (the architecture's import rules too), typecheck and the unit tests: before every commit
	@npm run -s check

test: node_modules ## Run every test: make check first, then end to end (needs Docker)
	@scripts/prerequisites.sh && npm run -s check && npm run -s test:e2e

bench: node_modules ## Run the benchmarks (core, source, latency, proxy): tables and bench/results/*.json
	npm run bench

# The drill gets the stack's settings in its environment, resolved like the other
# targets'; the recipe is not echoed so CHAOS_TOKEN never shows. ARGS comes from
# the command line only, like MODE and POOL.
drill: $(ENV_FILE) node_modules ## Failover and release drill under load (starts the stack if down): ARGS="--rate 20 --seconds 5 --no-release"
	@ENV_FILE="$(ENV_FILE)" NGINX_PORT="$(NGINX_PORT)" BLUE_PORT="$(BLUE_PORT)" GREEN_PORT="$(GREEN_PORT)" \
	  WATCHER_HOST_PORT="$(WATCHER_HOST_PORT)" ACTIVE_POOL="$(ACTIVE_POOL)" POOL_CONTROL_DIR="$(POOL_CONTROL_DIR)" CHAOS_TOKEN="$(CHAOS_TOKEN)" \
	  npm run -s drill -- $(if $(filter command line,$(origin ARGS)),$(ARGS))

kubernetes-files: ## Copy the files deploy/kubernetes shares with Compose (Nginx template, Alertmanager config) into it
	@scripts/k8s-files.sh

clean: ## Remove containers, volumes (access log, control files, the switched pool) and build output
	-[ -f $(ENV_FILE) ] && $(COMPOSE_ALL) down -v --remove-orphans
	rm -rf dist bench/results coverage
	rm -f $(POOL_CONTROL_DIR)/serving-pool

# Every tag of the two images this stack builds (IMAGE_TAG's, and make release's
# bluegreen-node:<release>); base images (node, nginx, prometheus) stay, as
# another project may use them.
purge: clean ## make clean, plus every image the stack built (bluegreen-node:*, bluegreen-nginx:*)
	docker image ls --format '{{.Repository}}:{{.Tag}}' --filter reference=bluegreen-node --filter reference=bluegreen-nginx | xargs -r docker image rm
