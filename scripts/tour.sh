#!/usr/bin/env bash
# The README's tour of the command line, top to bottom, exactly as the README shows it.
# Every file a command reads was made by an earlier command; each report has its own folder.
#
#   scripts/tour.sh [DIR]     (DIR: where the files go; default a new temporary directory)
#
# calo4p must be on PATH (README: `cargo install --path host`); CI puts its own build first.
# The lines between the `tour:begin` and `tour:end` markers must equal the README's tour
# (tests/tests/readme_tour.rs checks it), so edit both together.
set -euo pipefail

command -v calo4p >/dev/null || { echo "tour: calo4p is not on PATH (see README: cargo install --path host)" >&2; exit 2; }
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/calo4p-tour-XXXXXX")}
mkdir -p "$dir"
cd "$dir"
echo "tour: in $dir ($(command -v calo4p))" >&2
set -x

# tour:begin
# The Zephyr graph Z(6,4): nodes, coordinates, colours (2u + w + 2z + j) mod 4, edges.
calo4p zephyr --zephyr 6,4 --out z64.json

# A random 4-partite model on Z(6,4), 302 units per partition, N(0, 0.5^2) parameters,
# and a small one (7 units per partition, 28 in all) that exact answers can check.
calo4p model random --zephyr 6,4 --per-partition 302 --seed 1 --scale 0.5 --out big.json
calo4p model random --zephyr 1,4 --per-partition 7 --seed 2 --out small.json

# Exact moments and ln Z of the small model (all partitions but the largest enumerated).
calo4p exact --model small.json --stats exact.json

# Block Gibbs: float reference or fixed point (Q8.8 weights, 16-bit acceptance table).
calo4p sample --model small.json --engine fixed --format Q8.8 --lut-bits 16 \
    --chains 200 --sweeps 200 --burn-in 50 --seed 7 --stats stats.json --out samples.npy
calo4p sample --model big.json --engine fixed --chains 20 --sweeps 50 --burn-in 10 --quiet --stats big-stats.json

# Simulated annealing: 4000 reads, each a chain taken from beta 0.05 to 4 in 3 sweeps (a fast
# quench), saved as a dimod SampleSet with num_occurrences and energies.
calo4p anneal --model small.json --schedule geometric:0.05,4,3 --reads 4000 --seed 1 --out quench.json

# Annealer samples: import, weighted by num_occurrences; the effective inverse temperature
# (the quench froze out well below its final beta of 4); the Ising problem for an annealer.
calo4p qa import quench.json --model small.json --stats quench-stats.json
calo4p qa beta quench.json --model small.json --bootstrap 20 --out quench-beta.json
calo4p qa export-ising --model small.json --beta 0.6 --out ising.json

# Validation and diagnostics, each report in its own folder.
calo4p validate --model small.json --samples samples.npy --chains 200 --reference exact --report validate-report
calo4p validate --model small.json --samples stats.json --tolerance 0.05
calo4p validate --model small.json --samples quench.json --beta 2.8
calo4p model random --zephyr 1,4 --per-partition 4 --seed 3 --out tiny.json
calo4p precision --model tiny.json --formats Q4.4,Q8.8 --lut-bits 8,16 --samples 20000 --quiet
calo4p acf --model small.json --engine fixed --chains 50 --sweeps 400 --plot acf.svg --quiet
calo4p svd --model big.json --plot svd.svg

# Calorimeter data: reference and "generated" showers (two seeds), their summary and scores.
calo4p data synth --geometry ds1-photons --n 2000 --seed 1 --out reference.h5
calo4p data synth --geometry ds1-photons --n 2000 --seed 2 --out generated.h5
calo4p data info reference.h5 --geometry ds1-photons
calo4p data evaluate --reference reference.h5 --generated generated.h5 --geometry ds1-photons \
    --fpd-min-samples 500 --fpd-max-samples 2000 --fpd-batches 5 --fpd-points 4 \
    --kpd-batches 5 --kpd-batch-size 500 --report data-report
# tour:end

set +x
echo "tour: every command ran; files in $dir" >&2
