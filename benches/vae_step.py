#!/usr/bin/env python3
"""One training step of the Calo4pQVAE: calo4p (burn, flex CPU backend) vs PyTorch (CPU), same network,
same batch, both single-threaded, in one run. Prints milliseconds per step (min and median over --repeats
runs of --steps steps each), the ratio of the medians and the negative phase's share of a calo4p step.

Networks: --net demo is `calo4p demo`'s (16 units per partition, hidden 256,128); --net ds1 is the one of
issue 15's framework choice (369 -> 512 -> 256, hierarchical heads 256 + 64k -> 64 logits for partitions
k = 1, 2, 3, decoder 4*64 + 1 -> 256 -> 512 -> 2*368). Batch 128, f32; loss = reconstruction MSE + hit BCE
(+ entropy and prior energies with --scheme old, where calo4p also runs its negative phase: 256 persistent
chains x 20 block Gibbs sweeps of core's kernel; PyTorch runs the same block Gibbs sampling with its own
tensors, as CaloQVAE's PCD sampler does: per partition, fields from a dense masked weight matrix, sigmoid,
Bernoulli draws; --torch-negative none gives it fixed model samples instead); Adam.

    python3 benches/vae_step.py [--net demo|ds1] [--scheme new|old] [--torch-energy dense|gather]
                                [--torch-negative gibbs|none] [--steps 50] [--repeats 3]

Uses torch if the running interpreter has it, else installs it into a virtual environment
(benches/.venv-torch) on first use; needs a release build: cargo build --release -p calo4p
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv-torch")


def ensure_torch():
    try:
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    py = os.path.join(VENV, "bin", "python")
    if os.environ.get("CALO4P_BENCH_IN_VENV"):
        sys.exit("torch did not install in " + VENV)
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "torch", "numpy"], check=True)
    env = dict(os.environ, CALO4P_BENCH_IN_VENV="1")
    os.execve(py, [py] + sys.argv, env)


NETS = {"demo": (16, (256, 128)), "ds1": (64, (512, 256))}


def torch_step_ms(steps, scheme, n, hidden, energy_form="dense", negative="gibbs", v=368, batch=128, chains=256,
                  sweeps=20):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    nn = torch.nn
    trunk = nn.Sequential(nn.Linear(v + 1, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU())
    heads = nn.ModuleList([nn.Linear(hidden[1] + k * n, n) for k in (1, 2, 3)])
    layers = [nn.Linear(4 * n + 1, hidden[1]), nn.ReLU(), nn.Linear(hidden[1], hidden[0]), nn.ReLU(), nn.Linear(hidden[0], 2 * v)]
    dec = nn.Sequential(*layers)
    # Distinct pairs i < j (the Zephyr graph's edge count does not change the cost of either form).
    pairs = torch.triu_indices(4 * n, 4 * n, 1)
    pairs = pairs[:, pairs[0] // n != pairs[1] // n]  # between partitions only, as on Zephyr
    edges = pairs[:, torch.randperm(pairs.shape[1])[: min(1000, pairs.shape[1])]]
    bias = nn.Parameter(torch.zeros(4 * n))
    weight = nn.Parameter(torch.zeros(edges.shape[1]))
    params = list(trunk.parameters()) + list(heads.parameters()) + list(dec.parameters()) + [bias, weight]
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.rand(batch, v)
    hits = (x > 0.5).float()
    lne = torch.rand(batch, 1)
    z0 = (torch.rand(batch, n) > 0.5).float()
    model_z = (torch.rand(chains, 4 * n) > 0.5).float()

    def gibbs(z):
        # Persistent chains, `sweeps` block Gibbs sweeps of the 4 partitions (no gradient), as
        # CaloQVAE's sampler: the edge weights as a dense symmetric matrix, fields by one product.
        with torch.no_grad():
            w = torch.zeros(4 * n, 4 * n).index_put((edges[0], edges[1]), weight)
            w = w + w.t()
            for _ in range(sweeps):
                for p in range(4):
                    cols = slice(p * n, (p + 1) * n)
                    field = bias[cols] + z @ w[:, cols]
                    z[:, cols] = torch.bernoulli(torch.sigmoid(field))
        return z

    def energy(z):
        if energy_form == "gather":
            # What calo4p does: gather the endpoints of every edge (burn's select).
            return -(z @ bias) - (z[:, edges[0]] * z[:, edges[1]]) @ weight
        # Idiomatic PyTorch: the edge weights scattered into a dense matrix, two products.
        w = torch.zeros(4 * n, 4 * n).index_put((edges[0], edges[1]), weight)
        return -(z @ bias) - ((z @ w) * z).sum(1)

    def step():
        h = trunk(torch.cat([x, lne], 1))
        zs, ent = [z0], 0
        for head in heads:
            logit = head(torch.cat([h] + zs, 1))
            u = torch.rand_like(logit).clamp(1e-7, 1 - 1e-7)
            zs.append(torch.sigmoid((logit + torch.log(u) - torch.log1p(-u)) / 0.5))
            q = torch.sigmoid(logit)
            ent = ent + (q * nn.functional.logsigmoid(logit) + (1 - q) * nn.functional.logsigmoid(-logit)).sum(1).mean()
        z = torch.cat(zs, 1)
        out = dec(torch.cat([z, lne], 1))
        hl, u = out[:, :v], out[:, v:]
        loss = ((u - x) ** 2).sum(1).mean() + nn.functional.binary_cross_entropy_with_logits(hl, hits, reduction="sum") / batch
        if scheme == "old":
            samples = gibbs(model_z) if negative == "gibbs" else model_z
            loss = loss + ent + energy(z).mean() - energy(samples).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return 1e3 * (time.perf_counter() - t) / steps


def calo4p_step_ms(steps, scheme, binary, n, hidden, negative=None):
    engine = ["--negative-engine", negative] if negative else []
    out = subprocess.run(
        [binary, "train", "--synth", "ds1-photons", "--n-train", "256", "--n-val", "64", "--latent-per-partition", str(n),
         "--hidden", ",".join(map(str, hidden)), "--batch-size", "128", "--scheme", scheme, "--bench", str(steps),
         "--out", "unused"] + engine,
        check=True, capture_output=True, text=True, env=dict(os.environ, RAYON_NUM_THREADS="1"),
    ).stdout
    m = re.search(r"([0-9.]+) ms per step.*negative phase ([0-9.]+)%", out)
    if not m:
        sys.exit("unexpected calo4p output: " + out)
    return float(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scheme", choices=["new", "old"], default="new")
    ap.add_argument("--net", choices=sorted(NETS), default="demo")
    ap.add_argument("--torch-energy", choices=["dense", "gather"], default="dense",
                    help="PyTorch's prior energy (--scheme old): dense weight matrix, or gathered edge endpoints as calo4p")
    ap.add_argument("--torch-negative", choices=["gibbs", "none"], default="gibbs",
                    help="PyTorch's model samples (--scheme old): block Gibbs as calo4p's negative phase, or fixed")
    ap.add_argument("--negative-engine", default=None,
                    help="calo4p's --negative-engine (--scheme old; default: calo4p train's default)")
    ap.add_argument("--calo4p", default=os.path.join(HERE, "..", "target", "release", "calo4p"))
    a = ap.parse_args()
    ensure_torch()
    import torch
    n, hidden = NETS[a.net]
    ours, shares, theirs = [], [], []
    for _ in range(a.repeats):
        ms, share = calo4p_step_ms(a.steps, a.scheme, a.calo4p, n, hidden, a.negative_engine)
        ours.append(ms)
        shares.append(share)
        theirs.append(torch_step_ms(a.steps, a.scheme, n, hidden, a.torch_energy, a.torch_negative))
    med = statistics.median
    print(f"net {a.net} (latent 4x{n}, hidden {hidden}), scheme {a.scheme}, batch 128, {a.steps} steps x {a.repeats} runs")
    print(f"calo4p (burn flex): min {min(ours):.2f}  median {med(ours):.2f} ms/step "
          f"(negative phase {med(shares):.1f}% of a step)  runs {' '.join(f'{x:.2f}' for x in ours)}")
    form = f", prior energy {a.torch_energy}, negative phase {a.torch_negative}" if a.scheme == "old" else ""
    print(f"PyTorch {torch.__version__} CPU{form}: min {min(theirs):.2f}  median {med(theirs):.2f} ms/step"
          f"  runs {' '.join(f'{x:.2f}' for x in theirs)}")
    print(f"ratio calo4p / PyTorch (medians): {med(ours) / med(theirs):.2f}")


if __name__ == "__main__":
    main()
