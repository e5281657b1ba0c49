"""`mcl import-official`, `mcl export-official`, `mcl convert-official-amass`: the official MotionCLIP's files.

    mcl import-official exps/paper-model/checkpoint_0100.pth.tar --out runs/official-paper
    mcl generate "a person jumps" --run runs/official-paper -o jump.mp4        (needs CLIP ViT-B/32 weights)
    mcl export-official runs/official-paper --out exps/from-mcl/checkpoint_0100.pth.tar
    mcl convert-official-amass data/amass_db/amass_30fps_vald.pt --trust --out amass_vald.npz
"""
from __future__ import annotations

import argparse

from ..data.official_amass import convert_to_npz, read_amass_db
from .checkpoint import export_official, import_official


def run_import(args) -> int:
    import_official(args.checkpoint, args.opt, args.out, space=args.space)
    return 0


def run_export(args) -> int:
    export_official(args.run, args.out, which=args.which)
    return 0


def run_convert(args) -> int:
    out = convert_to_npz(args.file, args.out, trust=args.trust)
    n = len(read_amass_db(out)["thetas"])
    print(f"wrote {out}: {n} sequences (rendered images left out); load it with official-amass:{out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("import-official", help="import an official GuyTevet/MotionCLIP checkpoint as an mcl run",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="the official .pth.tar, e.g. exps/paper-model/checkpoint_0100.pth.tar "
                                      "(read with torch.load(weights_only=True): tensors only)")
    p.add_argument("--opt", help="its opt.yaml (default: the opt.yaml beside the checkpoint; the paper's values "
                                 "when there is none)")
    p.add_argument("--out", default="runs/official-paper", help="run dir to write (default runs/official-paper)")
    p.add_argument("--space", default="clip-vit-b32",
                   help="frozen space the run decodes texts with (default clip-vit-b32, the paper's; random-clip "
                        "only for plumbing tests)")
    p.set_defaults(func=run_import)

    p = sub.add_parser("export-official", help="write an mcl run as an official checkpoint (+ opt.yaml)",
                       description="Write a run with the official layout (imported, or trained with query_tokens=2, "
                                   "codec official, a 512-d CLIP space) as a state dict the official code loads with "
                                   "load_model_wo_clip. Example: mcl export-official runs/official-paper "
                                   "--out exps/from-mcl/checkpoint_0100.pth.tar")
    p.add_argument("run", help="run dir")
    p.add_argument("--out", required=True, help="checkpoint file to write (an opt.yaml is written beside it unless "
                                                "one exists)")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="checkpoint of the run (default "
                                                                                 "latest)")
    p.set_defaults(func=run_export)

    p = sub.add_parser("convert-official-amass", help="convert an official amass_db pickle to a plain .npz",
                       description="The official amass_db/*.pt files are joblib pickles; this reads one (only with "
                                   "--trust, and only numpy/joblib globals) and writes an .npz that loads without "
                                   "unpickling. Example: mcl convert-official-amass data/amass_db/amass_30fps_vald.pt "
                                   "--trust --out amass_vald.npz")
    p.add_argument("file", help="an official amass_db .pt file")
    p.add_argument("--out", required=True, help=".npz to write")
    p.add_argument("--trust", action="store_true", help="I trust this file: unpickle it (allow-listed globals only)")
    p.set_defaults(func=run_convert)
