#!/usr/bin/env python3
"""Compare the firmware's states with the host's, bit for bit, and summarise the run.

states.bin holds, after every sweep, the C chains' states unit-major (state[i*C + c]);
the host's .npy (calo4p sample --out, burn-in 0) holds one row of N units per chain per
sweep, sweep-major. Prints one JSON line; exits 1 on any difference.
"""
import ast
import json
import sys


def read_npy_u8(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not an .npy file")
    major = data[6]
    hlen_bytes = 2 if major == 1 else 4
    hlen = int.from_bytes(data[8 : 8 + hlen_bytes], "little")
    start = 8 + hlen_bytes
    header = ast.literal_eval(data[start : start + hlen].decode("latin1"))
    if header["descr"] not in ("|u1", "<u1", "u1") or header["fortran_order"]:
        sys.exit(f"{path}: expected C-ordered uint8, got {header}")
    rows, cols = header["shape"]
    return rows, cols, data[start + hlen :]


def console_fields(path):
    text = open(path, encoding="utf-8", errors="replace").read().split()
    fields = {}
    for tok in text:
        if "=" in tok:
            k, v = tok.split("=", 1)
            fields[k] = int(v, 0)
    fields["target"] = text[0] if text else "?"
    fields["ok"] = "ok" in text
    return fields


def main():
    states, console, host = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
    f = console_fields(console)
    n, c, k = f["units"], f["chains"], f["sweeps"]
    dev = open(states, "rb").read()
    per_update = f["sweep_ticks"] * f["instr_per_tick"] / (k * c * n)
    summary = {
        "target": f["target"],
        "units": n,
        "chains": c,
        "sweeps": k,
        "seed": f["seed"],
        "stack_bytes": f["stack"],
        "saturations": f["saturations"],
        "parse_instructions": f["parse_ticks"] * f["instr_per_tick"],
        "table_instructions": f["table_ticks"] * f["instr_per_tick"],
        "sweep_instructions": f["sweep_ticks"] * f["instr_per_tick"],
        "instructions_per_update": round(per_update, 2),
    }
    if "dwt_cyccnt" in f:
        summary["dwt_cyccnt"] = f["dwt_cyccnt"]
    ok = len(dev) == k * c * n
    if not ok:
        summary["error"] = f"states.bin has {len(dev)} bytes, expected {k * c * n}"
    if host and ok:
        rows, cols, hb = read_npy_u8(host)
        if (rows, cols) != (k * c, n):
            summary["error"] = f"host states are {rows}x{cols}, expected {k * c}x{n}"
            ok = False
        else:
            mismatched = 0
            for t in range(k):
                rec = dev[t * n * c : (t + 1) * n * c]
                for ch in range(c):
                    row = hb[(t * c + ch) * n : (t * c + ch + 1) * n]
                    if bytes(rec[i * c + ch] for i in range(n)) != row:
                        mismatched += 1
            summary["states_compared"] = k * c
            summary["states_mismatched"] = mismatched
            ok = mismatched == 0
    summary["bit_exact"] = ok if host else None
    print(json.dumps(summary))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
