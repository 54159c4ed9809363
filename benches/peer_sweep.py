#!/usr/bin/env python3
"""Sweep throughput of calo4p against dwave-samplers' simulated annealer, same model, same run.

The model is the 1208-unit Z(6,4) model (302 units per partition, N(0,1) parameters, seed 1)
made by `calo4p model random`. The peer samples its Ising form (s = 2z - 1) at fixed
beta = 1 with Metropolis sweeps (`beta_schedule_type="custom"`, single-threaded C++); calo4p
runs heat-bath block Gibbs at beta = 1 with the same number of reads/chains and sweeps, as a
whole process (model load, quantisation, sampling), with `--threads` at its default (all
cores). Two calo4p runs per engine:

* burn-in: all sweeps but one discarded, one recorded (the sampler alone);
* recorded: 100 burn-in sweeps, every other sweep recorded (moments after every sweep, as
  `calo4p sample --stats` does).

Each timing is repeated (`--repeat`, default 3) and min / median are printed; the ratio uses
the medians. Spin updates per second count reads x sweeps x 1208.

    pip install dwave-samplers numpy
    cargo build --release -p calo4p
    python3 benches/peer_sweep.py [--reads 1024] [--sweeps 1000] [--repeat 3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import dimod
import numpy as np
from dwave.samplers import SimulatedAnnealingSampler


def timed(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reads", type=int, default=1024)
    ap.add_argument("--sweeps", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="calo4p --threads (default: its own default)")
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
    print(f"Z(6,4), {n} units, {a.reads} reads/chains x {a.sweeps} sweeps = {updates / 1e9:.2f} G updates; "
          f"min / median of {a.repeat}")

    sa = SimulatedAnnealingSampler()
    lo, med = timed(lambda: sa.sample(bqm, num_reads=a.reads, beta_schedule_type="custom",
                                      beta_schedule=np.ones(a.sweeps), seed=1), a.repeat)
    peer = updates / med
    print(f"dwave-samplers SA (Metropolis, beta=1, 1 thread): {updates / lo / 1e6:8.1f} / {peer / 1e6:8.1f} M updates/s")

    threads = [] if a.threads is None else ["--threads", str(a.threads)]
    for engine in (["--engine", "fixed", "--format", "Q8.8", "--lut-bits", "16"], ["--engine", "float32"],
                   ["--engine", "float"]):
        for mode, burn, kept in (("burn-in", a.sweeps - 1, 1), ("recorded", 100, a.sweeps - 100)):
            cmd = [a.calo4p, "sample", "--model", model_path, *engine, "--chains", str(a.reads), "--burn-in",
                   str(burn), "--sweeps", str(kept), "--seed", "1", "--quiet", *threads]
            lo, med = timed(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL), a.repeat)
            ours = updates / med
            print(f"calo4p {' '.join(engine[:2]):<16} {mode:<9} (heat bath, beta=1): "
                  f"{updates / lo / 1e6:8.1f} / {ours / 1e6:8.1f} M updates/s, ratio to peer {ours / peer:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
