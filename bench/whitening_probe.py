"""Can the waves be learnt from z? A small head on top of a trained model's frozen decoder, trained by Adam to add
what the decoder misses on Bandai's waves, once on raw z and once on whitened z (`MotionCLIP.set_whitening`'s maths).

    python bench/whitening_probe.py                    # the shipped model `open`, 900 steps each
    python bench/whitening_probe.py --run runs/my-run --steps 300

The head reads (z, the frame's sinusoidal position) and outputs a residual pose per frame, its last layer at zero.
Printed every 300 steps: held-out wave MSE (decoder alone, decoder + head) and the mean wrist speed (m/s, relative to
the pelvis) of real windows, of the decoder's and of decoder + head's. On raw z the head barely moves: a trained z's
variances span orders of magnitude and the phase of a wave lives in the small directions; whitened, it learns them.
Needs Bandai-Namco ds-2 (`../shared/data/bandai-namco-ds2.tar.xz` or `MCL_BANDAI`); without it the bench says so and
exits 0. About 4 min on 2 cores.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WAVES = "wave-right-hand,wave-left-hand,wave-both-hands"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", default="open", help="run dir or shipped model (default open)")
    ap.add_argument("--steps", type=int, default=900, help="Adam steps per head (default 900)")
    args = ap.parse_args(argv)

    import torch
    import torch.nn as nn

    from mcl.data import sources
    from mcl.data.bandai import default_bandai_path
    from mcl.data.motion import Motion
    from mcl.latent.evaluate import limb_speeds
    from mcl.training.checkpoint import load

    if default_bandai_path() is None:
        print("Bandai-Namco ds-2 not found (../shared/data/bandai-namco-ds2.tar.xz or MCL_BANDAI): nothing to measure")
        return 0
    try:
        model = load(args.run).model.float().eval()
    except FileNotFoundError as e:
        sys.exit(f"whitening_probe: {e}")

    def windows(split: str, step: int):
        ms = [m.resample(30) for m in sources.load(f"bandai?split={split}&contents={WAVES}", progress=False)]
        return [m.slice(s, s + 60).face_forward() for m in ms for s in range(0, m.num_frames - 59, step)]

    @torch.no_grad()
    def tensors(ws):
        x = torch.stack([w.to_tensor() for w in ws])
        z = torch.cat([model.encode(x[i:i + 256]) for i in range(0, len(x), 256)])
        return x, z, torch.cat([model.decode(z[i:i + 256], 60) for i in range(0, len(x), 256)])

    def wrist_speed(x) -> float:
        return float(limb_speeds([Motion.from_tensor(t, fps=30.0) for t in x])["wrists"].mean())

    (xt, zt, bt), (xs, zs, bs) = tensors(windows("train", 5)), tensors(windows("test", 15))
    mean = zt.mean(0)
    var, vec = torch.linalg.eigh(torch.cov((zt - mean).T))
    print(f"{args.run}: {len(xt)} train / {len(xs)} held-out wave windows; z covariance eigenvalues max "
          f"{float(var.max()):.3g}, median {float(var.median()):.3g}")
    pe = model.pos.pe[:60]
    coords = {"raw z": torch.eye(len(mean)) / zt.norm(dim=-1).mean(),
              "whitened z": vec @ torch.diag((var.clamp_min(0) + 1e-3 * var.max()).rsqrt()) @ vec.T}
    for name, w in coords.items():
        torch.manual_seed(0)
        head = nn.Sequential(nn.Linear(len(mean) + pe.shape[1], 512), nn.GELU(), nn.Linear(512, 512), nn.GELU(),
                             nn.Linear(512, 150))
        nn.init.zeros_(head[-1].weight), nn.init.zeros_(head[-1].bias)
        opt = torch.optim.AdamW(head.parameters(), lr=1e-3)

        def residual(z):
            B = len(z)
            inp = torch.cat([((z - mean) @ w)[:, None].expand(B, 60, -1), pe[None].expand(B, 60, -1)], -1)
            return head(inp).reshape(B, 60, 25, 6).permute(0, 2, 3, 1)

        t0 = time.time()
        for step in range(args.steps + 1):
            idx = torch.randint(0, len(xt), (64,))
            loss = (bt[idx] + residual(zt[idx]) - xt[idx]).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 300 == 0 or step == args.steps:
                with torch.no_grad():
                    out = bs + residual(zs)
                print(f"{name:10s} step {step:4d}: held-out MSE decoder {float((bs - xs).square().mean()):.5f}, "
                      f"+ head {float((out - xs).square().mean()):.5f}; wrist m/s real {wrist_speed(xs):.2f}, "
                      f"decoder {wrist_speed(bs):.2f}, + head {wrist_speed(out):.2f} ({time.time() - t0:.0f} s)",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
