"""Training-step benchmark: the `paper` model (8 layers, d 512) at batch 20 × 60 frames on this CPU, ours vs a
reference built the way the official MotionCLIP code builds it.

Four measurements, each in its own subprocess (so peak RSS is its own), each with the fp32 matmul peak measured in
that same process (a 2048² `torch.mm`):
  ours-model   `mcl.model.MotionCLIP` (batch-first, fused attention paths), forward + backward + AdamW, MSE only
  ref-model    `bench/reference_motionclip.py` (seq-first, padding masks, output masking), same maths, same loss
  ours-full    + every loss term (rc, body via FK, vel, text and image from precomputed embedding tables)
  ref-full     + the official pipeline's per-step CLIP work: tokenise and encode the 20 texts and the 20 rendered
               224² images with ViT-B/32 every step (`random-clip`: CLIP weights are absent here, the cost is the same)
FLOPs are counted with `torch.utils.flop_counter.FlopCounterMode` (matmuls and attention), forward + backward.

    python bench/train_step.py                 # all four, 2 warm-up + 5 timed steps each
    python bench/train_step.py --threads 1 --steps 3
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("ours-model", "ref-model", "ours-full", "ref-full")


def matmul_peak(n: int = 2048, reps: int = 5) -> float:
    """Best fp32 GFLOP/s of an n×n×n `torch.mm` in this process."""
    import torch
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e9


def run_part(part: str, steps: int, warmup: int, batch: int, frames: int) -> dict:
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    sys.path.insert(0, str(ROOT / "bench"))
    from reference_motionclip import ReferenceMotionCLIP
    from mcl.body.skeleton import load_skeleton
    from mcl.config import LossConfig, preset
    from mcl.data import make_windows, synthetic_dataset
    from mcl.losses import compute_losses, reconstruction_losses, cosine_alignment
    from mcl.model import MotionCLIP

    peak = matmul_peak()
    torch.manual_seed(0)
    cfg = preset("paper").model
    cfg.latent_dim = 512
    ours = MotionCLIP(cfg).train()
    model = ReferenceMotionCLIP.from_ours(ours).train() if part.startswith("ref") else ours
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ws = make_windows(synthetic_dataset(batch, frames=frames), length=frames)
    x = torch.stack([w.to_tensor() for w in ws])                 # (B, 25, 6, T)
    mask = torch.ones(batch, frames, dtype=torch.bool)
    texts = [f"a person does motion number {i}" for i in range(batch)]
    loss_cfg = LossConfig()
    skeleton = load_skeleton()
    space = None
    if part == "ref-full":
        from mcl.spaces import get_space
        space = get_space("random-clip", verbose=False)
        images = np.random.default_rng(0).integers(0, 256, size=(batch, 224, 224, 3), dtype=np.uint8)
    text_table = torch.randn(batch, 512)                          # ours: looked up, never re-encoded
    image_table = torch.randn(batch, 512)
    idx = torch.arange(batch)

    def step():
        if part == "ours-model":
            z, x_hat = model(x)
            loss = torch.nn.functional.mse_loss(x_hat, x)
        elif part == "ref-model":
            z, x_hat = model(x, mask)
            loss = torch.nn.functional.mse_loss(x_hat, x)
        elif part == "ours-full":
            z, x_hat = model(x)
            loss, _ = compute_losses(z, x_hat, x, loss_cfg, text_table, idx, image_table, idx, skeleton)
        else:  # ref-full: the official pipeline encodes the CLIP texts and images inside every step
            z, x_hat = model(x, mask)
            terms = reconstruction_losses(x, x_hat, skeleton)
            with torch.no_grad():
                t_emb = space.encode_text(texts)
                i_emb = space.encode_image(images)
            loss = 100 * (terms["rc"] + terms["body"] + terms["vel"]) + cosine_alignment(z, t_emb) \
                + cosine_alignment(z, i_emb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    with FlopCounterMode(display=False) as fc:
        step()
    flops = fc.get_total_flops()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    ms = 1000 * float(np.median(times))
    return {"part": part, "threads": torch.get_num_threads(), "ms_per_step": ms, "windows_per_s": batch / ms * 1000,
            "gflop_per_step": flops / 1e9, "gflops": flops / 1e9 / (ms / 1000), "matmul_peak_gflops": peak,
            "pct_of_peak": 100 * flops / 1e9 / (ms / 1000) / peak, "peak_rss_mb":
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "times_ms": [round(1000 * t) for t in times]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=PARTS, help="run one measurement in this process (used internally)")
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset to run")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.part:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        print(json.dumps(run_part(args.part, args.steps, args.warmup, args.batch, args.frames)))
        return 0
    results = {}
    for part in args.parts.split(","):
        cmd = [sys.executable, __file__, "--part", part, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--batch", str(args.batch), "--frames", str(args.frames), "--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        if out.returncode:
            print(out.stderr[-3000:], file=sys.stderr)
            return out.returncode
        results[part] = json.loads(out.stdout.strip().splitlines()[-1])
    load = os.getloadavg()
    print(f"paper preset (8 layers, d 512, 4 heads, ff 1024), batch {args.batch} × {args.frames} frames, fp32, "
          f"{os.cpu_count()} CPU cores, load average {load[0]:.1f}")
    print(f"{'part':<11} {'thr':>3} {'ms/step':>9} {'win/s':>7} {'GFLOP':>7} {'GFLOP/s':>8} {'peak':>7} "
          f"{'%peak':>6} {'RSS MB':>7}")
    for r in results.values():
        print(f"{r['part']:<11} {r['threads']:>3} {r['ms_per_step']:>9.0f} {r['windows_per_s']:>7.1f} "
              f"{r['gflop_per_step']:>7.1f} {r['gflops']:>8.1f} {r['matmul_peak_gflops']:>7.1f} "
              f"{r['pct_of_peak']:>5.0f}% {r['peak_rss_mb']:>7.0f}")
    if "ours-model" in results and "ref-model" in results:
        print(f"model step speed-up vs reference (equal maths): "
              f"{results['ref-model']['ms_per_step'] / results['ours-model']['ms_per_step']:.2f}×  (target ≥ 1.0×)")
    if "ours-full" in results and "ref-full" in results:
        print(f"full training step speed-up vs reference pipeline: "
              f"{results['ref-full']['ms_per_step'] / results['ours-full']['ms_per_step']:.2f}×  (target ≥ 3×)")
    if "ours-model" in results:
        print(f"ours-model at {results['ours-model']['pct_of_peak']:.0f}% of the measured matmul peak (target ≥ 70%)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
