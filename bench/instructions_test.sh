#!/usr/bin/env bash
# Instruction-count guard: the instructions one decision of each placement
# executes (callgrind, inside core::Decide only, fixed dataset) must not grow
# more than MARGIN % over bench/decision_instructions.txt.
# Re-record after an intended change: bench/instructions_test.sh BIN --record
set -euo pipefail
bin=$1
budget="$(dirname "$0")/decision_instructions.txt"
margin=10
decisions=2000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
command -v valgrind >/dev/null || { echo "valgrind missing (scripts/setup --test installs it)"; exit 1; }
status=0
recorded=""
placements=$("$bin" --count)
for ((placement = 0; placement < placements; placement++)); do
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$placement" \
    --toggle-collect='nextbest::core::Decide(*' "$bin" $placement $decisions >"$out/run.$placement" 2>/dev/null
  name=$(awk '{print $1}' "$out/run.$placement")
  total=$(awk '/^totals:/ {print $2}' "$out/cg.$placement")
  per=$((total / decisions))
  recorded+="$name $per"$'\n'
  if [ "${2:-}" != "--record" ]; then
    want=$(awk -v n="$name" '$1 == n {print $2}' "$budget")
    [ -n "$want" ] || { echo "$name: no budget recorded (bench/instructions_test.sh BIN --record)"; status=1; continue; }
    limit=$((want + want * margin / 100))
    verdict=ok
    [ "$per" -gt "$limit" ] && { verdict="OVER BUDGET"; status=1; }
    echo "$name: $per instructions per decision (budget $want, limit $limit) $verdict"
  fi
done
if [ "${2:-}" = "--record" ]; then printf '%s' "$recorded" >"$budget"; cat "$budget"; fi
exit $status
