#!/usr/bin/env bash
# Build the firmware for one target with one model baked in, run it under QEMU, and compare
# every state with host core (calo4p sample, same model, seed, xoshiro128++ chain streams,
# Q8.8, 16-bit table). Prints the run's summary as one JSON line; exits non-zero when the
# firmware fails or any state differs.
#
#   firmware/run.sh --target cortex-m4|rv32 --model M.json [--sweeps K] [--chains C]
#                   [--seed S] [--out DIR] [--no-compare]
#   firmware/run.sh --target rv32 --image M.c4pq ...   # a compact image as it is (no host
#                                                      # comparison); for bad-input tests
#
# Environment: CALO4P (host binary; default: cargo build --release -p calo4p),
# QEMU_TIMEOUT (seconds, default 300).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target="" model="" image="" sweeps=100 chains=4 seed=7 out="" compare=1
while [ $# -gt 0 ]; do
  case $1 in
    --target) target=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --image) image=$2; compare=0; shift 2 ;;
    --sweeps) sweeps=$2; shift 2 ;;
    --chains) chains=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-compare) compare=0; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $target in
  cortex-m4) triple=thumbv7em-none-eabihf
    qemu=(qemu-system-arm -M mps2-an386) ;;
  rv32) triple=riscv32imac-unknown-none-elf
    qemu=(qemu-system-riscv32 -M virt -bios none) ;;
  *) echo "run.sh: --target cortex-m4 or rv32" >&2; exit 2 ;;
esac
[ -n "$model" ] || [ -n "$image" ] || { echo "run.sh: --model or --image" >&2; exit 2; }
out=${out:-$(mktemp -d)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

calo4p() {
  if [ -z "${CALO4P:-}" ]; then
    (cd "$root" && cargo build --release --quiet -p calo4p)
    CALO4P="$root/target/release/calo4p"
  fi
  "$CALO4P" "$@"
}

if [ -n "$model" ]; then
  image="$out/model.c4pq"
  calo4p model quantise --model "$model" --format Q8.8 --out "$image" >/dev/null
fi

export CARGO_TARGET_DIR="${FIRMWARE_TARGET_DIR:-$here/target}"
(cd "$here" && FIRMWARE_MODEL="$image" FIRMWARE_SWEEPS=$sweeps FIRMWARE_CHAINS=$chains \
  FIRMWARE_SEED=$seed cargo build --release --quiet --target "$triple")
elf="$CARGO_TARGET_DIR/$triple/release/calo4p-firmware"
cp "$elf" "$out/firmware-$target.elf"

rm -f "$out/states.bin"
status=0
(cd "$out" && timeout "${QEMU_TIMEOUT:-300}" "${qemu[@]}" -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native -icount shift=0 -kernel "$elf") \
  >"$out/console.txt" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  echo "{\"target\": \"$target\", \"exit\": $status, \"console\": \"$(tr -d '\n"' <"$out/console.txt")\"}"
  exit "$status"
fi

host=()
if [ "$compare" = 1 ]; then
  calo4p sample --model "$model" --engine fixed --format Q8.8 --lut-bits 16 --rng xoshiro \
    --chains "$chains" --sweeps "$sweeps" --burn-in 0 --seed "$seed" --quiet \
    --out "$out/host.npy" >/dev/null
  host=("$out/host.npy")
fi
python3 "$here/compare.py" "$out/states.bin" "$out/console.txt" "${host[@]}"
