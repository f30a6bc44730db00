# Shared by scripts/cluster and bench/cluster_bench.sh: a local cluster of
# librdkafka's mock Kafka, nextbest nodes and HAProxy in $work (sourced).
# Needs: bin (the build dir), work (a temp dir), shards, replicas, partitions.

pids=()
cluster_stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# free_ports N: N different free loopback ports (held until all are chosen).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()
PY
}

# start_kafka: sets $brokers.
start_kafka() {
  "$bin/tools/nextbest-mock-kafka" --brokers=3 \
    --topics="nextbest.events:$partitions,nextbest.catalog:1,nextbest.models:1" \
    --bootstrap_file="$work/kafka.addr" >"$work/kafka.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$work/kafka.addr" ] && break; sleep 0.05; done
  brokers=$(cat "$work/kafka.addr")
  [ -f "$work/admin_token" ] || { openssl rand -hex 24 >"$work/admin_token"; chmod 600 "$work/admin_token"; }
}

# plan_nodes: node_shard, node_replica, node_port, node_agent, peers,
# haproxy_nodes; $nodes; proxy_port and stats_port.
plan_nodes() {
  local ports n=0
  read -r -a ports <<<"$(free_ports $((2 * shards * replicas + 2)))"
  peers="" haproxy_nodes=()
  for s in $(seq 0 $((shards - 1))); do
    for r in $(seq 0 $((replicas - 1))); do
      node_shard[$n]=$s node_replica[$n]=$r
      node_port[$n]=${ports[$((2 * n))]} node_agent[$n]=${ports[$((2 * n + 1))]}
      peers+="${peers:+,}$s@127.0.0.1:${node_port[$n]}"
      haproxy_nodes+=("--node=$s@127.0.0.1:${node_port[$n]}@${node_agent[$n]}")
      n=$((n + 1))
    done
  done
  nodes=$n
  proxy_port=${ports[$((2 * n))]} stats_port=${ports[$((2 * n + 1))]}
}

# start_node I [extra flags]: node I in $work/node-I.
start_node() {
  local i=$1
  shift
  "$bin/server/nextbest-server" --grpc_address="127.0.0.1:${node_port[$i]}" --http_address= \
    --metrics_address=127.0.0.1:0 --data_dir="$work/node-$i" \
    --admin_token_file="$work/admin_token" --kafka_brokers="$brokers" \
    --shards="$shards" --shard="${node_shard[$i]}" --replicas="$replicas" \
    --replica="${node_replica[$i]}" --peers="$peers" \
    --agent_address="127.0.0.1:${node_agent[$i]}" "$@" >>"$work/node-$i.log" 2>&1 &
  node_pid[$i]=$!
  pids+=($!)
}

# wait_serving I: until node I reports SERVING (caught up with the log).
wait_serving() {
  for _ in $(seq 1 3000); do
    [ "$(grep -c "SERVING" "$work/node-$1.log" 2>/dev/null)" -gt "${2:-0}" ] && return 0
    sleep 0.1
  done
  cat "$work/node-$1.log"
  return 1
}

# metrics_port I: node I's metrics port (from its log).
metrics_port() {
  sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$work/node-$1.log" | tail -1
}

# lag I: records of node I's shard not applied yet (-1 while unknown).
lag() {
  curl -s "127.0.0.1:$(metrics_port "$1")/metrics" |
    awk '/^nextbest_cluster_partition_lag/ {if ($2 < 0) u=1; s+=$2} END {print u ? -1 : s+0}'
}

# wait_applied I: until node I applied everything in the log.
wait_applied() {
  for _ in $(seq 1 6000); do
    [ "$(lag "$1")" = 0 ] && return 0
    sleep 0.05
  done
  return 1
}

# start_proxy: HAProxy on $proxy_port routing by x-customer-id.
start_proxy() {
  python3 deploy/haproxy/haproxy_config.py --listen "127.0.0.1:$proxy_port" \
    --partitions "$partitions" --shards "$shards" --lua "$PWD/deploy/haproxy/nextbest_shard.lua" \
    --stats "127.0.0.1:$stats_port" "${haproxy_nodes[@]}" >"$work/haproxy.cfg"
  haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  pids+=($!)
  sleep 0.5
}
