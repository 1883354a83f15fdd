"""videostyle: fast neural style transfer for videos, animated GIFs and images.

Library first::

    import videostyle
    stylizer = videostyle.Stylizer(videostyle.load_model("mosaic"))
    videostyle.stylize_file("cat.gif", "cat_mosaic.gif", stylizer)

    videostyle.run(videostyle.RunConfig(inputs=("clips/",), model="mosaic-stable", output="out/"))
    videostyle.train(videostyle.TrainConfig(style="wave.jpg", data="photos/", out="wave.pth",
                                            loss_net="efficientnet-lite0"))

The names below are loaded on first use, so that ``import videostyle`` (and the command
line's ``--help``) does not load torch or PyAV until they are needed.

Packages: :mod:`videostyle.media` (decode, encode, GIF, images), :mod:`videostyle.network`
(the transform network, shipped models, running it), :mod:`videostyle.pipeline` (one file,
many files), :mod:`videostyle.training`, :mod:`videostyle.temporal` (flow, frame pairs,
flicker, stabilizer), :mod:`videostyle.cli`; every default in :mod:`videostyle.config`.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

from .errors import (  # noqa: E402
    ConfigError,
    DataError,
    DeviceError,
    EncodeError,
    InputError,
    LossNetworkError,
    ModelError,
    OutputError,
    VideostyleError,
)

# config too: ``python -m videostyle`` installs its signal handlers after this file runs,
# and the dataclasses take long enough to build that a Ctrl-C could land among them
_LAZY = {
    "RunConfig": "config", "TrainConfig": "config", "FinetuneConfig": "config", "OptimizeConfig": "config",
    "available_models": "network.models", "load_model": "network.models",
    "TransformerNet": "network.transformer_net", "Stylizer": "network.stylize",
    "stylize_file": "pipeline.file", "run": "pipeline.jobs",
    "train": "training.train", "finetune": "training.finetune", "optimize": "training.optimize",
    "warping_error": "temporal.flicker",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'videostyle' has no attribute {name!r}")


__all__ = ["ConfigError", "DataError", "DeviceError", "EncodeError", "InputError", "LossNetworkError",
           "ModelError", "OutputError", "VideostyleError", *_LAZY, "__version__"]
