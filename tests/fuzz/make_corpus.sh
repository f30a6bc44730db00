#!/usr/bin/env bash
# Regenerates the checked-in seed corpora of the fuzz targets from readable
# sources: seeds/<target>/<selector>_<name>.txtpb (protobuf text format of
# the message the selector byte names in <target>_fuzz.cc) become
# corpus/<target>/<name> = selector byte + serialized message. The keys and
# config corpora are written directly (raw keys; config text).
# Usage: tests/fuzz/make_corpus.sh   (needs protoc; run after editing seeds/)
set -euo pipefail
cd "$(dirname "$0")"
root=../..

encode() {  # target selector message-type proto-file include-dir source
  local out="corpus/$1/$(basename "${6%.txtpb}")"
  { printf "\\x$(printf %02x "$2")"; protoc --encode="$3" -I "$5" -I /usr/include "$4" < "$6"; } > "$out"
}

declare -A request_types=(
  [0]=nextbest.v1.RecordEventsRequest [1]=nextbest.v1.StreamEventsRequest
  [2]=nextbest.v1.UpsertCustomersRequest [3]=nextbest.v1.UpsertProductsRequest
  [4]=nextbest.v1.UpsertStoresRequest [5]=nextbest.v1.SetStockRequest
  [6]=nextbest.v1.RecommendRequest [7]=nextbest.v1.SetConsentRequest [8]=nextbest.v1.Event
  [9]=nextbest.v1.DecideForAllRequest)
declare -A request_protos=(
  [0]=events [1]=events [2]=customers [3]=catalog [4]=catalog [5]=catalog
  [6]=decisions [7]=privacy [8]=events [9]=decisions)
mkdir -p corpus/requests corpus/records corpus/keys corpus/config
rm -f corpus/requests/* corpus/records/*
for f in seeds/requests/*.txtpb; do
  s=$(basename "$f"); s=${s%%_*}
  encode requests "$s" "${request_types[$s]}" "nextbest/v1/${request_protos[$s]}.proto" "$root/proto" "$f"
done

declare -A record_types=(
  [0]=CustomerRecord [1]=FeaturesRecord [2]=ProductRecord [3]=StockRecord
  [4]=PopularityRecord [5]=EventRecord [6]=StorePopularityRecord)
for f in seeds/records/*.txtpb; do
  s=$(basename "$f"); s=${s%%_*}
  encode records "$s" "nextbest.storage.v1.${record_types[$s]}" storage/records.proto "$root" "$f"
done

# Keys: event keys (id \0 time(8) event id) and two-customer inputs.
printf 'c1\0\x80\x00\x01\x99\x00\x00\x00\x00e1' > corpus/keys/event_key
printf 'c1\0\x7f\xff\xff\xff\xff\xff\xff\xffneg' > corpus/keys/negative_time
printf 'anna\xffannabel\xff\x80\x00\x01\x99\x00\x00\x00\x00\x80\x00\x01\x99\x00\x00\x00\x01e1\xffe2' > corpus/keys/two_customers
printf 'c1\0short' > corpus/keys/truncated

cp "$root/deploy/nextbest.textproto" corpus/config/shipped
cat > corpus/config/small <<'TXT'
markets: "NL"
markets: "BE"
segments { id: "jong" condition { max_age: 30 countries: "NL" } }
offers { id: "o1" type: PROMOTION title: "10%" placements: "callcenter.top3" priority: 2 value: 5
  eligibility { segments: "jong" rfm_segments: "champions" min_orders: 1 affinity_category: "Cat" min_affinity: 0.1 }
  per_customer_cap: 1 cap_period_days: 7 total_cap: 100 start: "2025-01-01" }
placements { id: "callcenter.top3" default_count: 3 max_count: 3
  sources { kind: OFFERS weight: 1 } sources { kind: TRENDING weight: 0.5 } sources { kind: CO_PURCHASE seed: HISTORY }
  max_per_category: 1 }
TXT
cat > corpus/config/scopes <<'TXT'
markets: "NL"
ingest { store_trending_keep: 100 }
features { max_brand_affinities: 4 max_known_sizes: 6 }
placements { id: "winkel" sources { kind: TRENDING scope: STORE limit: 20 } size_fit: false }
placements { id: "pdp" sources { kind: TRENDING scope: CATEGORY } sources { kind: BRAND_AFFINITY weight: 0.5 } max_per_category: 2 }
placements { id: "overall" sources { kind: TRENDING scope: OVERALL } }
TXT
printf 'markets: "NL" currency: "EURO"' > corpus/config/bad_currency
echo "corpora: $(ls corpus/requests | wc -l) requests, $(ls corpus/records | wc -l) records, $(ls corpus/keys | wc -l) keys, $(ls corpus/config | wc -l) config"
