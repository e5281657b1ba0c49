"""Loading OpenAI CLIP without `import clip`, finding its ViT-B/32 weights, and building the model in float32.

Why not `import clip`: the `openai-clip` package's `__init__` runs `clip/clip.py`, which imports `pkg_resources`
and `torchvision` at module level; neither imports in this environment (and torchvision is off-limits here, see
docs/spaces.md). The two modules we need, `clip/model.py` (the `CLIP` nn.Module and `build_model`) and
`clip/simple_tokenizer.py` (BPE tokenizer + its vocab `bpe_simple_vocab_16e6.txt.gz`), only import torch, numpy,
ftfy and regex. So we locate the package directory with `importlib.util.find_spec` (which does not execute the
package) and execute just those two files under private module names. This is the only place mcl touches the
package's internals; if a future `openai-clip` release moves them, this is the file to fix.

Weights, in order: an explicit path (argument, or env `MCL_CLIP_WEIGHTS`), the cache `~/.cache/clip/ViT-B-32.pt`
that `clip.load` itself uses, then a download of the official file (SHA-256 checked). Accepted formats: the
TorchScript archive OpenAI publishes (read with `torch.jit.load(...).state_dict()`: TorchScript is a restricted
program format, not arbitrary pickled Python), a plain state dict saved with `torch.save` (read with
`torch.load(weights_only=True)`), or safetensors.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import urllib.error
import urllib.request
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path
from types import ModuleType, SimpleNamespace

import torch

from .base import SpaceUnavailable, display_path
from .fingerprint import file_sha256

# From `_MODELS["ViT-B/32"]` in clip/clip.py; the path component before the file name is the file's SHA-256.
OFFICIAL_URL = ("https://openaipublic.azureedge.net/clip/models/"
                "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt")
OFFICIAL_SHA256 = OFFICIAL_URL.split("/")[-2]
OFFICIAL_FILENAME = "ViT-B-32.pt"
ENV_VAR = "MCL_CLIP_WEIGHTS"

# ViT-B/32 hyper-parameters, in the argument order of `clip.model.CLIP.__init__`.
VIT_B32 = dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=32,
               context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8,
               transformer_layers=12)


def default_weights_path() -> Path:
    """`~/.cache/clip/ViT-B-32.pt`, where `clip.load("ViT-B/32")` downloads to."""
    return Path("~/.cache/clip").expanduser() / OFFICIAL_FILENAME


# -- the two modules ----------------------------------------------------------------------------------------------------
def _exec_file(module_name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # registered before exec so dataclasses/pickling inside can find it
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=None)
def clip_modules() -> SimpleNamespace:
    """`SimpleNamespace(model=clip/model.py, simple_tokenizer=clip/simple_tokenizer.py)`, loaded once.

    Example: `clip_modules().model.CLIP`, `clip_modules().simple_tokenizer.SimpleTokenizer()`.
    """
    spec = importlib.util.find_spec("clip")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise SpaceUnavailable("the `openai-clip` package is not installed: pip install openai-clip")
    pkg = Path(list(spec.submodule_search_locations)[0])
    missing = [f for f in ("model.py", "simple_tokenizer.py", "bpe_simple_vocab_16e6.txt.gz") if not (pkg / f).is_file()]
    if missing:
        raise SpaceUnavailable(f"{pkg}: openai-clip files {missing} not found; reinstall openai-clip")
    return SimpleNamespace(model=_exec_file("mcl_vendored_clip_model", pkg / "model.py"),
                           simple_tokenizer=_exec_file("mcl_vendored_clip_tokenizer", pkg / "simple_tokenizer.py"))


# -- finding the weights ------------------------------------------------------------------------------------------------
def find_local_clip_weights(weights=None) -> tuple[Path | None, str]:
    """Look for ViT-B/32 weights on this machine, never downloading. Returns `(path or None, where it looked)`.

    An explicit `weights` (or `$MCL_CLIP_WEIGHTS`) that does not exist is an error, not a silent fallback.
    Example: `path, where = find_local_clip_weights()`.
    """
    for given, origin in ((weights, "weights="), (os.environ.get(ENV_VAR), f"${ENV_VAR}")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"CLIP weights {origin}{str(given)!r} not found: no such file. Put the "
                                        f"ViT-B/32 checkpoint there or point {origin.rstrip('=')} at it")
            return path, f"{origin}{path}"
    path = default_weights_path()
    return (path if path.is_file() else None), display_path(path)


def download_clip_weights(url: str = OFFICIAL_URL, target: Path | None = None, sha256: str | None = None) -> Path:
    """Download the official ViT-B/32 checkpoint to `~/.cache/clip/ViT-B-32.pt` with a progress bar, check SHA-256.

    The file is written to a temporary name and moved into place only once its checksum matches.
    Raises `SpaceUnavailable` (saying where to put the file) when offline. Example: `download_clip_weights()`.
    """
    from tqdm.auto import tqdm
    target = Path(target or default_weights_path())
    sha256 = sha256 or url.rstrip("/").split("/")[-2]
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    hint = (f"put the official file (sha256 {sha256}) at {target}, or set {ENV_VAR}=/path/to/{OFFICIAL_FILENAME} "
            f"(on a machine with internet: python -c \"from mcl.spaces.clip_loader import download_clip_weights; "
            f"download_clip_weights()\", then copy the file)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=30) as src, open(tmp, "wb") as out:
            total = int(src.info().get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"CLIP {target.name}") as bar:
                for block in iter(lambda: src.read(1 << 20), b""):
                    out.write(block)
                    h.update(block)
                    bar.update(len(block))
    except (urllib.error.URLError, OSError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        raise SpaceUnavailable(f"could not download CLIP ViT-B/32 weights from {url} ({e}); {hint}") from e
    if h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise SpaceUnavailable(f"downloaded {url} but its SHA-256 is {h.hexdigest()}, expected {sha256} "
                               f"(corrupted or intercepted download; nothing was saved); {hint}")
    os.replace(tmp, target)
    return target


def resolve_clip_weights(weights=None, allow_download: bool = True) -> Path:
    """The checkpoint to load: explicit path / `$MCL_CLIP_WEIGHTS` / `~/.cache/clip/ViT-B-32.pt` / download.

    Example: `resolve_clip_weights(allow_download=False)` raises `SpaceUnavailable` when there is no local file.
    """
    path, where = find_local_clip_weights(weights)
    if path is not None:
        return path
    if not allow_download:
        raise SpaceUnavailable(f"CLIP weights not found at {where} (set {ENV_VAR} or pass weights=...)")
    return download_clip_weights()


# -- reading the weights ------------------------------------------------------------------------------------------------
def _is_torchscript(path: Path) -> bool:
    # TorchScript archives carry their program (`<name>/code/...`, `constants.pkl`); torch.save files do not.
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any("/code/" in n or n.endswith("/constants.pkl") for n in z.namelist())


def _is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return path.suffix == ".safetensors" or (len(head) == 9 and head[8:9] == b"{" and not zipfile.is_zipfile(path))


def load_clip_state_dict(path) -> dict[str, torch.Tensor]:
    """CLIP state dict from a TorchScript archive, a `torch.save`d state dict, or safetensors. Never unpickles code.

    Example: `sd = load_clip_state_dict("~/.cache/clip/ViT-B-32.pt"); sd["visual.proj"].shape == (768, 512)`.
    """
    path = Path(path).expanduser()
    try:
        if _is_torchscript(path):
            with warnings.catch_warnings():  # torch deprecates TorchScript, but OpenAI publishes CLIP in it
                warnings.simplefilter("ignore", DeprecationWarning)
                sd = torch.jit.load(str(path), map_location="cpu").state_dict()
        elif _is_safetensors(path):
            from safetensors.torch import load_file
            sd = load_file(str(path), device="cpu")
        else:
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 — any reader failure becomes one clear message
        raise ValueError(f"{path}: cannot read CLIP weights ({type(e).__name__}: {e}); expected OpenAI's "
                         f"TorchScript {OFFICIAL_FILENAME}, a torch.save'd state dict, or a .safetensors file") from e
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]  # a checkpoint wrapping the weights
    if not isinstance(sd, dict) or "text_projection" not in sd or "token_embedding.weight" not in sd:
        keys = list(sd)[:5] if isinstance(sd, dict) else type(sd).__name__
        raise ValueError(f"{path}: not a CLIP state dict (no 'text_projection'/'token_embedding.weight'; "
                         f"first keys: {keys})")
    return dict(sd)


def build_clip(state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
    """`clip.model.build_model` (architecture inferred from the keys), then float32 weights, eval mode.

    `build_model` casts to fp16 before loading, which would round fp32 checkpoints; we load the original tensors
    again after `.float()`, so fp32 weights round-trip exactly and OpenAI's fp16 ones are widened losslessly.
    Example: `model = build_clip(load_clip_state_dict(path))`.
    """
    tensors = {k: v for k, v in state_dict.items() if k not in ("input_resolution", "context_length", "vocab_size")}
    model = clip_modules().model.build_model(dict(tensors)).float()
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval().requires_grad_(False)


def clip_architecture(model: torch.nn.Module) -> dict:
    """The `VIT_B32`-style hyper-parameters of a built CLIP model (to check a checkpoint really is ViT-B/32)."""
    v = model.visual
    return dict(embed_dim=model.text_projection.shape[1], image_resolution=v.input_resolution,
                vision_layers=len(v.transformer.resblocks), vision_width=v.conv1.out_channels,
                vision_patch_size=v.conv1.kernel_size[0], context_length=model.context_length,
                vocab_size=model.vocab_size, transformer_width=model.ln_final.weight.shape[0],
                transformer_heads=model.transformer.resblocks[0].attn.num_heads,
                transformer_layers=len(model.transformer.resblocks))


def check_official(path: Path, sha256: str) -> str | None:
    """Compare a checkpoint with the published ViT-B/32 file. Warns on a named-official file with another hash.

    Returns a one-line note for the log, or None when it is the official file.
    """
    if sha256 == OFFICIAL_SHA256:
        return None
    if Path(path).name == OFFICIAL_FILENAME:
        warnings.warn(f"{path} is named like OpenAI's ViT-B/32 checkpoint but its SHA-256 is {sha256}, not the "
                      f"published {OFFICIAL_SHA256}: the file is corrupted or not the official one, so embeddings "
                      f"will not match the paper's. Delete it and re-download, or rename it if it is a deliberate "
                      f"conversion", stacklevel=3)
        return "SHA-256 MISMATCH with the official file (see warning)"
    return f"not the official file (sha256 {sha256[:12]}…); fine for a converted copy"
