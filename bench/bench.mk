# ksysmon side by side with forkstat, bpftrace, perf and auditd
# (bench/bench_peers.py; results in bench/README.md, plot bench/peers.png).
#   make bench-peers                      the full comparison, about 25 minutes
#   make bench-peers PEERS_ARGS='--pairs 3 --storms exec,thread --tools ksysmon-json,perf'
PEERS_ARGS ?=

.PHONY: bench-peers bench-peers-deps

bench-peers-deps:
	@bash scripts/deps.sh --bench

# `make bench` runs it too (before the other benchmarks)
bench: bench-peers

bench-peers: $(BUILD)/ksysmon $(BUILD)/tests/workload | bench-peers-deps
	python3 bench/bench_peers.py --monitor $(BUILD)/ksysmon --workload $(BUILD)/tests/workload $(PEERS_ARGS)
