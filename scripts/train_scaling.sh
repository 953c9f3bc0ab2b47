#!/usr/bin/env bash
# Data-parallel training throughput on this machine: 1 rank x 1 thread, 1 rank x all cores, and one rank per core
# (x 1 thread), on the same global batch and data. The configurations take turns for ROUNDS rounds and the table
# gives each one's median images/s (the trainer's own count over its last window), so a machine whose speed drifts
# (a shared host) biases none of them.
#   scripts/train_scaling.sh [DATA] [STEPS] [ROUNDS]   (default cifar10:../shared/datasets/cifar10, 30, 3)
# Run it on an idle machine: ranks that share cores with another busy process slow down many times over.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-cifar10:../shared/datasets/cifar10}
steps=${2:-30}
rounds=${3:-3}
bin=${DCODEC_BIN:-build/dcodec}
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(train --data "$data" --preset small --batch 64 --lr 2e-4 --warmup 10 --seed 1 --chain 400,162,45,10
        --chain-fraction 0.5 --steps "$steps" --checkpoint-every 100000)
configs=("1 1" "1 $cores" "$cores 1")
declare -A rates
for round in $(seq "$rounds"); do
  for config in "${configs[@]}"; do
    read -r ranks threads <<< "$config"
    rm -rf "$work/run"
    extra=()
    [ "$ranks" -gt 1 ] && extra=(--nproc "$ranks")
    "$bin" "${common[@]}" --run "$work/run" --threads "$threads" "${extra[@]}" 2> "$work/log"
    r=$(tr '\r' '\n' < "$work/log" | grep -o '[0-9.]* img/s' | tail -1 | cut -d' ' -f1)
    rates[$config]="${rates[$config]:-} $r"
    echo "round $round: $ranks rank(s) x $threads thread(s): $r images/s" >&2
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
base=$(echo "${rates[${configs[0]}]}" | median)
printf '| ranks x threads | images/s (median of %s) | all rounds | speed-up |\n|---|---:|---|---:|\n' "$rounds"
for config in "${configs[@]}"; do
  read -r ranks threads <<< "$config"
  m=$(echo "${rates[$config]}" | median)
  printf '| %s x %s | %s |%s | %.2fx |\n' "$ranks" "$threads" "$m" "${rates[$config]}" \
    "$(awk -v a="$m" -v b="$base" 'BEGIN{print a/b}')"
done
