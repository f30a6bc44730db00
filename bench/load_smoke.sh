#!/usr/bin/env bash
# Smoke run of the load driver, so it cannot rot: a tiny server, a tiny
# demo retailer, one short round of every kind.
set -euo pipefail
server_bin=$1 cli_bin=$2 load_bin=$3
dir=$(mktemp -d)
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
"$server_bin" --grpc_address=127.0.0.1:0 --metrics_address= --http_address= --data_dir="$dir/data" 2>"$dir/log" &
pid=$!
for _ in $(seq 1 300); do grep -q "serving gRPC" "$dir/log" && break; sleep 0.1; done
port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$dir/log")
"$cli_bin" --target=127.0.0.1:$port --data_dir="$dir/data" demo-data --customers=30 --products=50 --stores=10 --days=30 >/dev/null
"$load_bin" --target=127.0.0.1:$port --customers=30 --duration_s=0.3 --rounds=1 --concurrency=4 \
  --kinds=ping,homepage.door_jou_bekeken,homepage.populair,checkout.vergeten,record | tee "$dir/out"
grep -q "^recommend_p50_over_ping [0-9.]*$" "$dir/out"
grep -q "^record_throughput_over_ping [0-9.]*$" "$dir/out"
# Open loop too.
"$load_bin" --target=127.0.0.1:$port --customers=30 --duration_s=0.3 --rounds=1 --rate=500 \
  --kinds=ping,homepage.populair | tee "$dir/open"
grep -q "^recommend_p99_over_ping [0-9.]*$" "$dir/open"
