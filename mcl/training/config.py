"""Configs for the MotionCLIP model, its losses and training: plain dataclasses with named presets.

`preset("paper")` is the paper's setup (8 layers, d 512, 4 heads, ff 1024; AdamW 1e-4, batch 20, seed 10);
`preset("cpu")` is a small model that trains the DeepMimic demo in minutes on two CPU cores.
CLI flags and notebook parameters map onto `TrainConfig` fields: `preset("cpu", epochs=5, model={"n_layers": 2})`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, Literal

from ..validate import check_number
from .flags import choices_of, hints, optional_of


def _check_fields(cfg, prefix: str = "") -> None:
    """Check `cfg`'s numbers by their kinds in `type(cfg).NUMBERS` and its `Literal` fields against their choices;
    the error names the field (`prefix` + name) and the value."""
    for name, hint in hints(type(cfg)).items():
        value = getattr(cfg, name)
        if name in cfg.NUMBERS:
            check_number(prefix + name, value, cfg.NUMBERS[name], optional=optional_of(hint)[1])
        allowed = choices_of(hint)
        if allowed and value not in allowed:
            expected = ", ".join(map(repr, allowed[:-1])) + f" or {allowed[-1]!r}"
            raise ValueError(f"{prefix}{name}={value!r}: expected {expected}")


@dataclass
class ModelConfig:
    """The transformer auto-encoder. `latent_dim` is the frozen space's dim (None: taken from the space at train time).

    When `latent_dim != d_model`, linear projections map the query-token output into z and z back into the decoder's
    memory token, so a text embedding can still be decoded directly.
    >>> ModelConfig(n_layers=2, d_model=64, n_heads=2, d_ff=128, latent_dim=32).d_model
    64
    >>> ModelConfig(d_model=64, n_heads=3)
    Traceback (most recent call last):
    ...
    ValueError: model.d_model=64 is not divisible by model.n_heads=3
    """
    # Each field's comment is its `mcl train --model.NAME` help (mcl.training.flags reads them): keep them true.

    n_layers: int = 8           # transformer layers in the encoder, and as many in the decoder
    d_model: int = 512          # the transformer's width (z has the space's dim: see latent_dim)
    n_heads: int = 4            # attention heads; d_model must be a multiple of it
    d_ff: int = 1024            # width of each layer's feed-forward block
    dropout: float = 0.1        # dropout in every layer and on the positional encoding
    activation: Literal["gelu", "relu"] = "gelu"  # the feed-forward activation (the paper: gelu)
    latent_dim: int | None = None  # z's dim, the frozen space's (none: taken from the space when training starts)
    max_frames: int = 5000  # length of the sinusoidal table (as the official code)
    # Learned tokens prepended to the frames; z is the output at the first: 1 (mcl), or 2 as the official model
    # (mu, sigma): its sigma token is never read but takes part in attention and shifts the frames' positions by one.
    query_tokens: int = 1
    # The motion <-> tensor convention the weights were trained with (`mcl.codec`): "mcl", or "official" for
    # checkpoints imported from GuyTevet/MotionCLIP. encode/decode take and return mcl tensors either way.
    codec: Literal["mcl", "official"] = "mcl"
    # Scale and shift the decoder's time queries by z (FiLM: positions * (1 + A z) + B z) so that z can set a
    # motion's phase (where a wave or a step is at frame t); zero-initialised, so it can be added to a trained model
    film: bool = False
    # layers in the decoder (none: n_layers); a fine-tune may deepen a trained decoder (`--init`): the layers it adds
    # come after the trained ones, their attention and feed-forward outputs zeroed at start
    decoder_layers: int | None = None
    # rank of a direct path from z to the decoder's output, beside the transformer: out_t += W (P pos_t * Q z), sines
    # of the frame index whose amplitudes and phases z sets linearly; zero-initialised, so a fine-tune can add it (0: off)
    synth_rank: int = 0
    # width of a per-frame MLP beside the transformer, reading (z, the frame's sinusoidal position) and adding a pose
    # residual; last layer zero-initialised, so a fine-tune can add it (0: off). With whiten_z it reads whitened z
    frame_head: int = 0
    # Whiten z before the decoder: (z - mean) times the inverse square root of its covariance (eps: 1e-3 of the top
    # variance), measured on the init run's z at the start of a fine-tune (`--init`) and kept in the weights. A trained
    # z spans ~6 orders of magnitude of variance and a wave's phase lives in the small directions, which gradient
    # descent on the decoder barely moves along; whitened, they weigh as much as the rest. Needs --init.
    whiten_z: bool = False

    # how each number is checked (mcl.validate kinds), here and by its `mcl train` flag
    NUMBERS: ClassVar[dict[str, str]] = {"n_layers": "count", "d_model": "count", "n_heads": "count",
                                         "d_ff": "count", "dropout": "fraction", "latent_dim": "count",
                                         "max_frames": "count", "query_tokens": "count", "decoder_layers": "count",
                                         "synth_rank": "index", "frame_head": "index"}

    def __post_init__(self):
        _check_fields(self, "model.")
        if self.d_model % self.n_heads:
            raise ValueError(f"model.d_model={self.d_model} is not divisible by model.n_heads={self.n_heads}")


@dataclass
class LossConfig:
    """Loss weights (paper defaults) and the alignment form for the text/image terms.

    `alignment="cosine"`: 1 − cos(z, e), the paper. `"infonce"`: symmetric InfoNCE over the batch with `temperature`;
    windows that share a text are masked out of each other's negatives (see `mcl.training.losses.infonce_alignment`).
    >>> LossConfig(w_image=0.0, alignment="infonce").temperature
    0.07
    >>> LossConfig(alignment="cos")
    Traceback (most recent call last):
    ...
    ValueError: loss.alignment='cos': expected 'cosine' or 'infonce'
    """
    # Each field's comment is its `mcl train --loss.NAME` help (mcl.training.flags reads them): keep them true.

    w_rc: float = 100.0      # weight of the MSE of rot6d + translation
    w_body: float = 100.0    # weight of the MSE of body positions: see `body`
    w_vel: float = 100.0     # weight of the MSE of frame-to-frame differences of the pose tensor
    w_text: float = 1.0      # text alignment: 1 − cos(z, text embedding), or InfoNCE (see `alignment`)
    w_image: float = 1.0     # image alignment, as the text's (0: off; spaces without images, e.g. MiniLM, skip it)
    # Weight of a term not in the paper (TMR/TEMOS-style): also decode each window's text embedding, put on the scale
    # of the window's own z, and ask for the window back (MSE of rot6d + translation). It trains the decoder on the
    # text side of the space too, which text-to-motion needs when the data are too few to pull z onto the text by
    # cosine alone.
    w_text_rc: float = 0.0
    # text_rc against the closest of the chunk's windows that start every N frames (and share the window's caption),
    # not only the window itself (0: the window only). One text stands for windows of every phase of a periodic
    # motion; asked for each one exactly, its decode learns their mean (a walk averages to a shuffle). The closest-of
    # lets it commit to one phase. Needs chunks longer than a window (not fixed_windows).
    text_rc_stride: int = 0
    # Weight of the L1 distance between the spectra (magnitude of each pose feature's Fourier transform over the
    # window) of the window and of its reconstruction, and of its text decode. Blind to phase: it asks for a 2 Hz wave
    # where the MSE terms, before z knows the wave's phase, are best served by the held mean (a raised hand).
    w_spec: float = 0.0
    # Weigh each window's reconstruction and text-decode terms by 1 / (its pose variance over time + the batch's
    # median), mean 1: a wave's few moving joints then count as much as a run's whole body (`losses.window_weights`)
    balance_windows: bool = False
    # the text/image terms: "cosine" (1 − cos(z, e), the paper) or "infonce" (symmetric InfoNCE over the batch;
    # windows that share a text are not each other's negatives)
    alignment: Literal["cosine", "infonce"] = "cosine"
    temperature: float = 0.07  # InfoNCE's temperature
    # the body term's points: "joints" (SMPL-24 by forward kinematics, no SMPL files needed), "vertices" (SMPL's 6890,
    # the paper; needs MCL_SMPL_DIR), "auto" (vertices when SMPL files are configured; resolved when training starts)
    body: Literal["auto", "joints", "vertices"] = "auto"

    NUMBERS: ClassVar[dict[str, str]] = {"w_rc": "nonneg", "w_body": "nonneg", "w_vel": "nonneg", "w_text": "nonneg",
                                         "w_image": "nonneg", "w_text_rc": "nonneg", "w_spec": "nonneg",
                                         "temperature": "positive",
                                         "text_rc_stride": "index"}

    def __post_init__(self):
        _check_fields(self, "loss.")


@dataclass
class TrainConfig:
    """Everything a training run depends on; saved as JSON in the run dir.

    Data: `data` is a source spec (`deepmimic`, `synthetic`, `amass:...`); motions are resampled to `fps`, cut into
    `chunk_frames`-frame non-overlapping chunks and each epoch a random `window_frames` window of every chunk is used
    (the paper); `fixed_windows=True` uses fixed non-overlapping windows instead. Validation: `val_split="time"` holds
    out the last `val_fraction` of every clip, `"clip"` holds out whole clips chosen by a hash of their names,
    `"mirror"` validates on the left-right mirror images of all clips (DeepMimic: one short clip per action),
    `"auto"` picks `clip` when there are ≥ 50 clips, else `mirror` (see `mcl.training.batches.split_motions`).
    The field defaults are the paper's (`preset("paper")`); `preset()`, `train()` and `mcl train` start from
    `DEFAULT_PRESET` (cpu) instead.
    >>> cfg = TrainConfig(data="deepmimic", space="minilm", model=ModelConfig(n_layers=4, d_model=256))
    >>> cfg.preset, cfg.epochs, cfg.model.n_layers
    ('paper', 100, 4)
    """
    # Each field's comment is its `mcl train` flag's help (mcl.training.flags reads them): keep them true.

    # the preset the run starts from: "paper" (Tevet et al. 2022) or "cpu" (a small model for CPUs); the fields not
    # set keep its values
    preset: str = "paper"
    data: str = "deepmimic"  # data spec: deepmimic, synthetic, bandai[:PATH], bvh:FOLDER, amass:... (docs/data.md)
    # the frozen embedding space: minilm, clip-vit-b32, random-clip, or auto (CLIP ViT-B/32 when its weights are on
    # this machine, else MiniLM; a run records the space it resolved)
    space: str = "auto"
    out: str = "runs/run"         # the run dir: config, metrics, TensorBoard logs, checkpoints
    epochs: int = 100             # passes over the training windows
    batch_size: int = 20          # the global batch; split across torchrun ranks
    lr: float = 1e-4              # learning rate (the peak of the cosine schedule)
    weight_decay: float = 0.01    # torch's AdamW default, which the official code uses
    # "adamw" (the paper) or "sgd" (plain SGD: an update linear in the gradient)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    # "constant" (the paper) or "cosine": linear warm-up over `warmup_steps`, then cosine decay to `min_lr_ratio`·lr
    # at the last step (nanoGPT's schedule); the lr is a function of the step alone, so resume stays exact
    lr_schedule: Literal["constant", "cosine"] = "constant"
    warmup_steps: int = 0         # the lr rises linearly from lr/N to lr over the first N steps (either schedule)
    min_lr_ratio: float = 0.1     # the cosine schedule ends at this fraction of lr
    grad_clip: float | None = None  # clip the gradient norm to this value (none: no clipping)
    seed: int = 10                # seeds python, numpy and torch; the data order is a function of (seed, epoch)
    fps: float = 30.0             # motions are resampled to this frame rate
    window_frames: int = 60       # frames in a training window (the model's input)
    chunk_frames: int = 100       # clips are cut into non-overlapping chunks of this many frames, one window each
    # fixed non-overlapping windows instead of a random window of each chunk every epoch (the paper's, better for large
    # sets); fixed suits DeepMimic's 15 looped clips, where a random window's phase blurs what a text decodes to
    fixed_windows: bool = False
    # what validation holds out: "time" (the last val_fraction of every clip), "clip" (whole clips, by a hash of their
    # names), "mirror" (validate on the clips' left-right mirror images), "auto" (clip with ≥ 50 clips, else mirror),
    # "none"
    val_split: Literal["auto", "time", "clip", "mirror", "none"] = "auto"
    val_fraction: float = 0.2     # the share of each clip val_split="time" holds out
    max_steps: int | None = None   # stop (and checkpoint) after this many optimizer steps in total
    checkpoint_every: int = 0      # also checkpoint every N steps (0: only at the end of epochs)
    checkpoint_seconds: float = 60.0  # end-of-epoch checkpoints at most this often (always after the last epoch)
    resume: bool = False           # continue the run in `out` exactly (weights, optimizer, RNG, place in the epoch)
    overwrite: bool = False        # start over in a run dir that holds a run (its checkpoints are set aside first)
    device: str = "auto"           # "auto" (cuda:LOCAL_RANK when there is a GPU, else cpu), "cpu", "cuda", "cuda:1"…
    # "fp32", or "bf16": autocast the model's matmuls to bfloat16 (CPUs with AVX512-BF16/AMX, GPUs)
    precision: Literal["fp32", "bf16"] = "fp32"
    # start from the weights of this run dir or shipped model (e.g. open): a fine-tune; the model's architecture and
    # space are taken from it (none: random weights)
    init: str | None = None
    threads: int = 0               # CPU threads for torch (0: torch's default); 1 is far faster on a busy machine
    cache_dir: str | None = None   # where the space's embedding cache lives (none: under $MCL_CACHE or ~/.cache/mcl)
    progress: bool = True          # progress bars while training
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)

    NUMBERS: ClassVar[dict[str, str]] = {
        "epochs": "count", "batch_size": "count", "window_frames": "count", "chunk_frames": "count",
        "max_steps": "count", "warmup_steps": "index", "checkpoint_every": "index", "threads": "index",
        "seed": "index", "lr": "positive", "fps": "positive", "grad_clip": "positive", "weight_decay": "nonneg",
        "min_lr_ratio": "unit", "checkpoint_seconds": "nonneg", "val_fraction": "fraction"}

    def __post_init__(self):
        if isinstance(self.model, dict):
            self.model = ModelConfig(**self.model)
        if isinstance(self.loss, dict):
            self.loss = LossConfig(**self.loss)
        self._check_numbers()
        if self.chunk_frames < self.window_frames:
            raise ValueError(f"chunk_frames={self.chunk_frames} < window_frames={self.window_frames}")
        if self.loss.text_rc_stride and self.fixed_windows:
            raise ValueError(f"loss.text_rc_stride={self.loss.text_rc_stride} compares a text's decode with the other "
                             f"windows of its chunk, and fixed_windows leave none: use random windows "
                             f"(--random-windows), or loss.text_rc_stride=0")
        if self.loss.text_rc_stride > self.chunk_frames - self.window_frames:
            raise ValueError(f"loss.text_rc_stride={self.loss.text_rc_stride}: a {self.chunk_frames}-frame chunk has "
                             f"no other window start that far from 0 (windows are {self.window_frames} frames); use a "
                             f"stride ≤ {self.chunk_frames - self.window_frames}")
        if self.model.whiten_z and not self.init:
            raise ValueError("model.whiten_z whitens a trained encoder's z, measured when a fine-tune starts: give "
                             "--init RUN (a run dir or a shipped model), or drop --model.whiten-z")
        if self.loss.text_rc_stride and not self.loss.w_text_rc:
            raise ValueError(f"loss.text_rc_stride={self.loss.text_rc_stride} shapes the text_rc term, which is off "
                             f"(loss.w_text_rc=0): set loss.w_text_rc (the cpu preset: 100) or drop the stride")

    def _check_numbers(self) -> None:
        """Every number where it is parsed (`NUMBERS`: counts ≥ 1, rates > 0, all finite, no list or string for a
        number), every choice (`Literal` fields); a run that would take zero steps is refused here rather than
        printing a run dir with no checkpoint."""
        _check_fields(self)
        for name in ("data", "space", "out", "device"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name}={getattr(self, name)!r}: expected a non-empty string")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | None = None) -> "TrainConfig":
        """A TrainConfig from its `to_dict()` form; `source` (the JSON file it came from) is named in every error.

        Example: `TrainConfig.from_dict(json.load(open("runs/x/config.json"))["config"], "runs/x/config.json")`.

        >>> TrainConfig.from_dict(preset("cpu").to_dict()) == preset("cpu")
        True
        >>> TrainConfig.from_dict({"epoch": 3}, "runs/x/config.json")
        Traceback (most recent call last):
        ...
        ValueError: runs/x/config.json: unknown TrainConfig field(s) ['epoch']; known: ['batch_size', ...]
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

# The preset every entry point starts from when none is named: `preset()`, `train(data=…)` (`mcl.train`) and
# `mcl train --data …` (its --help says so). `cpu`, because this workbench runs on CPUs: the paper's model takes hours
# on two cores and, on the DeepMimic demo's 15 clips, leaves text undecodable (docs/training.md, the preset study:
# 1/15 clips vs 15/15), while `cpu` trains that demo in about a quarter of an hour. `mcl train` has always started
# from it (`train()` started from `paper` until issue #16); the paper's setup is `preset("paper")` / `--preset paper`.
# `TrainConfig()` keeps the paper's values as its field defaults (labelled preset="paper"): the dataclass documents
# the paper, the presets choose.
DEFAULT_PRESET = "cpu"


def merge(cfg: TrainConfig, **overrides) -> TrainConfig:
    """`cfg` with `overrides` applied; `model=` / `loss=` may be dicts that update only the keys they name.

    >>> cfg = merge(preset("cpu"), epochs=3, model={"n_layers": 2})
    >>> cfg.epochs, cfg.model.n_layers, cfg.model.d_model  # d_model kept from the cpu preset
    (3, 2, 256)
    """
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown training option(s) {sorted(unknown)}; known: {sorted(known)}")
    for key, sub in (("model", cfg.model), ("loss", cfg.loss)):
        if isinstance(overrides.get(key), dict):
            overrides[key] = replace(sub, **overrides[key])
    return replace(cfg, **overrides)


def preset(name: str = DEFAULT_PRESET, **overrides) -> TrainConfig:
    """A named preset (`paper`, `cpu`; default `DEFAULT_PRESET`), optionally with overrides.

    >>> cfg = preset("cpu", epochs=10); cfg.epochs, cfg.lr, cfg.out
    (10, 0.0003, 'runs/deepmimic-cpu')
    >>> preset().preset == DEFAULT_PRESET == "cpu"
    True
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return merge(dataclasses.replace(PRESETS[name], model=replace(PRESETS[name].model),
                                     loss=replace(PRESETS[name].loss)), **overrides)
