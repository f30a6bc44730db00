#!/usr/bin/env bash
# Recommend over HTTP/JSON (HTTP/2 and HTTP/1.1, h2load from Debian's
# nghttp2-client) against the same Recommend over gRPC (bench/load_driver),
# on one server with the demo retailer, 16 requests in flight each, phases
# alternating for ROUNDS rounds; figures are medians over rounds.
#   bench/http_bench.sh [customers=5000] [seconds=5] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-5000}; seconds=${2:-5}; rounds=${3:-3}
B=build/release
work=$(mktemp -d /var/tmp/nextbest-http-bench.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill -TERM $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$B/server/nextbest-server" --grpc_address=127.0.0.1:0 --metrics_address= \
  --http_address=127.0.0.1:0 --http_threads=${HTTP_THREADS:-2} --data_dir="$work/data" 2>"$work/log" &
pid=$!
until grep -q "serving gRPC" "$work/log"; do sleep 0.1; done
port=$(sed -n 's/.*serving gRPC on port \([0-9]*\).*/\1/p' "$work/log")
http=$(sed -n 's/.*HTTP on port \([0-9]*\).*/\1/p' "$work/log")
"$B/tools/nextbest" --target=127.0.0.1:$port --data_dir="$work/data" demo-data \
  --customers=$customers >/dev/null
placement=homepage.speciaal_voor_jou
printf '{"context":{"placement":"%s"}}' $placement >"$work/body.json"
for i in $(seq 1 $customers); do echo "http://127.0.0.1:$http/v1/customers/c$i:recommend"; done |
  shuf --random-source=<(yes) >"$work/uris"

percentiles() {  # h2load log (time status latency_us) -> "p50 p99"
  awk '{print $3}' "$1" | sort -n | awk '{a[NR]=$1} END {printf "%.1f %.1f", a[int(NR*0.5)], a[int(NR*0.99)]}'
}
h2() {  # name, extra h2load flags
  local name=$1; shift
  rm -f "$work/h2.log"
  h2load -D "$seconds" -d "$work/body.json" -i "$work/uris" -H 'content-type: application/json' \
    --log-file="$work/h2.log" "$@" >"$work/h2.out" 2>&1
  local rps; rps=$(sed -n 's/.*finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$work/h2.out")
  local failed; failed=$(sed -n 's/.*requests: .* \([0-9]*\) failed.*/\1/p' "$work/h2.out")
  echo "$name $(percentiles "$work/h2.log") $rps ${failed:-?}"
}
: >"$work/rounds"
for r in $(seq 1 $rounds); do
  g=$("$B/bench/nextbest-load" --target=127.0.0.1:$port --customers=$customers --concurrency=16 \
        --duration_s=$seconds --rounds=1 --kinds=$placement 2>/dev/null |
      awk -v k=$placement '$1 == k {print $2, $4, $6, $7}')
  echo "grpc $g" >>"$work/rounds"
  h2 http2 -c 4 -m 4 >>"$work/rounds"
  h2 http1 --h1 -c 16 >>"$work/rounds"
  tail -n 3 "$work/rounds" | sed "s/^/round $r: /" >&2
done
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-8s %10s %10s %10s\n' transport p50_us p99_us req/s
for t in grpc http2 http1; do
  p50=$(awk -v t=$t '$1==t {print $2}' "$work/rounds" | median)
  p99=$(awk -v t=$t '$1==t {print $3}' "$work/rounds" | median)
  rps=$(awk -v t=$t '$1==t {print $4}' "$work/rounds" | median)
  printf '%-8s %10s %10s %10s\n' $t "$p50" "$p99" "$rps"
  eval "${t}_p50=$p50 ${t}_p99=$p99 ${t}_rps=$rps"
done
awk -v a="$http2_p50" -v b="$grpc_p50" -v c="$http2_rps" -v d="$grpc_rps" \
    -v e="$http1_p50" -v f="$http1_rps" 'BEGIN {
  printf "http2_p50_over_grpc %.2f\nhttp2_throughput_over_grpc %.2f\n", a / b, c / d
  printf "http1_p50_over_grpc %.2f\nhttp1_throughput_over_grpc %.2f\n", e / b, f / d }'
