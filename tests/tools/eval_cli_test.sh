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

# With an experiment and the holdout in the config: the same metrics per
# arm, each customer in their own; the control arms are non-personal.
deploy="$2"
{ grep -v '^# end of nextbest config' "$deploy/nextbest.textproto"; cat "$deploy/ab_test.textproto"; } \
  >"$dir/ab.textproto"
"$nextbest" eval --events="$dir/e.csv" --items="$dir/i.csv" --json --config="$dir/ab.textproto" \
  --placements=homepage.speciaal_voor_jou >"$dir/ab.json"
python3 - "$dir/ab.json" <<'PY'
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))["rows"]}
p = "homepage.speciaal_voor_jou"
arms = [p + " [speciaal_vs_populair: personal]", p + " [speciaal_vs_populair: popular]",
        p + " [global_holdout: holdout]", p + " [global_holdout: personalized]"]
for a in arms:
    assert a in rows, "missing arm row " + a + " in " + str(list(rows))
personal, popular = rows[arms[0]], rows[arms[1]]
print("personal arm xHR over the control arm %.2f" % (personal["hr"] / popular["hr"]))
assert personal["durable_share"] == 0
assert personal["hr"] > popular["hr"], "the personal arm does not beat its control"
assert rows[arms[1]]["coverage"] < rows[arms[0]]["coverage"]
PY

# Bad input names the file, line and column; exit status non-zero.
printf 'customer,item,timestamp\nc1,p1,yesterday\n' >"$dir/bad.csv"
if "$nextbest" eval --events="$dir/bad.csv" 2>"$dir/err"; then
  echo "eval accepted a bad timestamp"; exit 1
fi
grep -q "bad.csv:2: timestamp" "$dir/err" || { cat "$dir/err"; exit 1; }
echo "eval_cli_e2e: ok"
