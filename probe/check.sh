#!/usr/bin/env bash
# Build the no_std probe, then show that each negative control fails as it should.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet
echo "probe: no_std + no alloc build ok ($(du -h "$CARGO_TARGET_DIR/release/libcalo4p_probe.a" | cut -f1) staticlib)"
control() {
  local feature=$1 expect=$2 log
  log=$(mktemp)
  if cargo build --release --quiet --features "$feature" >"$log" 2>&1; then
    echo "probe: negative control $feature built, but it must fail" >&2
    exit 1
  fi
  if ! grep -q "$expect" "$log"; then
    echo "probe: negative control $feature failed for another reason:" >&2
    cat "$log" >&2
    exit 1
  fi
  echo "probe: negative control $feature fails as expected ($expect)"
  rm -f "$log"
}
control control-std "duplicate lang item"
control control-alloc "no global memory allocator"
