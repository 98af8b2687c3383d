# cloud — build, test and demo targets. `make help` lists them.

GO          ?= go
VERSION     ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEMO_HOME   ?= $(CURDIR)/.demo
TOOLS_BIN   := $(CURDIR)/.tools/bin

# The Pulumi CLI built by `make pulumi` comes first on PATH for tests and the
# demo (the tests also find it in .tools/bin on their own).
TEST_ENV := PATH="$(TOOLS_BIN):$$PATH"

.DEFAULT_GOAL := build
.PHONY: help build cli stack stacks register-stacks pulumi providers browser dynamodb cognito wsclients test bench fuzz fuzz-smoke fuzz-check lint docs screenshots generate serve demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-8s %s\n", $$1, $$2 }'

build: cli stacks ## build the CLI and every stack

cli: ## build the CLI into bin/cloud
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o bin/cloud ./cmd/cloud

stack: ## build one stack: make stack STACK=network -> bin/stacks/network
	@if [ -z "$(STACK)" ]; then \
		echo "usage: make stack STACK=NAME; known stacks: $$(tools/install/stacks.sh --list | paste -sd' ' -)" >&2; \
		exit 2; \
	fi
	GO="$(GO)" tools/install/stacks.sh $(STACK)

stacks: ## build every stack into bin/stacks/
	GO="$(GO)" tools/install/stacks.sh

register-stacks: cli stacks ## build the AWS stack library and register it in the store of CLOUD_HOME
	@set -e; for s in $$(tools/install/stacks.sh --library); do bin/cloud register-stack "$$s"; done

pulumi: ## build the Pulumi CLI into .tools (first time ~7 min; then a no-op)
	tools/install/pulumi.sh

providers: ## build the local resource providers into .tools/bin (pulumi-resource-localfile)
	tools/install/providers.sh

browser: ## install Debian's chromium for the dashboard's headless-browser test (a no-op when present)
	tools/install/chromium.sh

dynamodb: ## install dynalite, the DynamoDB-compatible server the sync tests run against, into .tools
	tools/install/dynamodb-local.sh

cognito: ## install cognito-local, the Cognito-compatible server the authentication tests run against, into .tools
	tools/install/cognito-local.sh

wsclients: ## install the npm ws and graphql-ws clients the WebSocket protocol tests run against, into .tools
	tools/install/graphql-ws-clients.sh

test: pulumi providers browser dynamodb cognito wsclients build ## run the whole test suite against the real Pulumi engine
	$(TEST_ENV) $(GO) test -count=1 -timeout 40m ./...

bench: pulumi providers dynamodb build ## run every benchmark 3 times (the sync benchmarks need dynalite)
	$(TEST_ENV) $(GO) test -run '^$$' -bench . -benchtime 3x ./...

# Every fuzz target of the repository, as package:Function; fuzz-check
# fails when a `func Fuzz…` is missing here.
FUZZ_TARGETS := ./engine/manifest:FuzzParse ./engine/placeholder:FuzzParse ./graph:FuzzQuery \
	./server/rest:FuzzRequestParsing ./auth:FuzzVerify ./stacks/project:FuzzLoad ./sync/engine:FuzzTableKeys
FUZZTIME ?= 20s

fuzz: fuzz-check ## fuzz the manifest and placeholder parsers, GraphQL queries, REST requests, token checks, project declarations and sync table keys, 20 s each (FUZZTIME)
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t##*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t##*:}\$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; \
	done

fuzz-smoke: ## every fuzz target briefly (3 s each); not in .ci/run: the instrumented builds make it ~2 min warm, ~7 min cold on 2 cores
	@$(MAKE) --no-print-directory fuzz FUZZTIME=3s

fuzz-check: ## fail when a fuzz target of the repository is missing from FUZZ_TARGETS
	@missing=0; \
	for f in $$(git ls-files -co --exclude-standard '*_test.go'); do \
		[ -f "$$f" ] || continue; \
		for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			case " $(FUZZ_TARGETS) " in *" ./$$(dirname "$$f"):$$fn "*) ;; \
			*) echo "fuzz target $$fn of ./$$(dirname "$$f") is not in FUZZ_TARGETS (Makefile)" >&2; missing=1;; esac; \
		done; \
	done; \
	exit $$missing

lint: ## gofmt, go vet and staticcheck
	@files=$$( (git ls-files -co --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*') \
		| while read -r f; do [ -f "$$f" ] && echo "$$f"; done ); \
	[ -n "$$files" ] || exit 0; \
	unformatted=$$(gofmt -l $$files); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l: these files need gofmt -w:" >&2; echo "$$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

generate: ## regenerate the GraphQL code from graph/schema.graphqls (gqlgen)
	$(GO) generate ./graph/

serve: cli pulumi ## run `cloud serve` on 127.0.0.1:8080 with DEMO_HOME (default .demo)
	CLOUD_HOME="$(DEMO_HOME)" PATH="$(TOOLS_BIN):$$PATH" bin/cloud serve

docs: ## regenerate docs/cli.md from the command definitions, and the shared-code figures of docs/architecture.md
	$(GO) test ./cmd/cloud -run '^(TestCLIDocs|TestCodeShareFigures)$$' -update

screenshots: pulumi browser cognito ## refresh the pictures in docs/images from the monitor and dashboard tests
	CLOUD_SCREENSHOTS=$(CURDIR)/docs/images $(TEST_ENV) $(GO) test -count=1 -run '^(TestDashboardFollowsADeploy|TestDashboardSignIn)$$' ./server/web
	CLOUD_SCREENSHOTS=$(CURDIR)/docs/images $(TEST_ENV) $(GO) test -count=1 -run '^TestMonitorTUIFollowsRealDeploys$$' ./cmd/cloud

demo: cli pulumi providers ## deploy the 6-stack demo and the mixed kit + Pulumi-project demo into DEMO_HOME (default .demo)
	@set -e; \
	export CLOUD_HOME="$(DEMO_HOME)" PATH="$(TOOLS_BIN):$$PATH"; \
	echo "CLOUD_HOME=$$CLOUD_HOME"; \
	out=$$(bin/cloud init --template demo --org acme --project shop --domain shop.example.com); \
	id=$$(printf '%s\n' "$$out" | grep -oE '\bD[A-Z0-9]{6}\b' | tail -n 1); \
	if [ -z "$$id" ]; then echo "cloud init printed no deployment ID:" >&2; printf '%s\n' "$$out" >&2; exit 1; fi; \
	echo "deployment $$id"; \
	bin/cloud deploy -e dev "$$id"; \
	bin/cloud status -e dev "$$id"; \
	echo; \
	echo "A config change, previewed: the app's service is the one update"; \
	bin/cloud config set "$$id" stacks.app.config.replicas 3; \
	bin/cloud preview -e dev "$$id"; \
	echo; \
	echo "Pulumi projects as stacks: two Pulumi YAML projects between two kit stacks"; \
	bin/cloud register-stack stacks/projects/site; \
	bin/cloud register-stack stacks/projects/cdn; \
	out=$$(bin/cloud init --template projects --org acme --project web --domain web.example.com); \
	pid=$$(printf '%s\n' "$$out" | grep -oE '\bD[A-Z0-9]{6}\b' | tail -n 1); \
	bin/cloud deploy -e dev "$$pid"; \
	bin/cloud outputs -e dev "$$pid" site; \
	echo; \
	echo "next: CLOUD_HOME=$(DEMO_HOME) bin/cloud outputs -e dev $$id"

clean: ## remove bin/ and the demo home (keeps the Pulumi CLI in .tools)
	rm -rf bin "$(DEMO_HOME)"
