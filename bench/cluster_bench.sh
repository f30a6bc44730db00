#!/usr/bin/env bash
# The cluster's figures for bench/RESULTS.md, on one machine (noisy: 2
# cores shared by Kafka, four nodes, HAProxy and the load):
#   1. ingest: the demo retailer through the proxy into Kafka (acknowledged
#      once Kafka has it) and until every node applied its shard, next to
#      the same load into a single process (durable gRPC acknowledgements);
#   2. Recommend through HAProxy (routed by customer: zero hops) vs direct
#      to a node answering itself, and with the forwarding hop (a node asked
#      for every customer: half of them belong to the other shard);
#   3. failover: load through the proxy while one replica is killed (-9):
#      errors and the worst latency seen;
#   4. bootstrap: a wiped replica rebuilt from the log, events per second.
# Usage: bench/cluster_bench.sh [--customers=2000]   (build/release must be built)
set -euo pipefail
cd "$(dirname "$0")/.."
customers=2000
case "${1:-}" in --customers=*) customers=${1#--customers=} ;; esac
bin=$PWD/build/release
work=$(mktemp -d /tmp/nextbest-cluster-bench.XXXXXX)
shards=2 replicas=2 partitions=12
declare -a node_shard node_replica node_port node_agent node_pid
# shellcheck source=scripts/lib/cluster.sh
source scripts/lib/cluster.sh
single=""
trap 'cluster_stop; [ -n "$single" ] && kill -TERM $single 2>/dev/null; rm -rf "$work"' EXIT
now() { date +%s.%N; }

start_kafka
plan_nodes
for i in $(seq 0 $((nodes - 1))); do start_node "$i"; done
for i in $(seq 0 $((nodes - 1))); do wait_serving "$i"; done
start_proxy
proxy=127.0.0.1:$proxy_port
cli() { "$bin/tools/nextbest" --admin_token_file="$work/admin_token" "$@"; }

echo "== 1. ingest: demo retailer ($customers customers)"
t0=$(now)
out=$(cli --target="$proxy" demo-data --customers="$customers" --stores=50 2>&1)
t1=$(now)
for i in $(seq 0 $((nodes - 1))); do wait_applied "$i"; done
t2=$(now)
events=$(echo "$out" | sed -n 's/.* \([0-9]*\) events recorded.*/\1/p')
echo "$out" | grep "events recorded"
printf "cluster: %d events acknowledged by Kafka in %.2f s (%.0f/s); applied on every node after %.2f s (%.0f/s)\n" \
  "$events" "$(echo "$t1 - $t0" | bc)" "$(echo "$events / ($t1 - $t0)" | bc -l)" \
  "$(echo "$t2 - $t0" | bc)" "$(echo "$events / ($t2 - $t0)" | bc -l)"
"$bin/server/nextbest-server" --grpc_address=127.0.0.1:0 --metrics_address= --http_address= \
  --data_dir="$work/single" --admin_token_file="$work/admin_token" 2>"$work/single.log" &
single=$!
for _ in $(seq 1 300); do grep -q "serving gRPC" "$work/single.log" && break; sleep 0.1; done
sport=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/single.log")
t0=$(now)
out=$(cli --target="127.0.0.1:$sport" demo-data --customers="$customers" --stores=50 2>&1)
t1=$(now)
echo "$out" | grep "events recorded"
printf "single process: %d events durable in %.2f s (%.0f/s), models rebuild included\n" \
  "$events" "$(echo "$t1 - $t0" | bc)" "$(echo "$events / ($t1 - $t0)" | bc -l)"
kill -TERM $single; wait $single 2>/dev/null || true; single=""

for i in $(seq 0 $((nodes - 1))); do cli --target="127.0.0.1:${node_port[$i]}" rebuild-models >/dev/null; done
load() { "$bin/bench/nextbest-load" --kinds=homepage.door_jou_bekeken --customers="$customers" \
  --concurrency=8 --duration_s=3 --rounds=3 "$@" 2>/dev/null | sed -n 2p; }
echo
echo "== 2. Recommend (homepage.door_jou_bekeken, 8 in flight, median of 3 rounds)"
printf "%-44s %s\n" "" "kind p50_us p90_us p99_us p99.9_us req/s errors"
printf "%-44s %s\n" "direct to a node, answered there" "$(load --target="127.0.0.1:${node_port[0]}" --answer_here)"
printf "%-44s %s\n" "through HAProxy, routed by customer (0 hops)" "$(load --target="$proxy" --routing_header)"
printf "%-44s %s\n" "direct to a node, half forwarded (1 hop)" "$(load --target="127.0.0.1:${node_port[0]}")"

echo
echo "== 3. failover: kill -9 a replica of shard 0 during 4 s of load through the proxy"
( sleep 2; kill -KILL "${node_pid[0]}" ) 2>/dev/null &
killer=$!
"$bin/bench/nextbest-load" --kinds=homepage.door_jou_bekeken --customers="$customers" \
  --concurrency=8 --duration_s=4 --rounds=1 --target="$proxy" --routing_header 2>&1 |
  grep -E "round 0|first error" || true
wait "$killer" "${node_pid[0]}" 2>/dev/null || true

echo
echo "== 4. bootstrap: the killed replica, wiped, rebuilt from the log"
shard_events=$(curl -s "127.0.0.1:$(metrics_port 1)/metrics" |
  awk '/^nextbest_cluster_partition_applied_offset/ {s+=$2} END {print s}')
rm -rf "$work/node-0"
: >"$work/node-0.log"
t0=$(now)
start_node 0
wait_serving 0
wait_applied 0
t1=$(now)
printf "bootstrap: %d records of shard 0 in %.2f s (%.0f records/s: %.1f s per million)\n" \
  "$shard_events" "$(echo "$t1 - $t0" | bc)" "$(echo "$shard_events / ($t1 - $t0)" | bc -l)" \
  "$(echo "($t1 - $t0) * 1000000 / $shard_events" | bc -l)"
