"""videostyle: fast neural style transfer for videos, animated GIFs and images.

Library first::

    import videostyle
    stylizer = videostyle.Stylizer(videostyle.load_model("mosaic"))
    videostyle.stylize_file("cat.gif", "cat_mosaic.gif", stylizer)

    videostyle.train(videostyle.TrainConfig(style="wave.jpg", data="photos/", out="wave.pth",
                                            loss_net="efficientnet-lite0", iterations=4000))
"""

__version__ = "0.1.0"

from .errors import (ConfigError, DataError, DeviceError, EncodeError, InputError, LossNetworkError,  # noqa: E402
                     ModelError, OutputError, VideostyleError)
from .models import available_models, load_model  # noqa: E402
from .pipeline import stylize_file  # noqa: E402
from .stylize import Stylizer  # noqa: E402
from .transformer_net import TransformerNet  # noqa: E402
from .batch import RunConfig, run  # noqa: E402

from .training import TrainConfig, train  # noqa: E402

__all__ = ["ConfigError", "DataError", "DeviceError", "EncodeError", "InputError", "LossNetworkError",
           "ModelError", "OutputError", "VideostyleError", "available_models", "load_model", "stylize_file",
           "Stylizer", "TransformerNet", "RunConfig", "run", "train", "TrainConfig", "__version__"]
