# berth: the quick start is `make run` and `make test` on a fresh Debian
# machine, as root.

GO        ?= go
BIN       := bin/berth
IMAGE     := examples/images/kubia.tar
DATA      ?= .data
DEMO_REPO := $(DATA)/demo-repo
DEBS      := containerd runc git nftables containernetworking-plugins busybox-static e2fsprogs mount
TEST_DEBS := $(DEBS) docker-registry gnupg crun tmux prometheus chromium

.PHONY: run test unit e2e build images bench bench-large deps test-deps docs fuzz clean

build: $(BIN)

COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo +modified)
LDFLAGS := -X github.com/berth-dev/berth/api.commit=$(COMMIT)

$(BIN): $(shell find . -name '*.go' -not -path './.data/*') go.mod go.sum
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/berth
	$(GO) build -ldflags '$(LDFLAGS)' -o $(dir $(BIN))berth-agent ./cmd/berth-agent
	$(GO) build -o $(dir $(BIN))berth-logger ./cmd/berth-logger

images: $(IMAGE)

$(IMAGE): $(wildcard examples/kubia/*.go examples/imagebuild/*.go)
	$(GO) run ./examples/imagebuild -out $(IMAGE)

# deps installs the Debian packages berth needs, when they are missing;
# test-deps adds what the tests use (a real OCI registry).
deps test-deps:
	@missing=""; for p in $(if $(filter test-deps,$@),$(TEST_DEBS),$(DEBS)); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# run starts a one-machine cluster (master + agent + its own containerd)
# on a demo repository made from examples/repo.
run: deps build images
	@if [ ! -d $(DEMO_REPO)/.git ]; then \
		mkdir -p $(DEMO_REPO) && cp examples/repo/*.yaml $(DEMO_REPO)/ && \
		git -C $(DEMO_REPO) init -q -b main && \
		git -C $(DEMO_REPO) config user.name "berth demo" && git -C $(DEMO_REPO) config user.email demo@berth.localhost && \
		git -C $(DEMO_REPO) add -A && git -C $(DEMO_REPO) commit -q -m "kubia: the sample app"; \
	fi
	@echo
	@echo "berth is starting on the demo repository $(DEMO_REPO). In another shell:"
	@echo "  export KUBECONFIG=$(abspath $(DATA))/berth/admin.kubeconfig"
	@echo "  $(BIN) get pods -o wide            # the pods of the live commit"
	@echo "  curl localhost:30080               # the sample app answers through its Service"
	@echo "  curl localhost                     # and through the Ingress, on port 80"
	@echo "  $(BIN) get svc                     # the Service's cluster IP (curl it on port 80)"
	@echo "  cd $(DEMO_REPO) && sed -i 's/replicas: 3/replicas: 5/' kubia.yaml && git commit -qam 'scale to 5'"
	@echo "  $(BIN) wait && $(BIN) get pods     # the commit is live"
	@echo "  $(BIN) status                      # live commit, rejected commits"
	@echo "  $(BIN) token create --role viewer  # then open https://127.0.0.1:7070/ui/ and sign in with it"
	@echo "Stop with Ctrl-C."
	@echo
	$(BIN) up --repo $(DEMO_REPO) --data $(DATA)/berth --import $(IMAGE)

# test runs everything: formatting, vet, unit tests with -race, and the
# end-to-end tests on real containerd.
test: test-deps
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) vet -tags e2e ./e2e
	$(GO) test -race -count=1 ./...
	$(MAKE) fuzz FUZZTIME=20000x
	$(GO) test -tags e2e -count=1 -timeout 20m -v ./e2e

unit:
	$(GO) test -race -count=1 ./...

e2e: test-deps
	$(GO) test -tags e2e -count=1 -timeout 20m -v ./e2e

# bench runs the benchmark suite and prints one table of its figures
# (ids as in issue #8), with the machine; BENCH_JSON=FILE also writes them
# as a JSON array. B2 runs once, at the target's size: 1,000 hollow nodes
# and 30,000 pods (BENCH_SIM_NODES, BENCH_SIM_PODS).
BENCH_ROWS ?= $(DATA)/bench-rows.jsonl
BENCH_SIM_NODES ?= 1000
BENCH_SIM_PODS ?= 30000
bench: test-deps build
	@mkdir -p $(dir $(BENCH_ROWS)) && rm -f $(BENCH_ROWS)
	BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) $(GO) test -run '^$$' -bench . -benchtime 20x -count=1 ./gitsource
	BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) $(GO) test -run '^$$' -bench . -benchtime 3x -count=1 -timeout 20m ./reconciler
	BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) $(GO) test -run '^$$' -bench ApplyDuringSnapshot -benchtime 5x -count=1 ./raftstore
	BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) $(GO) test -run '^$$' -bench ClusterDNS -benchtime 3x -count=1 ./node/dns
	BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) $(GO) test -run '^$$' -bench PodNetwork -benchtime 20x -count=1 ./node/network
	BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) $(GO) test -tags e2e -run '^$$' -bench 'PushToLive|FloorVariants|AssignmentToRunning|CtrRun|Failover|Monorepo' \
		-benchtime 5x -count=1 -timeout 40m ./e2e
	BERTH_SIM_NODES=$(BENCH_SIM_NODES) BERTH_SIM_PODS=$(BENCH_SIM_PODS) BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) \
		$(GO) test -tags e2e -run '^$$' -bench 'HollowScale|HollowLongPoll|KubeAPI' -benchtime 1x -count=1 -timeout 40m ./e2e
	BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) $(GO) test -tags e2e -run '^$$' -bench 'AgentFootprint|Ingress|UITimeline' -benchtime 1x -count=1 ./e2e
	@echo
	@$(GO) run ./cmd/benchtable $(BENCH_ROWS)

# bench-large is B2 at Kubernetes' published limit: 5,000 hollow nodes and
# 150,000 pods from one commit, then a rolling update of all of them. It
# takes long and about 12 GiB of memory.
bench-large: test-deps
	@mkdir -p $(dir $(BENCH_ROWS)) && rm -f $(BENCH_ROWS)
	BERTH_SIM_NODES=5000 BERTH_SIM_PODS=150000 BERTH_BENCH_ROWS=$(abspath $(BENCH_ROWS)) \
		$(GO) test -tags e2e -run '^$$' -bench 'HollowScale' -benchtime 1x -count=1 -timeout 180m ./e2e
	@echo
	@$(GO) run ./cmd/benchtable $(BENCH_ROWS)

# docs regenerates docs/manifests.md from the table of implemented fields.
docs:
	BERTH_UPDATE_DOCS=1 $(GO) test -count=1 -run TestDocsUpToDate ./manifest

# fuzz runs each fuzz target for FUZZTIME (seed corpora in testdata/fuzz;
# FuzzApply's are the golden entries of raftstore/testdata/golden).
# A count, not a duration: Go 1.26's coordinator can fail a duration-bound
# run with "context deadline exceeded" and no crasher (golang/go#75804).
FUZZTIME ?= 200000x
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./manifest
	$(GO) test -run '^$$' -fuzz '^FuzzValidate$$' -fuzztime $(FUZZTIME) ./manifest
	$(GO) test -run '^$$' -fuzz '^FuzzApply$$' -fuzztime $(FUZZTIME) ./raftstore
	$(GO) test -run '^$$' -fuzz '^FuzzAnswer$$' -fuzztime $(FUZZTIME) ./node/dns
	$(GO) test -run '^$$' -fuzz '^FuzzParseToken$$' -fuzztime $(FUZZTIME) ./pki
	$(GO) test -run '^$$' -fuzz '^FuzzParseCSR$$' -fuzztime $(FUZZTIME) ./pki
	$(GO) test -run '^$$' -fuzz '^FuzzParseKubeconfig$$' -fuzztime $(FUZZTIME) ./client
	$(GO) test -run '^$$' -fuzz '^FuzzAuthenticate$$' -fuzztime $(FUZZTIME) ./auth
	$(GO) test -run '^$$' -fuzz '^FuzzDecryptSOPS$$' -fuzztime $(FUZZTIME) ./keyring
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME) ./kubeapi
	$(GO) test -run '^$$' -fuzz '^FuzzAccessReview$$' -fuzztime $(FUZZTIME) ./kubeapi

clean:
	rm -rf bin $(IMAGE)
