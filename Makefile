# agentcloud: the commands a developer and CI use. `make help` lists them.
GO        ?= go
BIN       := bin
PKGS      := ./...
# Race-test timeout: the suite runs real processes and SQLite; keep slack for 2 cores.
TEST_TIMEOUT ?= 15m

.PHONY: help build run test lint fmt-check vet components bench clean agent-image activemq activemq-stop

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build cloudmgr, master and agent (static) into ./bin
	CGO_ENABLED=0 $(GO) build -o $(BIN)/ ./cmd/cloudmgr ./cmd/master ./cmd/agent

run: build ## run the whole product on this machine (master, embedded broker, cloudmgr, local agents)
	./examples/local/run.sh

agent-image: ## build the agent's Docker image (FROM scratch, no registry needed); AGENT_IMAGE=tag to name it
	./images/agent/build.sh

activemq: ## start a local ActiveMQ on stomp://127.0.0.1:61613 (installs it if missing)
	./images/activemq/start.sh

activemq-stop: ## stop the local ActiveMQ
	./images/activemq/stop.sh

components: ## install the real components the tests use (ActiveMQ, promtool, facter, packer, chromium, ...) if missing
	./.ci/components.sh

fmt-check: ## fail if any Go file is not gofmt-ed
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

lint: fmt-check vet ## gofmt check and go vet

test: components lint build ## the full test suite: gofmt, vet, race tests (the README's test command)
	$(GO) test -race -timeout $(TEST_TIMEOUT) -count=1 $(PKGS)

bench: ## run every benchmark and print the figures (see docs/BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m $(PKGS)

clean: ## remove built binaries and local state
	rm -rf $(BIN) var
