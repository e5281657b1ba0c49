"""`auto`: CLIP ViT-B/32 when its weights are already on this machine, else MiniLM; one printed line says which.

`auto` never downloads (a notebook should not silently pull 338 MB) and never picks `random-clip`.
"""
from __future__ import annotations

from .base import SPACES, Space
from .clip_loader import ENV_VAR, find_local_clip_weights


def choose_auto(weights=None) -> tuple[str, str]:
    """`(space name, one-line reason)` that `get_space("auto")` would use. Builds nothing.

    Example: `choose_auto()` → `("minilm", "CLIP weights not found at ...; using minilm (text-only): ...")`.
    """
    path, where = find_local_clip_weights(weights)
    if path is not None:
        return "clip-vit-b32", f"CLIP weights found at {path}; using clip-vit-b32 (text + image)"
    return "minilm", (f"CLIP weights not found at {where} (set {ENV_VAR}); using minilm (text-only): "
                      f"image alignment disabled")


def auto_space(weights=None, device: str = "cpu", verbose: bool = True) -> Space:
    """Build the space `choose_auto` picks, printing exactly one line (when `verbose`) that says which and why.

    Example: `space = auto_space()` prints `auto: CLIP weights not found at ...; using minilm (text-only): ...`.
    """
    name, why = choose_auto(weights)
    if verbose:
        print(f"auto: {why}")
    # the chosen space is built quietly: the line above is the whole story
    if name == "clip-vit-b32":
        space = SPACES[name](weights=weights, device=device, verbose=False, allow_download=False)
    else:
        space = SPACES[name](device=device, verbose=False)
    space.verbose = verbose  # progress bars for long encodes still show
    return space
