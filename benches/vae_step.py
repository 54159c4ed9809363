#!/usr/bin/env python3
"""One training step of the ds1-sized Calo4pQVAE: calo4p (burn, flex CPU backend) vs PyTorch (CPU),
same network, same batch, both single-threaded, in one run. Prints milliseconds per step and the ratio.

Network (issue 15): encoder 369 -> 512 -> 256, hierarchical heads 256 + 64k -> 64 logits for partitions
k = 1, 2, 3 (binary-concrete samples), decoder 4*64 + 1 -> 256 -> 512 -> 2*368; batch 128, f32; loss =
reconstruction MSE + hit BCE (+ entropy and prior energies with --scheme old); Adam.

    python3 benches/vae_step.py [--steps 50] [--scheme new|old]

Installs torch into a virtual environment (benches/.venv-torch) on first use; needs a release build
with the VAE: cargo build --release -p calo4p --features vae
"""
import argparse
import os
import re
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


def torch_step_ms(steps, scheme, n=64, hidden=(512, 256), v=368, batch=128, chains=256):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    nn = torch.nn
    trunk = nn.Sequential(nn.Linear(v + 1, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU())
    heads = nn.ModuleList([nn.Linear(hidden[1] + k * n, n) for k in (1, 2, 3)])
    layers = [nn.Linear(4 * n + 1, hidden[1]), nn.ReLU(), nn.Linear(hidden[1], hidden[0]), nn.ReLU(), nn.Linear(hidden[0], 2 * v)]
    dec = nn.Sequential(*layers)
    edges = torch.randint(0, 4 * n, (2, 1000))
    bias = nn.Parameter(torch.zeros(4 * n))
    weight = nn.Parameter(torch.zeros(edges.shape[1]))
    params = list(trunk.parameters()) + list(heads.parameters()) + list(dec.parameters()) + [bias, weight]
    opt = torch.optim.Adam(params, lr=1e-3)
    x = torch.rand(batch, v)
    hits = (x > 0.5).float()
    lne = torch.rand(batch, 1)
    z0 = (torch.rand(batch, n) > 0.5).float()
    model_z = (torch.rand(chains, 4 * n) > 0.5).float()

    def energy(z):
        return -(z @ bias) - (z[:, edges[0]] * z[:, edges[1]]) @ weight

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
            loss = loss + ent + energy(z).mean() - energy(model_z).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return 1e3 * (time.perf_counter() - t) / steps


def calo4p_step_ms(steps, scheme, binary):
    out = subprocess.run(
        [binary, "train", "--synth", "ds1-photons", "--n-train", "256", "--n-val", "64", "--latent-per-partition", "64",
         "--hidden", "512,256", "--batch-size", "128", "--scheme", scheme, "--bench", str(steps), "--out", "unused"],
        check=True, capture_output=True, text=True, env=dict(os.environ, RAYON_NUM_THREADS="1"),
    ).stdout
    m = re.search(r"([0-9.]+) ms per step.*negative phase ([0-9.]+)%", out)
    if not m:
        sys.exit("unexpected calo4p output: " + out)
    return float(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--scheme", choices=["new", "old"], default="new")
    ap.add_argument("--calo4p", default=os.path.join(HERE, "..", "target", "release", "calo4p"))
    a = ap.parse_args()
    ensure_torch()
    ours, share = calo4p_step_ms(a.steps, a.scheme, a.calo4p)
    theirs = torch_step_ms(a.steps, a.scheme)
    print(f"calo4p (burn flex): {ours:.2f} ms/step (negative phase {share:.1f}%)")
    print(f"PyTorch CPU:        {theirs:.2f} ms/step")
    print(f"ratio calo4p / PyTorch: {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
