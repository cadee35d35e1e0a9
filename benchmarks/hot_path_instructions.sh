#!/usr/bin/env bash
# Instructions per request on perfeng's hot path, counted by callgrind: repeatable whatever
# else the machine is doing (a noisy shared machine makes CPU-time figures wander ±30 %).
# Two runs of different lengths; the difference cancels start-up and shutdown.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$PY" benchmarks/hot_path.py --once "$1" 2>&1 |
    awk '/requests/ {r=$NF} /Collected/ {i=$NF} END {print r, i}'
}
read -r r1 i1 < <(count 1)
read -r r2 i2 < <(count 3)
echo "instructions per request: $(( (i2 - i1) / (r2 - r1) )) (requests $r1 and $r2)"
