#!/usr/bin/env python3
"""Sweep throughput of calo4p against dwave-samplers' simulated annealer, same model, same run.

The model is the 1208-unit Z(6,4) model (302 units per partition, N(0,1) parameters, seed 1)
made by `calo4p model random`. The peer samples its Ising form (s = 2z - 1) at fixed
beta = 1 with Metropolis sweeps (`beta_schedule_type="custom"`); calo4p runs heat-bath block
Gibbs at beta = 1 with the same number of reads/chains and sweeps, all sweeps as burn-in plus
one recorded sweep. Both are single-threaded. Prints spin updates per second and the ratio.

    pip install dwave-samplers numpy
    cargo build --release -p calo4p
    python3 benches/peer_sweep.py [--reads 256] [--sweeps 1000]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import dimod
import numpy as np
from dwave.samplers import SimulatedAnnealingSampler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=256)
    ap.add_argument("--sweeps", type=int, default=1000)
    ap.add_argument("--calo4p", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "calo4p"))
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    model_path = os.path.join(tmp, "z64.json")
    subprocess.run([a.calo4p, "model", "random", "--zephyr", "6,4", "--per-partition", "302", "--seed", "1",
                    "--out", model_path], check=True, stdout=subprocess.DEVNULL)
    model = json.load(open(model_path))
    n = len(model["bias"])
    h = {i: -b / 2 for i, b in enumerate(model["bias"])}
    J = {}
    for i, j, w in model["edges"]:
        J[(i, j)] = -w / 4
        h[i] -= w / 4
        h[j] -= w / 4
    bqm = dimod.BinaryQuadraticModel.from_ising(h, J)
    updates = a.reads * a.sweeps * n

    sa = SimulatedAnnealingSampler()
    t = time.perf_counter()
    sa.sample(bqm, num_reads=a.reads, beta_schedule_type="custom", beta_schedule=np.ones(a.sweeps), seed=1)
    peer = updates / (time.perf_counter() - t)
    print(f"dwave-samplers SA (Metropolis, beta=1): {peer / 1e6:8.1f} M updates/s")

    for engine in (["--engine", "fixed", "--format", "Q8.8", "--lut-bits", "16"], ["--engine", "float32"],
                   ["--engine", "float"]):
        t = time.perf_counter()
        subprocess.run([a.calo4p, "sample", "--model", model_path, *engine, "--chains", str(a.reads),
                        "--burn-in", str(a.sweeps - 1), "--sweeps", "1", "--seed", "1", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        ours = updates / (time.perf_counter() - t)
        print(f"calo4p {' '.join(engine[:2]):<16} (heat bath, beta=1): {ours / 1e6:8.1f} M updates/s, "
              f"ratio to peer {ours / peer:5.2f}")


if __name__ == "__main__":
    sys.exit(main())
