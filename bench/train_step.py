"""Training-step benchmark: the `paper` model (8 layers, d 512) at batch 20 × 60 frames on this CPU, ours vs a
reference built the way the official MotionCLIP code builds it.

Three pairs, each in its own subprocess, ours and the reference stepped alternately (A B A B …) so that load from
other processes hits both alike, with the fp32 matmul peak (a 2048² `torch.mm`, best of repeated runs) measured in
that same process:
  model: ours-model  `mcl.model.MotionCLIP` (batch-first, fused paths, one-token cross-attention), fwd + bwd + AdamW
         ref-model   `bench/reference_motionclip.py` (seq-first, padding masks, output masking), same maths, same MSE
  full:  ours-full   + every loss term (rc, body on SMPL-24 joints by FK, vel, text and image looked up in
                     precomputed embedding tables): `mcl train`'s default without SMPL files
         ours-full-smpl  the same with the body term on SMPL vertices (`--body vertices`, what `auto` picks when a
                     user supplies SMPL files)
         ref-full    + the official pipeline's per-step work: the body term on SMPL vertices (`Rotation2xyz` with
                     its defaults, jointstype "vertices": an smplx SMPL forward for the input and for the output),
                     and CLIP encoding the 20 tokenised 77-token texts and the 20 preprocessed 224² images with
                     ViT-B/32 inside every step. SMPL and CLIP weights are absent here: `random-clip` and an
                     SMPL-format model of SMPL's exact shapes with seeded random values (same architecture, same cost)
  full-bf16: as full, ours under `torch.autocast(bfloat16)` (`mcl train --precision bf16`), the reference in fp32
Peak RSS: ours = the process peak after ours' warm-up; ref = the process peak at the end (all models, + CLIP, SMPL).
FLOPs are counted with `torch.utils.flop_counter.FlopCounterMode` (matmuls and attention), forward + backward.

    python bench/train_step.py                 # both pairs, 2 warm-up + 5 timed steps each
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
PAIRS = ("model", "full", "full-bf16")  # full-bf16: ours under bf16 autocast, the reference in fp32


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


def run_pair(pair: str, steps: int, warmup: int, batch: int, frames: int) -> dict:
    """Time ours and the reference for `pair` ("model" or "full") in this process, steps interleaved A B A B …
    so that load from other processes hits both alike; the matmul peak is re-measured between rounds (best kept)."""
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    sys.path.insert(0, str(ROOT / "bench"))
    from reference_motionclip import ReferenceMotionCLIP, official_vertices, random_smpl_mesh
    from mcl.body.skeleton import load_skeleton
    from mcl.training.config import LossConfig, preset
    from mcl.data import make_windows, synthetic_dataset
    from mcl.training.losses import compute_losses, cosine_alignment, reconstruction_losses
    from mcl.model import MotionCLIP

    peak = matmul_peak()
    torch.manual_seed(0)
    cfg = preset("paper").model
    cfg.latent_dim = 512
    ours = MotionCLIP(cfg).train()
    ref = ReferenceMotionCLIP.from_ours(ours).train()
    opt_o = torch.optim.AdamW(ours.parameters(), lr=1e-4)
    opt_r = torch.optim.AdamW(ref.parameters(), lr=1e-4)
    ws = make_windows(synthetic_dataset(batch, frames=frames), length=frames)
    x = torch.stack([w.to_tensor() for w in ws])                 # (B, 25, 6, T)
    mask = torch.ones(batch, frames, dtype=torch.bool)
    loss_cfg, skeleton = LossConfig(), load_skeleton()
    text_table, image_table = torch.randn(batch, 512), torch.randn(batch, 512)  # ours: looked up, never re-encoded
    idx = torch.arange(batch)

    bf16 = pair.endswith("bf16")

    def ours_step(mesh=None):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            z, x_hat = ours(x)
        z, x_hat = z.float(), x_hat.float()
        if pair == "model":
            loss = torch.nn.functional.mse_loss(x_hat, x)
        else:
            loss, _ = compute_losses(z, x_hat, x, loss_cfg, text_table, idx, image_table, idx, skeleton, mesh=mesh)
        opt_o.zero_grad(set_to_none=True)
        loss.backward()
        opt_o.step()

    for _ in range(warmup):
        ours_step()
    rss_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    steps_by_name = {"ours": ours_step}

    if pair.startswith("full"):  # the official pipeline: SMPL vertices, CLIP on the texts and images, every step
        import tempfile
        smpl_mesh = random_smpl_mesh(tempfile.mkdtemp(prefix="bench-smpl-"))
        if pair == "full":
            steps_by_name["ours-smpl"] = lambda: ours_step(smpl_mesh)
            for _ in range(warmup):
                ours_step(smpl_mesh)
        from mcl.spaces import get_space
        from mcl.spaces.clip_vit import tokenize
        from mcl.spaces.preprocess import clip_preprocess
        clip_model = get_space("random-clip", verbose=False).model
        tokens = tokenize([f"a person does motion number {i}" for i in range(batch)])
        rng = np.random.default_rng(0)
        pixels = clip_preprocess([rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(batch)])

    def ref_step():
        z, x_hat = ref(x, mask)
        if pair == "model":
            loss = torch.nn.functional.mse_loss(x_hat, x)
        else:
            terms = reconstruction_losses(x, x_hat, body=False)                  # rc, vel
            x_xyz = official_vertices(smpl_mesh.model, x)                         # MOTIONCLIP.forward: x_xyz
            rcxyz = torch.nn.functional.mse_loss(official_vertices(smpl_mesh.model, x_hat), x_xyz)
            with torch.no_grad():
                t_emb = clip_model.encode_text(tokens).float()
                i_emb = clip_model.encode_image(pixels).float()
            loss = 100 * (terms["rc"] + rcxyz + terms["vel"]) + cosine_alignment(z, t_emb) \
                + cosine_alignment(z, i_emb)
        opt_r.zero_grad(set_to_none=True)
        loss.backward()
        opt_r.step()

    for _ in range(warmup):
        ref_step()
    steps_by_name["ref"] = ref_step
    flops = {}
    for name, fn in steps_by_name.items():
        with FlopCounterMode(display=False) as fc:
            fn()
        flops[name] = fc.get_total_flops()
    times = {name: [] for name in steps_by_name}
    for _ in range(steps):
        for name, fn in steps_by_name.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
        peak = max(peak, matmul_peak(reps=3))
    rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {}
    for name in steps_by_name:
        ms = 1000 * float(np.median(times[name]))
        gflops = flops[name] / 1e9 / (ms / 1000)
        out[f"{name}-{pair}"] = {
            "part": f"{name}-{pair}", "threads": torch.get_num_threads(), "ms_per_step": ms,
            "windows_per_s": batch / ms * 1000, "gflop_per_step": flops[name] / 1e9, "gflops": gflops,
            "matmul_peak_gflops": peak, "pct_of_peak": 100 * gflops / peak,
            "peak_rss_mb": rss_ours if name == "ours" else rss_end,  # ours-smpl: after SMPL and the reference
            "times_ms": [round(1000 * t) for t in times[name]]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pair", choices=PAIRS, help="run one pair in this process (used internally)")
    ap.add_argument("--pairs", default=",".join(PAIRS), help="comma-separated subset to run")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.pair:
        import torch
        if args.threads:
            torch.set_num_threads(args.threads)
        print(json.dumps(run_pair(args.pair, args.steps, args.warmup, args.batch, args.frames)))
        return 0
    results = {}
    for pair in args.pairs.split(","):
        cmd = [sys.executable, __file__, "--pair", pair, "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--batch", str(args.batch), "--frames", str(args.frames), "--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        if out.returncode:
            print(out.stderr[-3000:], file=sys.stderr)
            return out.returncode
        results.update(json.loads(out.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()
    print(f"paper preset (8 layers, d 512, 4 heads, ff 1024), batch {args.batch} × {args.frames} frames, fp32, "
          f"{os.cpu_count()} CPU cores, load average {load[0]:.1f}")
    print(f"{'part':<14} {'thr':>3} {'ms/step':>9} {'win/s':>7} {'GFLOP':>7} {'GFLOP/s':>8} {'peak':>7} "
          f"{'%peak':>6} {'RSS MB':>7}")
    for r in results.values():
        print(f"{r['part']:<14} {r['threads']:>3} {r['ms_per_step']:>9.0f} {r['windows_per_s']:>7.1f} "
              f"{r['gflop_per_step']:>7.1f} {r['gflops']:>8.1f} {r['matmul_peak_gflops']:>7.1f} "
              f"{r['pct_of_peak']:>5.0f}% {r['peak_rss_mb']:>7.0f}")
    if "ours-model" in results and "ref-model" in results:
        print(f"model step speed-up vs reference (equal maths): "
              f"{results['ref-model']['ms_per_step'] / results['ours-model']['ms_per_step']:.2f}×  (target ≥ 1.0×)")
    if "ours-full" in results and "ref-full" in results:
        print(f"full training step speed-up vs reference pipeline: "
              f"{results['ref-full']['ms_per_step'] / results['ours-full']['ms_per_step']:.2f}×  (target ≥ 3×)")
    if "ours-smpl-full" in results and "ref-full" in results:
        print(f"full training step speed-up vs reference pipeline, ours also on SMPL vertices: "
              f"{results['ref-full']['ms_per_step'] / results['ours-smpl-full']['ms_per_step']:.2f}×")
    if "ours-full-bf16" in results and "ref-full-bf16" in results:
        print(f"full training step speed-up vs reference pipeline, ours with --precision bf16: "
              f"{results['ref-full-bf16']['ms_per_step'] / results['ours-full-bf16']['ms_per_step']:.2f}×  (target ≥ 3×)")
    if "ours-model" in results:
        print(f"ours-model at {results['ours-model']['pct_of_peak']:.0f}% of the measured matmul peak (target ≥ 70%)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
