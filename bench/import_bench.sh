#!/usr/bin/env bash
# `nextbest import` at the retailer's size: 32,000 products (CSV), 700
# stores, their stock (700 x 200 products) and online stock in 6 markets,
# then ORDERS history orders (one order line each, 2 years, 250,000
# customers) — next to StreamEvents (bench/load_driver, chunks of 500) on
# the same server in the same run.
#   bench/import_bench.sh [orders=1000000]     (10000000: the issue's 10 M)
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-1000000}
B=build/release
work=$(mktemp -d /var/tmp/nextbest-import-bench.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill -TERM $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$B/server/nextbest-server" --grpc_address=127.0.0.1:0 --metrics_address= --http_address= \
  --data_dir="$work/data" 2>"$work/log" &
pid=$!
until grep -q "serving gRPC" "$work/log"; do sleep 0.1; done
port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/log")
cli() { "$B/tools/nextbest" --target=127.0.0.1:$port --data_dir="$work/data" --timeout_ms=600000 "$@"; }
seconds() { local s; s=$(date +%s.%N); "$@" >"$work/out" 2>"$work/err"; awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}'; }

awk 'BEGIN { print "product_id,name,category,brand,price,sizes"
  for (i = 1; i <= 32000; i++)
    printf "p%d,Product %d,Dept %d > Cat %d,Brand %d,%.2f,S|M|L\n", i, i, i % 40, i % 900, i % 300, 1 + (i % 5000) / 100 }' >"$work/products.csv"
awk 'BEGIN { split("NL BE LU FR DE AT", m, " "); print "store_id,country,name,city"
  for (s = 1; s <= 700; s++) printf "s%d,%s,HEMA %d,City %d\n", s, m[1 + s % 6], s, s }' >"$work/stores.csv"
awk 'BEGIN { split("NL BE LU FR DE AT", m, " "); print "product_id,online_country,store_id,quantity"
  for (i = 1; i <= 32000; i++) for (k = 1; k <= 6; k++) printf "p%d,%s,,%d\n", i, m[k], i % 20
  for (s = 1; s <= 700; s++) for (j = 0; j < 200; j++) printf "p%d,,s%d,%d\n", 1 + (s * 37 + j * 160) % 32000, s, j % 9 }' >"$work/stock.csv"
awk -v n=$orders 'BEGIN { print "order_id,customer_id,time,product_id,quantity,unit_price"
  t0 = systime() - 730 * 86400; srand(7)
  for (i = 0; i < n; i++)
    printf "o%d,c%d,%s,p%d,1,%.2f\n", i, 1 + int(rand() * 250000),
      strftime("%Y-%m-%d %H:%M:%S", t0 + int(i * (730 * 86400 / n)), 1), 1 + int(rand() * 32000), 2.5 }' \
  >"$work/orders.csv"

for kind in products stores stock; do
  lines=$(($(wc -l <"$work/$kind.csv") - 1))
  s=$(seconds cli import $kind --file="$work/$kind.csv" --batch=1000)
  tail -n 1 "$work/out" >&2
  awk -v k=$kind -v n=$lines -v s=$s 'BEGIN { printf "import_%s %d records in %.2f s = %.0f/s\n", k, n, s, n / s }'
done
s=$(seconds cli import events --file="$work/orders.csv" --batch=1000)
head -n 1 "$work/out" >&2
import_rate=$(awk -v n=$orders -v s=$s 'BEGIN { printf "%.0f", n / s }')
echo "import_events $orders events in $s s = $import_rate/s"
"$B/bench/nextbest-load" --target=127.0.0.1:$port --stream_chunk=500 --concurrency=1 \
  --duration_s=10 --rounds=1 --customers=250000 2>/dev/null >"$work/stream"
stream_rate=$(awk '$1 == "ingest_grpc_stream_events_per_s" {print $2}' "$work/stream")
echo "stream_events (StreamEvents, chunks of 500, one stream) $stream_rate/s"
awk -v a=$import_rate -v b=$stream_rate 'BEGIN { printf "import_over_stream_events %.2f\n", a / b }'
