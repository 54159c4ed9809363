#!/usr/bin/env python3
"""Section sizes and a per-module breakdown of a firmware ELF, and the budget check.

  sizes.py ELF MODEL_BYTES [--flash-budget B] [--ram-budget B] [--stack B] [--json]

Flash is everything loaded from the image (vector table, .text, .rodata, .data's load
copy) minus the embedded model image; RAM is .data + .bss + the stack the run used
(--stack, from the firmware's painted-stack report). Exits 1 when over a budget.
The breakdown groups symbols by crate and module (llvm-nm, from rustup's llvm-tools);
with LTO, inlined code counts under its caller.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict


def tool(name):
    sysroot = subprocess.check_output(["rustc", "--print", "sysroot"], text=True).strip()
    host = re.search(r"host: (\S+)", subprocess.check_output(["rustc", "-vV"], text=True)).group(1)
    path = os.path.join(sysroot, "lib", "rustlib", host, "bin", name)
    if not os.path.exists(path):
        sys.exit(f"{name} not found: rustup component add llvm-tools")
    return path


def sections(elf):
    out = subprocess.check_output([tool("llvm-size"), "-A", elf], text=True)
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


def module_of(name):
    if re.fullmatch(r"__(aeabi_)?[a-z]*(df|sf)[0-9a-z]*", name) or name in ("__aeabi_d2f", "__aeabi_f2d"):
        return "compiler_builtins (soft float)"
    if re.fullmatch(r"__(aeabi_)?(u?l?(div|mod)|ash|lsh|mul|lmul)[a-z0-9]*", name):
        return "compiler_builtins (integer helpers)"
    if name.startswith("OUTLINED_FUNCTION"):
        return "machine outliner (shared code)"
    if name.startswith(".L"):
        return "constants"
    if name.startswith("_$LT$core"):
        return "rust core"
    if name.startswith("calo4p_core::"):
        return "core::" + name.split("::")[1]
    if name.startswith("calo4p_firmware::"):
        return "firmware::" + name.split("::")[1].split("$")[0]
    if name.startswith("<"):
        inner = name[1:]
        return module_of(inner) if "calo4p" in inner.split(" as ")[0] else "rust core/alloc traits"
    for prefix, label in [
        ("compiler_builtins::float", "compiler_builtins (soft float)"),
        ("compiler_builtins::int", "compiler_builtins (integer division)"),
        ("compiler_builtins::mem", "compiler_builtins (mem*)"),
        ("__aeabi_mem", "compiler_builtins (mem*)"),
        ("__aeabi_", "compiler_builtins (ARM EABI helpers)"),
        ("mem", "compiler_builtins (mem*)"),
        ("libm::", "libm"),
        ("core::", "rust core"),
        ("cortex_m_rt", "runtime (cortex-m-rt)"),
        ("riscv_rt", "runtime (riscv-rt)"),
    ]:
        if name.startswith(prefix):
            return label
    if name in ("Reset", "_start", "__INTERRUPTS", "__RESET_VECTOR", "__EXCEPTIONS", "_start_trap",
                "default_start_trap", "_start_trap_rust", "start_trap_rust", "main", "HardFault",
                "DefaultHandler", "DefaultHandler_", "HardFault_", "_abs_start", "_setup_interrupts",
                "default_setup_interrupts", "default_mp_hook", "default_pre_init", "__pre_init"):
        return "runtime (start-up, vectors)"
    if name in ("fmin", "fmax", "exp", "log", "ceil", "rint", "scalbn", "ldexp"):
        return "libm"
    return "other: " + name[:40]


def breakdown(elf, model_bytes):
    out = subprocess.check_output([tool("llvm-nm"), "-S", "-C", "--size-sort", elf], text=True)
    groups = defaultdict(int)
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) != 4:
            continue
        _, size, kind, name = parts
        size = int(size, 16)
        if kind.lower() not in ("t", "r", "d") or size == 0:
            continue
        model = name.startswith(".L") and size == model_bytes
        groups["model image (compact form)" if model else module_of(name)] += size
    return dict(sorted(groups.items(), key=lambda kv: -kv[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("elf")
    ap.add_argument("model_bytes", type=int)
    ap.add_argument("--flash-budget", type=int)
    ap.add_argument("--ram-budget", type=int)
    ap.add_argument("--stack", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    s = sections(a.elf)
    loaded = sum(s.get(k, 0) for k in (".vector_table", ".text", ".rodata", ".data"))
    flash = loaded - a.model_bytes
    ram_static = s.get(".data", 0) + s.get(".bss", 0)
    ram = ram_static + a.stack
    report = {
        "elf": a.elf,
        "sections": {k: s.get(k, 0) for k in (".vector_table", ".text", ".rodata", ".data", ".bss")},
        "model_bytes": a.model_bytes,
        "flash_without_model": flash,
        "ram_static": ram_static,
        "stack": a.stack,
        "ram_total": ram,
        "modules": breakdown(a.elf, a.model_bytes),
    }
    if a.json:
        print(json.dumps(report))
    else:
        print(f"{a.elf}")
        for k, v in report["sections"].items():
            print(f"  {k:<14} {v:>7}")
        print(f"  flash without the {a.model_bytes}-byte model: {flash}; RAM: {ram_static} static + {a.stack} stack = {ram}")
        for k, v in report["modules"].items():
            print(f"    {v:>7}  {k}")
    over = []
    if a.flash_budget is not None and flash > a.flash_budget:
        over.append(f"flash {flash} > budget {a.flash_budget}")
    if a.ram_budget is not None and ram > a.ram_budget:
        over.append(f"RAM {ram} > budget {a.ram_budget}")
    if over:
        print("size budget exceeded: " + "; ".join(over), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
