"""Every option's default, in one place: the frozen configuration of each command.

The library functions take these dataclasses (``run(RunConfig(...))``,
``train(TrainConfig(...))``); the command line reads its defaults from them, so the two
cannot disagree. This module imports nothing heavy (no torch, no PyAV): ``videostyle
--help`` parses arguments without loading either.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import ClassVar

from .errors import ConfigError

# ---------------------------------------------------------------------------- choices
DEVICES = ("auto", "cpu", "cuda", "mps")
OUTPUT_FORMATS = ("mp4", "mov", "mkv", "webm", "avi", "gif", "png", "jpg", "webp")
GIF_DITHERS = ("adaptive", "floyd-steinberg", "none")
PRESERVE_COLOR = ("luma", "histogram")
BACKENDS = ("auto", "torch", "onnxruntime")
STYLE_NORMALISATIONS = ("relative", "examples")
STYLE_STATISTICS = ("gram", "covariance")

# Loss settings per loss network. VGG16's are pytorch/examples' (their Gram / MSE
# convention). EfficientNet-Lite0's: post-ReLU6 expanded activations down to block 8
# (1/16 scale) for the tile- and stroke-sized structure, the scaled RGB input for colour,
# covariance statistics (no black blobs, colour spread counts), content on block 3's
# pre-activation expansion (docs/loss-network.md).
LOSS_DEFAULTS: dict[str, dict] = {
    "vgg16": {
        "content_layer": "relu2_2",
        "style_layers": {"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0, "relu4_3": 1.0},
        "content_weight": 1e5, "style_weight": 1e10, "tv_weight": 0.0,
        "style_normalisation": "examples", "style_statistics": "gram",
    },
    "efficientnet-lite0": {
        "content_layer": "b3_expand_pre",
        "style_layers": {"rgb": 1.0, "stem": 1.0, "b1_expand": 1.0, "b3_expand": 1.0, "b5_expand": 1.0,
                         "b8_expand": 1.0},
        "content_weight": 20.0, "style_weight": 5.0, "tv_weight": 0.02,
        "style_normalisation": "relative", "style_statistics": "covariance",
    },
}
LOSS_NETWORKS = tuple(LOSS_DEFAULTS)


@dataclass(frozen=True)
class Recipe:
    """How ``videostyle train`` trains with a loss network unless told otherwise:
    training crops of ``image_size`` px cut from photos scaled to a short side of
    ``photo_size`` px, the style image at ``style_size`` px, ``iterations`` steps, and
    the temporal term's weight (``TrainConfig.temporal_weight``)."""

    image_size: int
    photo_size: tuple[int, int]
    style_size: int
    iterations: int
    temporal_weight: float = 0.0


# VGG16: Johnson et al.'s 256-px crops. EfficientNet-Lite0: from the learning curves of
# benchmarks/train_recipe.py and the runs of docs/training-recipe.md. 128-px crops
# reached lower held-out losses per CPU hour but paint fine horizontal stripes into
# every output; at 256 px the stripes grow too, at content weight 20, unless a temporal
# term ties the output to the picture (200: stripe ratio 1.23 against 2.13 at step 500
# of starry_night, the content loss the same).
RECIPES: dict[str, Recipe] = {
    "vgg16": Recipe(image_size=256, photo_size=(256, 512), style_size=512, iterations=40000),
    "efficientnet-lite0": Recipe(image_size=256, photo_size=(256, 512), style_size=512, iterations=10000,
                                 temporal_weight=200.0),
}


# ------------------------------------------------------------------------ stylizing
GIF_KEEP_LEVELS = 6
GIF_DITHER = "adaptive"


@dataclass(frozen=True)
class RunConfig:
    """Everything ``videostyle run`` needs; see ``videostyle run --help``."""

    inputs: tuple[str, ...]
    model: str = "mosaic"
    output: str | None = None
    output_format: str | None = None
    overwrite: bool = False
    device: str = "auto"
    batch_size: int | None = None  # None: 1 on CPUs, 8 on GPUs
    half: bool | None = None  # None: bf16/fp16 where the device has it natively (CUDA, CPUs with bf16), else fp32
    backend: str = "auto"  # torch, onnxruntime (CPU fp32), auto: ONNX Runtime there when installed
    compile: bool = False  # torch.compile the network (torch backend): opt-in, the first frames wait for it
    max_size: int | None = None
    max_pixels: int | None = None  # None: decode up to 120 megapixels, stylize what memory holds
    keep_going: bool = False  # stylize what decodes of a damaged video, with a warning
    codec: str | None = None
    crf: int | None = None
    preset: str | None = None
    stabilize: float | None = None
    strength: float = 1.0  # 0: the input, 1: the plain stylized output
    preserve_color: str | None = None  # "luma" or "histogram": keep the input's colours
    stability: float | None = None  # between the model (0) and its -stable twin (1)
    style_scale: float = 1.0  # run the network at this scale of the output size: sets the stroke size
    tile: int | None = None  # tile side (px); None: tiles only when a frame would not fit in memory
    start_s: float | None = None  # stylize only from here ...
    duration_s: float | None = None  # ... for this long
    gif_keep_levels: int = GIF_KEEP_LEVELS
    gif_dither: str = GIF_DITHER
    contrast_ramp: float | None = None  # None: the model card's
    encoder_threads: int | None = None  # None: the encoder's choice


# ------------------------------------------------------------------------- training
@dataclass(frozen=True, kw_only=True)
class LossOptions:
    """The loss network and the loss settings shared by training, fine-tuning and
    optimisation; a ``None`` setting takes the loss network's default (LOSS_DEFAULTS)."""

    loss_net: str = "vgg16"
    vgg_weights: str | None = None
    pretrained_loss_net: bool = True  # False: random loss network (tests only)
    antialias: bool = True  # efficientnet-lite0: blur before every stride-2 subsampling
    style_size: int | None = None  # long side of the style image (px); None: the recipe's
    content_layer: str | None = None
    style_layers: tuple[tuple[str, float], ...] | None = None
    content_weight: float | None = None
    style_weight: float | None = None
    tv_weight: float | None = None
    style_normalisation: str | None = None
    style_statistics: str | None = None
    jitter: int = 3  # random 0..jitter px offset of output and input before the loss network

    def loss_settings(self) -> dict:
        """This run's loss layers and weights: the network's defaults where not given."""
        if self.loss_net not in LOSS_DEFAULTS:
            raise ConfigError(f"unknown loss network {self.loss_net!r}; choose one of {', '.join(LOSS_NETWORKS)}")
        settings = dict(LOSS_DEFAULTS[self.loss_net])
        for key in ("content_layer", "content_weight", "style_weight", "tv_weight", "style_normalisation",
                    "style_statistics"):
            if getattr(self, key) is not None:
                settings[key] = getattr(self, key)
        if self.style_layers is not None:
            settings["style_layers"] = dict(self.style_layers)
        return settings

    def style_px(self) -> int:
        return self.style_size or RECIPES.get(self.loss_net, RECIPES["vgg16"]).style_size


@dataclass(frozen=True, kw_only=True)
class LoopOptions:
    """The optimisation loop and its logging, shared by train and finetune."""

    batch_size: int = 4
    iterations: int | None = None  # None: see steps_asked
    epochs: float | None = None  # when given, replaces iterations
    lr: float = 1e-3
    # > 0: over the last this many steps the learning rate falls linearly to zero. An
    # option for train and finetune (distill's default is 500, DistillConfig): after 1500
    # steps a 500-step finish moved the held-out losses no more than they wander between
    # evaluations; at the end of the shipped the_scream and mosaic runs it took style from
    # 1.70 to 1.66 and from 2.02 to 1.79 times the per-image optimisation's
    # (docs/training-recipe.md). Counted from the end, so a run continued to more steps
    # repeats the earlier steps exactly up to where its own decay starts.
    lr_decay_steps: int = 0
    sample_every: int = 200  # steps between sample grids
    eval_every: int = 250  # steps between held-out losses (0: never)
    eval_size: int = 256  # long side of the held-out photos for those losses (px)
    checkpoint_every: int = 500
    run_dir: str | None = None  # default: <out stem>_run/ beside out
    resume: str | None = None  # a checkpoint to continue exactly
    seed: int = 0
    device: str = "auto"
    amp: bool | None = None  # None: bf16/fp16 where the device has it natively, else fp32
    channels_last: bool = True
    holdout: int = 8  # photos kept out of training for samples and held-out losses
    val_images: tuple[str, ...] = ()
    # steps when ``iterations`` and ``epochs`` are not given: each command's own, read by
    # its --help as well (train overrides steps_asked with its loss network's recipe)
    DEFAULT_ITERATIONS: ClassVar[int]

    def steps_asked(self) -> int:
        return self.iterations or self.DEFAULT_ITERATIONS

    def run_folder(self) -> Path:
        out = Path(self.out)  # type: ignore[attr-defined]  (every loop config has ``out``)
        return Path(self.run_dir) if self.run_dir else out.parent / (out.stem + "_run")


@dataclass(frozen=True, kw_only=True)
class TrainConfig(LoopOptions, LossOptions):
    """Everything ``videostyle train`` needs; see ``videostyle train --help``. Fields left
    ``None`` take the loss network's recipe (RECIPES) and loss settings (LOSS_DEFAULTS)."""

    style: str
    data: str
    out: str
    image_size: int | None = None  # training crop (px)
    photo_size: tuple[int, int] | None = None  # short side of the photos crops are cut from (px)
    init_model: str | None = None  # start from these weights instead of random ones
    # > 0: half of each batch is the second frame of a synthetic camera-motion pair, and
    # the output's change along the motion costs this much (finetune's output term). It
    # keeps the generator from paying the style loss with fine stripes fixed to its own
    # pixel grid, which the content loss does not see (docs/training-recipe.md, "Stripes")
    temporal_weight: float | None = None  # None: the recipe's
    channels: int = 32
    residual_blocks: int = 5
    style_licence: str | None = None

    def recipe(self) -> Recipe:
        return RECIPES.get(self.loss_net, RECIPES["vgg16"])

    def crop_px(self) -> int:
        return self.image_size or self.recipe().image_size

    def photo_px(self) -> tuple[int, int]:
        if self.photo_size:
            return self.photo_size
        if self.image_size:  # a crop size given alone keeps the old meaning: photos 1-2x the crop
            return (self.image_size, 2 * self.image_size)
        return self.recipe().photo_size

    def steps_asked(self) -> int:
        return self.iterations or self.recipe().iterations

    def temporal(self) -> float:
        return self.recipe().temporal_weight if self.temporal_weight is None else self.temporal_weight


@dataclass(frozen=True)
class Motion:
    """Ranges of the random motion between synthetic frames (pixels at the crop size);
    ``object_probability`` of the pairs also get an object moving by up to
    ``object_shift_px`` on its own, an ellipse whose radii are drawn from ``object_radius``
    (fractions of the crop's shorter side)."""

    max_shift_px: float = 6.0
    max_zoom: float = 0.04
    max_rotation_deg: float = 3.0
    elastic_px: float = 2.0
    elastic_grid: int = 4
    object_probability: float = 0.0
    object_shift_px: float = 12.0
    object_radius: tuple[float, float] = (0.1, 0.3)


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig(LoopOptions, LossOptions):
    """Everything ``videostyle finetune`` needs. Loss settings left ``None`` come from the
    model card (see :func:`videostyle.training.finetune.resolve_losses`)."""

    model: str
    data: str
    out: str
    videos: str | None = None
    style: str | None = None  # default: the style image named in the model card
    loss_net: str | None = None  # default: the model card's, else efficientnet-lite0
    antialias: bool | None = None
    # The defaults are the shipped twins' one-run recipe: 900 steps at temporal weight 6000
    # with the card's style weight doubled. From the continued bases that run gave 0.38-0.43
    # of the base's warping error at +5 % to +11 % style (mosaic, starry_night, great_wave;
    # the_scream's card has --style-boost 1.8: 0.55 at +5.7 %). The earlier defaults (600,
    # x1.2) kept the style but left 0.58-0.69 of the flicker (docs/flicker.md).
    temporal_weight: float = 6000.0
    feature_weight: float = 6.0
    noise_weight: float = 600.0
    noise_std: float = 0.03
    style_boost: float = 2.0  # style weight = the card's x this, unless --style-weight is given
    temporal_warmup: int = 0  # steps over which the temporal terms rise linearly to their weights
    motion: Motion = Motion()
    compressed_share: float = 0.0
    gif_share: float = 0.0
    drift_std: float = 0.0
    contrast_ramp: float = 4.0  # recorded in the card; see videostyle.network.transformer_net
    real_pair_fraction: float = 0.5
    image_size: int = 256
    photo_size: tuple[int, int] | None = None  # as TrainConfig's; None: image_size to twice that
    batch_size: int = 2
    lr: float = 2e-4
    sample_every: int = 100
    checkpoint_every: int = 200

    DEFAULT_ITERATIONS: ClassVar[int] = 900


@dataclass(frozen=True, kw_only=True)
class DistillConfig(LoopOptions):
    """Everything ``videostyle distill`` needs: a small student network learns to give the
    ``teacher``'s output. Loss: ``pixel_weight`` x mean absolute difference to the
    teacher's output (RGB in [0, 1]) + ``perceptual_weight`` x the teacher card's style
    and TV losses with the teacher's output, not the photo, as the content target (so the
    content term is a feature loss against the teacher). A ``pair_share`` of each batch
    is the second frame of a synthetic motion pair, so the student also learns what a
    ``-stable`` teacher does to moving pictures; ``temporal_weight`` adds the twin's own
    output temporal term on those pairs."""

    teacher: str
    data: str
    out: str
    # The defaults are every shipped -fast model's command (docs/fast-models.md): 5 residual
    # blocks (3 run 0.9-1.4x as fast, by size and backend, for 8-9 % more style loss),
    # temporal weight 6000, the content term x3 (toward the teacher: content 1.19 -> 1.08
    # in a screen), and a 500-step decayed finish.
    channels: int = 8
    residual_blocks: int = 5
    end_kernel: int = 5
    image_size: int = 128
    photo_size: tuple[int, int] | None = (160, 512)
    batch_size: int = 8
    pixel_weight: float = 10.0
    perceptual_weight: float = 1.0
    pair_share: float = 0.5
    temporal_weight: float = 6000.0
    style_boost: float = 1.0  # the teacher card's style weight x this (the temporal term pulls against it)
    content_boost: float = 3.0  # the teacher card's content weight x this (content = distance to the teacher)
    motion: Motion = Motion()
    lr_decay_steps: int = 500

    # 4000, not 2000: from step 2000 to 4000 the shipped students' style loss fell another
    # 6-12 % at 512 px, PSNR rose and flicker stayed below the teacher's (docs/fast-models.md)
    DEFAULT_ITERATIONS: ClassVar[int] = 4000


@dataclass(frozen=True, kw_only=True)
class OptimizeConfig(LossOptions):
    """``videostyle optimize``: see ``--help``. Loss fields as in TrainConfig."""

    content: str
    style: str
    out: str
    steps: int = 300
    lr: float = 0.02
    max_size: int | None = 384
    seed: int = 0
    device: str = "auto"
    amp: bool | None = None
    channels_last: bool = True


def default(config: type, name: str):
    """The default of field ``name`` of a config dataclass (for the command line's help)."""
    for f in fields(config):
        if f.name == name:
            return f.default
    raise KeyError(name)
