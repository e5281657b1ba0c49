"""Configs for the MotionCLIP model, its losses and training: plain dataclasses with named presets.

`preset("paper")` is the paper's setup (8 layers, d 512, 4 heads, ff 1024; AdamW 1e-4, batch 20, seed 10);
`preset("cpu")` is a small model that trains the DeepMimic demo in minutes on two CPU cores.
CLI flags and notebook parameters map onto `TrainConfig` fields: `preset("cpu", epochs=5, model={"n_layers": 2})`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..validate import check_number


@dataclass
class ModelConfig:
    """The transformer auto-encoder. `latent_dim` is the frozen space's dim (None: taken from the space at train time).

    When `latent_dim != d_model`, linear projections map the query-token output into z and z back into the decoder's
    memory token, so a text embedding can still be decoded directly.
    Example: `ModelConfig(n_layers=2, d_model=64, n_heads=2, d_ff=128, latent_dim=32)`.
    """
    n_layers: int = 8
    d_model: int = 512
    n_heads: int = 4
    d_ff: int = 1024
    dropout: float = 0.1
    activation: str = "gelu"
    latent_dim: int | None = None
    max_frames: int = 5000  # length of the sinusoidal table (as the official code)
    # Learned tokens prepended to the frames; z is the output at the first. The official model has two (mu, sigma):
    # its sigma token is never read but takes part in attention and shifts the frames' positions by one.
    query_tokens: int = 1
    # The motion <-> tensor convention the weights were trained with (`mcl.codec`): "mcl", or "official" for
    # checkpoints imported from GuyTevet/MotionCLIP. encode/decode take and return mcl tensors either way.
    codec: str = "mcl"

    def __post_init__(self):
        for name in ("n_layers", "d_model", "n_heads", "d_ff", "max_frames"):
            check_number(f"model.{name}", getattr(self, name), "count")
        check_number("model.latent_dim", self.latent_dim, "count", optional=True)
        check_number("model.dropout", self.dropout, "fraction")
        if self.d_model % self.n_heads:
            raise ValueError(f"model.d_model={self.d_model} is not divisible by model.n_heads={self.n_heads}")
        if self.query_tokens < 1:
            raise ValueError(f"model.query_tokens={self.query_tokens}: expected 1 (mcl) or 2 (official mu, sigma)")
        if self.codec not in ("mcl", "official"):
            raise ValueError(f"model.codec={self.codec!r}: expected 'mcl' or 'official'")


@dataclass
class LossConfig:
    """Loss weights (paper defaults) and the alignment form for the text/image terms.

    `alignment="cosine"`: 1 − cos(z, e), the paper. `"infonce"`: symmetric InfoNCE over the batch with `temperature`;
    windows that share a text are masked out of each other's negatives (see `mcl.training.losses.infonce_alignment`).
    Example: `LossConfig(w_image=0.0, alignment="infonce")`.
    """
    w_rc: float = 100.0      # MSE of rot6d + translation
    w_body: float = 100.0    # MSE of body positions: see `body`
    w_vel: float = 100.0     # MSE of frame-to-frame differences of the pose tensor
    w_text: float = 1.0
    w_image: float = 1.0
    # Not in the paper (TMR/TEMOS-style): also decode each window's text embedding, put on the scale of the window's
    # own z, and ask for the window back (MSE of rot6d + translation). It trains the decoder on the text side of the
    # space too, which text-to-motion needs when the data are too few to pull z onto the text by cosine alone.
    w_text_rc: float = 0.0
    alignment: str = "cosine"
    temperature: float = 0.07
    # the body term's points: "joints" (SMPL-24 by forward kinematics, no SMPL files needed), "vertices" (SMPL's 6890,
    # the paper; needs MCL_SMPL_DIR), "auto" (vertices when SMPL files are configured; resolved when training starts)
    body: str = "auto"

    def __post_init__(self):
        for name in ("w_rc", "w_body", "w_vel", "w_text", "w_image", "w_text_rc"):
            check_number(f"loss.{name}", getattr(self, name), "nonneg")
        check_number("loss.temperature", self.temperature, "positive")
        if self.alignment not in ("cosine", "infonce"):
            raise ValueError(f"loss.alignment={self.alignment!r}: expected 'cosine' or 'infonce'")
        if self.body not in ("auto", "joints", "vertices"):
            raise ValueError(f"loss.body={self.body!r}: expected 'auto', 'joints' or 'vertices'")


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved as JSON in the run dir.

    Data: `data` is a source spec (`deepmimic`, `synthetic`, `amass:...`); motions are resampled to `fps`, cut into
    `chunk_frames`-frame non-overlapping chunks and each epoch a random `window_frames` window of every chunk is used
    (the paper); `fixed_windows=True` uses fixed non-overlapping windows instead. Validation: `val_split="time"` holds
    out the last `val_fraction` of every clip, `"clip"` holds out whole clips chosen by a hash of their names,
    `"mirror"` validates on the left-right mirror images of all clips (DeepMimic: one short clip per action),
    `"auto"` picks `clip` when there are ≥ 50 clips, else `mirror` (see `mcl.training.batches.split_motions`).
    Example: `TrainConfig(data="deepmimic", space="minilm", model=ModelConfig(n_layers=4, d_model=256))`.
    """
    preset: str = "paper"
    data: str = "deepmimic"
    space: str = "auto"
    out: str = "runs/run"
    epochs: int = 100
    batch_size: int = 20
    lr: float = 1e-4
    weight_decay: float = 0.01    # torch's AdamW default, which the official code uses
    optimizer: str = "adamw"      # "adamw" (the paper) or "sgd" (plain SGD: an update linear in the gradient)
    # "constant" (the paper) or "cosine": linear warm-up over `warmup_steps`, then cosine decay to `min_lr_ratio`·lr
    # at the last step (nanoGPT's schedule); the lr is a function of the step alone, so resume stays exact
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    grad_clip: float | None = None
    seed: int = 10
    fps: float = 30.0
    window_frames: int = 60
    chunk_frames: int = 100
    fixed_windows: bool = False
    val_split: str = "auto"
    val_fraction: float = 0.2
    max_steps: int | None = None   # stop (and checkpoint) after this many optimizer steps in total
    checkpoint_every: int = 0      # also checkpoint every N steps (0: only at the end of epochs)
    checkpoint_seconds: float = 60.0  # end-of-epoch checkpoints at most this often (always after the last epoch)
    resume: bool = False
    overwrite: bool = False        # start over in a run dir that holds a run (its checkpoints are set aside first)
    device: str = "auto"
    precision: str = "fp32"        # "bf16": autocast the model's matmuls to bfloat16 (CPUs with AVX512-BF16/AMX, GPUs)
    threads: int = 0               # CPU threads for torch (0: torch's default); 1 is far faster on a busy machine
    cache_dir: str | None = None
    progress: bool = True
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self):
        if isinstance(self.model, dict):
            self.model = ModelConfig(**self.model)
        if isinstance(self.loss, dict):
            self.loss = LossConfig(**self.loss)
        self._check_numbers()
        if self.val_split not in ("auto", "time", "clip", "mirror", "none"):
            raise ValueError(f"val_split={self.val_split!r}: expected 'auto', 'time', 'clip', 'mirror' or 'none'")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"precision={self.precision!r}: expected 'fp32' or 'bf16'")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"lr_schedule={self.lr_schedule!r}: expected 'constant' or 'cosine'")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"warmup_steps={self.warmup_steps}, min_lr_ratio={self.min_lr_ratio}: expected "
                             f"warmup_steps ≥ 0 and 0 ≤ min_lr_ratio ≤ 1")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer={self.optimizer!r}: expected 'adamw' or 'sgd'")
        if self.chunk_frames < self.window_frames:
            raise ValueError(f"chunk_frames={self.chunk_frames} < window_frames={self.window_frames}")

    def _check_numbers(self) -> None:
        """Every number where it is parsed: counts ≥ 1, rates > 0, all finite, no list or string for a number;
        a run that would take zero steps is refused here rather than printing a run dir with no checkpoint."""
        for name in ("epochs", "batch_size", "window_frames", "chunk_frames"):
            check_number(name, getattr(self, name), "count")
        check_number("max_steps", self.max_steps, "count", optional=True)
        for name in ("warmup_steps", "checkpoint_every", "threads", "seed"):
            check_number(name, getattr(self, name), "index")
        for name in ("lr", "fps"):
            check_number(name, getattr(self, name), "positive")
        check_number("grad_clip", self.grad_clip, "positive", optional=True)
        for name in ("weight_decay", "min_lr_ratio", "checkpoint_seconds"):
            check_number(name, getattr(self, name), "nonneg")
        check_number("val_fraction", self.val_fraction, "fraction")
        for name in ("data", "space", "out", "device"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a non-empty string")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | None = None) -> "TrainConfig":
        """A TrainConfig from its `to_dict()` form; `source` (the JSON file it came from) is named in every error.

        Example: `TrainConfig.from_dict(json.load(open("runs/x/config.json"))["config"], "runs/x/config.json")`.
        """
        where = f"{source}: " if source else ""
        if not isinstance(d, dict):
            raise ValueError(f"{where}the run config is a {type(d).__name__}, expected a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"{where}unknown TrainConfig field(s) {sorted(unknown)}; known: {sorted(known)}")
        for key in ("model", "loss"):
            if key in d and not isinstance(d[key], dict):
                raise ValueError(f"{where}{key}={d[key]!r}: expected a JSON object")
        try:
            return cls(**d)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}{e}" + (" — fix the value in that file" if source else "")) from None


PRESETS: dict[str, TrainConfig] = {
    # Tevet et al. 2022: 8 layers, d 512, 4 heads, ff 1024, GELU, dropout 0.1; AdamW lr 1e-4, batch 20, seed 10.
    "paper": TrainConfig(preset="paper", epochs=100, model=ModelConfig()),
    # Small enough for two CPU cores: the DeepMimic demo (15 clips) trains in about a quarter of an hour.
    # 15 DeepMimic clips are far too few for the paper's weights to make text decodable: the text term is 10× the
    # paper's and the text_rc term is on (see LossConfig). Fixed windows make text → motion a function (a random
    # window of a looped run/backflip/dance has a random phase, and a decoder fed one text learns their blurred mean);
    # batch 8 gives 2 steps an epoch; cosine decay with warm-up and clipping keep the long run stable (at a constant
    # 3e-4 it spiked near epoch 1470). One torch thread: this small model at batch 8 stepped 1.15/s with 2 threads
    # on the 2-core machine and ≈ 1.9/s with 1 (another job on the other core); `threads=0` takes torch's default.
    # Measured on DeepMimic (docs/training.md, the preset study): own clip nearest to its generated text 15/15 (random
    # windows, constant lr: 12/15; paper weights: 1/15).
    "cpu": TrainConfig(preset="cpu", epochs=1000, lr=3e-4, batch_size=8, fixed_windows=True, lr_schedule="cosine",
                       warmup_steps=100, grad_clip=1.0, threads=1, out="runs/deepmimic-cpu",
                       model=ModelConfig(n_layers=4, d_model=256, n_heads=4, d_ff=512),
                       loss=LossConfig(w_text=10.0, w_text_rc=100.0)),
}


def merge(cfg: TrainConfig, **overrides) -> TrainConfig:
    """`cfg` with `overrides` applied; `model=` / `loss=` may be dicts that update only the keys they name.

    Example: `merge(preset("cpu"), epochs=3, model={"n_layers": 2})`.
    """
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(known)}")
    for key, sub in (("model", cfg.model), ("loss", cfg.loss)):
        if isinstance(overrides.get(key), dict):
            overrides[key] = replace(sub, **overrides[key])
    return replace(cfg, **overrides)


def preset(name: str = "paper", **overrides) -> TrainConfig:
    """A named preset (`paper`, `cpu`), optionally with overrides. Example: `preset("cpu", epochs=10)`."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return merge(dataclasses.replace(PRESETS[name], model=replace(PRESETS[name].model),
                                     loss=replace(PRESETS[name].loss)), **overrides)
