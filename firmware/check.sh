#!/usr/bin/env bash
# CI gate for the firmware (issue 14). Builds both targets, holds the size budget, runs the
# 7x7x7x7 reference model for 100 sweeps on QEMU's Cortex-M4 and RV32 and compares every
# state with host core bit for bit (plus a negative control), runs the 1208-unit Z(6,4)
# model for the RAM budget, and feeds corrupted and oversized compact images, which must
# end in an error code, never a fault or a hang.
#
# Needs: rustup targets thumbv7em-none-eabihf riscv32imac-unknown-none-elf, rustup component
# llvm-tools, python3, and for the runs the Debian packages qemu-system-arm and
# qemu-system-misc. Without QEMU the runs are skipped with a message, unless
# FIRMWARE_REQUIRE_QEMU=1 (CI), which makes a missing QEMU a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$here"
FLASH_BUDGET=16384 # bytes of flash, without the model image
RAM_BUDGET=65536   # bytes of RAM: statics and the stack the Z(6,4) run used
reference="$root/tests/fixtures/reference/models/rbm_7x7x7x7_seed20250131.json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${FIRMWARE_TARGET_DIR:-$here/target}"

if [ -z "${CALO4P:-}" ]; then
  (cd "$root" && cargo build --release --quiet -p calo4p)
  export CALO4P="$root/target/release/calo4p"
fi

have_qemu=1
for q in qemu-system-arm qemu-system-riscv32; do
  command -v "$q" >/dev/null || have_qemu=0
done
if [ "$have_qemu" = 0 ]; then
  if [ "${FIRMWARE_REQUIRE_QEMU:-0}" = 1 ]; then
    echo "firmware: QEMU is missing (apt-get install qemu-system-arm qemu-system-misc) and FIRMWARE_REQUIRE_QEMU=1" >&2
    exit 1
  fi
  echo "firmware: SKIPPING the QEMU runs: qemu-system-arm/qemu-system-riscv32 not found" \
    "(apt-get install qemu-system-arm qemu-system-misc); building and size checks only"
fi

# The Z(6,4) model that sets the budget: 302 units per colour class, 11009 edges.
"$CALO4P" model random --zephyr 6,4 --per-partition 302 --seed 1 --scale 0.5 --out "$work/z64.json" >/dev/null
"$CALO4P" model quantise --model "$work/z64.json" --out "$work/z64.c4pq" >/dev/null
z64_bytes=$(wc -c <"$work/z64.c4pq")

fail=0
for target in cortex-m4 rv32; do
  case $target in
    cortex-m4) triple=thumbv7em-none-eabihf ;;
    rv32) triple=riscv32imac-unknown-none-elf ;;
  esac
  if [ "$have_qemu" = 1 ]; then
    # Reference model: 100 sweeps, 4 chains, every state against host core.
    ./run.sh --target "$target" --model "$reference" --sweeps 100 --chains 4 --seed 7 --out "$work/$target-ref" \
      || { echo "firmware: $target reference run is not bit-exact" >&2; fail=1; }
    # Negative control: another seed on the host must differ.
    "$CALO4P" sample --model "$reference" --engine fixed --format Q8.8 --lut-bits 16 --rng xoshiro \
      --chains 4 --sweeps 100 --burn-in 0 --seed 8 --quiet --out "$work/$target-seed8.npy" >/dev/null
    if python3 compare.py "$work/$target-ref/states.bin" "$work/$target-ref/console.txt" \
      "$work/$target-seed8.npy" >/dev/null; then
      echo "firmware: negative control: $target states equal a run with another seed" >&2
      fail=1
    fi
    # Z(6,4): 2 sweeps of 1 chain, bit-exact too, and its stack for the RAM budget.
    ./run.sh --target "$target" --model "$work/z64.json" --sweeps 2 --chains 1 --seed 7 --out "$work/$target-z64" \
      >"$work/$target-z64.json" || { echo "firmware: $target Z(6,4) run failed" >&2; cat "$work/$target-z64.json" >&2; fail=1; }
    cat "$work/$target-z64.json"
    stack=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("stack_bytes", 0))' "$work/$target-z64.json")
  else
    (FIRMWARE_MODEL="$work/z64.c4pq" FIRMWARE_SWEEPS=2 FIRMWARE_CHAINS=1 \
      cargo build --release --quiet --target "$triple")
    cp "$CARGO_TARGET_DIR/$triple/release/calo4p-firmware" "$work/$target-z64.elf"
    mkdir -p "$work/$target-z64" && cp "$work/$target-z64.elf" "$work/$target-z64/firmware-$target.elf"
    stack=0
  fi
  python3 sizes.py "$work/$target-z64/firmware-$target.elf" "$z64_bytes" --stack "$stack" \
    --flash-budget $FLASH_BUDGET --ram-budget $RAM_BUDGET || fail=1
done

if [ "$have_qemu" = 1 ]; then
  # Bad images: each must end with its error code (see Code in src/main.rs), not a fault
  # (41), a panic (40) or a hang.
  "$CALO4P" model quantise --model "$reference" --out "$work/ref.c4pq" >/dev/null
  "$CALO4P" model random --zephyr 6,4 --per-partition 312 --seed 1 --scale 0.5 --out "$work/big.json" >/dev/null
  "$CALO4P" model quantise --model "$work/big.json" --out "$work/big.c4pq" >/dev/null
  python3 - "$work" <<'PY'
import sys
w = sys.argv[1]
ref = bytearray(open(f"{w}/ref.c4pq", "rb").read())
def fnv(b):
    h = 0x811C9DC5
    for x in b:
        h = ((h ^ x) * 0x01000193) & 0xFFFFFFFF
    return h.to_bytes(4, "little")
flip = bytearray(ref); flip[len(ref) // 2] ^= 0x10
open(f"{w}/flipped.c4pq", "wb").write(flip)
open(f"{w}/truncated.c4pq", "wb").write(ref[:3])
magic = bytearray(ref); magic[0:4] = b"C4PX"
open(f"{w}/magic.c4pq", "wb").write(magic)
# A row length that disagrees with the pair's count, behind a valid checksum.
rows = bytearray(ref[:-4]); k = rows[8]; start = 9 + 2 * k + 4 * (k * (k - 1) // 2) + 2 * sum(
    int.from_bytes(rows[9 + 2 * p : 11 + 2 * p], "little") for p in range(k))
rows[start] ^= 0x01
open(f"{w}/rows.c4pq", "wb").write(rows + fnv(rows))
PY
  for case in flipped:15 truncated:11 magic:12 rows:11 big:10; do
    name=${case%%:*} want=${case##*:}
    for target in cortex-m4 rv32; do
      got=0
      ./run.sh --target "$target" --image "$work/$name.c4pq" --sweeps 1 --chains 1 --out "$work/bad-$name-$target" \
        >/dev/null 2>&1 || got=$?
      if [ "$got" != "$want" ]; then
        echo "firmware: $target with the $name image exited $got, expected error code $want" >&2
        fail=1
      else
        echo "firmware: $target rejects the $name image with error code $got"
      fi
    done
  done
fi

if [ "$fail" != 0 ]; then
  echo "firmware: FAILED" >&2
  exit 1
fi
echo "firmware: ok"
