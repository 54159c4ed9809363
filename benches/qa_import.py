"""Import speed: `calo4p qa import` against dimod on a 10^6-row packed sample set of 1208 variables.

    cargo build --release -p calo4p
    pip install numpy dimod==0.12.23
    python3 benches/qa_import.py [--rows 1000000] [--repeat 3]   (CALO4P_BIN=path overrides the binary)

Makes (once, cached under target/qa-bench/) a Z(6,4) model with 302 units per colour class
(`calo4p model random --zephyr 6,4 --per-partition 302 --seed 1`) and a sample set the way an
Ocean user saves one: `json.dump(sampleset.to_serializable(), f)`, packed rows (38 uint32
words each), labelled by physical qubit, with `energy` and `num_occurrences` (1..4) vectors.

Then times, in the same run, best of 3 each:
* calo4p: `calo4p qa import FILE --model model.json --stats out.json --quiet` (the whole
  process: read, parse, map labels, weighted means, edge second moments, energy mean and
  variance, write the statistics file);
* dimod: `json.load` + `dimod.SampleSet.from_serializable` + numpy's weighted mean of every
  variable (`np.average(record.sample, axis=0, weights=num_occurrences)`), also without the
  `json.load` for reference;
and checks that both give the same means.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import dimod
import numpy as np
from dimod.serialization.utils import pack_samples

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CALO4P_BIN", os.path.join(ROOT, "target", "release", "calo4p"))


def make(rows, work):
    model_path = os.path.join(work, "model.json")
    if not os.path.exists(model_path):
        subprocess.run([BIN, "model", "random", "--zephyr", "6,4", "--per-partition", "302", "--seed", "1",
                        "--out", model_path], check=True, stdout=subprocess.DEVNULL)
    samples_path = os.path.join(work, f"samples_{rows}.json")
    if os.path.exists(samples_path):
        return model_path, samples_path
    qubits = json.load(open(model_path))["qubits"]
    n = len(qubits)
    rng = np.random.default_rng(7)
    # dimod's own layout and keys, from a small set; the big arrays are dropped in.
    labels = [int(q) for q in rng.permutation(qubits)]
    template = dimod.SampleSet.from_samples(
        (np.ones((1, n), dtype=np.int8), labels), dimod.SPIN, energy=[0.0], num_occurrences=[1]
    ).to_serializable()
    words = []
    for start in range(0, rows, 100_000):
        k = min(100_000, rows - start)
        spins = rng.integers(0, 2, size=(k, n), dtype=np.int8) * 2 - 1
        words.append(pack_samples(spins > 0))
    packed = np.concatenate(words)
    template["num_rows"] = rows
    template["sample_data"]["data"] = packed.tolist()
    template["sample_data"]["shape"] = list(packed.shape)
    template["vectors"]["energy"]["data"] = rng.normal(0, 50, rows).tolist()
    template["vectors"]["energy"]["shape"] = [rows]
    template["vectors"]["num_occurrences"]["data"] = rng.integers(1, 5, rows).tolist()
    template["vectors"]["num_occurrences"]["shape"] = [rows]
    with open(samples_path + ".tmp", "w") as f:
        json.dump(template, f)
    os.rename(samples_path + ".tmp", samples_path)
    return model_path, samples_path


def best_of(k, fn):
    times = []
    for _ in range(k):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = os.path.join(ROOT, "target", "qa-bench")
    os.makedirs(work, exist_ok=True)
    model_path, samples_path = make(args.rows, work)
    stats_path = os.path.join(work, "stats.json")
    size = os.path.getsize(samples_path)
    print(f"sample set: {samples_path} ({size / 1e6:.0f} MB, {args.rows} rows)")

    def ours():
        subprocess.run([BIN, "qa", "import", samples_path, "--model", model_path, "--stats", stats_path, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        return json.load(open(stats_path))["mean"]

    def theirs():
        with open(samples_path) as f:
            obj = json.load(f)
        return dimod_side(obj)

    def dimod_side(obj):
        ss = dimod.SampleSet.from_serializable(obj)
        spin_mean = np.average(ss.record.sample, axis=0, weights=ss.record.num_occurrences)
        return ss.variables, (spin_mean + 1) / 2

    t_ours, mean_ours = best_of(args.repeat, ours)
    t_theirs, (variables, mean_theirs) = best_of(args.repeat, theirs)
    with open(samples_path) as f:
        obj = json.load(f)
    t_parsed, _ = best_of(args.repeat, lambda: dimod_side(obj))
    del obj

    qubits = json.load(open(model_path))["qubits"]
    unit = {q: i for i, q in enumerate(qubits)}
    ours_by_var = np.array([mean_ours[unit[v]] for v in variables])
    dev = float(np.max(np.abs(ours_by_var - mean_theirs)))
    print(f"calo4p qa import (whole process, all statistics):       {t_ours:7.2f} s")
    print(f"json.load + SampleSet.from_serializable + np.average:   {t_theirs:7.2f} s")
    print(f"  of which from_serializable + np.average (parsed obj): {t_parsed:7.2f} s")
    print(f"max |mean difference|: {dev:.2e}")
    print(f"ratio dimod / calo4p: {t_theirs / t_ours:.2f}x (vs from_serializable alone: {t_parsed / t_ours:.2f}x)")
    if dev > 1e-9:
        sys.exit("the two imports disagree")


if __name__ == "__main__":
    main()
