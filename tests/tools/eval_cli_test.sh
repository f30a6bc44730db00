#!/usr/bin/env bash
# `nextbest world` + `nextbest eval` as a user runs them: two processes on
# the same log print the same table and the same model fingerprint (the
# neighbours are deterministic across processes), no answer holds a bought
# durable, and the personal placements beat the popularity baseline.
set -euo pipefail
nextbest="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$nextbest" world --world=hard --customers=800 --products=1000 --days=180 --seed=11 \
  --events="$dir/e.csv" --items="$dir/i.csv" >/dev/null
run() {
  "$nextbest" eval --events="$dir/e.csv" --items="$dir/i.csv" --json \
    --placements=homepage.speciaal_voor_jou,app.speciaal_voor_jou,newsletter.blocks
}
run >"$dir/a.json"
run >"$dir/b.json"
python3 - "$dir/a.json" "$dir/b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    r.pop("seconds"); r.pop("model_seconds")
assert a == b, "two processes on the same log disagree"
rows = {r["name"]: r for r in a["rows"]}
base = a["rows"][0]
print("fingerprint", a["model_fingerprint"], "popularity HR", base["hr"], "NDCG", base["ndcg"])
for name in ("homepage.speciaal_voor_jou", "app.speciaal_voor_jou", "newsletter.blocks"):
    r = rows[name]
    print(name, "xHR %.2f xNDCG %.2f durable %.3f" % (r["hr"] / base["hr"], r["ndcg"] / base["ndcg"], r["durable_share"]))
    assert r["durable_share"] == 0, name + ": a bought durable in an answer"
    assert r["hr"] >= 2.0 * base["hr"], name + ": HR below 2x popularity"
    assert r["ndcg"] >= 2.5 * base["ndcg"], name + ": NDCG below 2.5x popularity"
PY

# Bad input names the file, line and column; exit status non-zero.
printf 'customer,item,timestamp\nc1,p1,yesterday\n' >"$dir/bad.csv"
if "$nextbest" eval --events="$dir/bad.csv" 2>"$dir/err"; then
  echo "eval accepted a bad timestamp"; exit 1
fi
grep -q "bad.csv:2: timestamp" "$dir/err" || { cat "$dir/err"; exit 1; }
echo "eval_cli_e2e: ok"
