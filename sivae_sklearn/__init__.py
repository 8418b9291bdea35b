"""sivae_sklearn: the interpretable variational autoencoder siVAE as a scikit-learn transformer.

Everything loads on first use (PEP 562), so that ``import sivae_sklearn`` and
the ``sivae`` command's ``--help`` stay light: :class:`SiVAE` and :func:`load`
(with TensorFlow behind them), and the namespaces ``sivae_sklearn.tl``
(AnnData tools, scanpy style), ``sivae_sklearn.pl`` (plots, scanpy style),
``plotting``, ``generation``, ``metrics``, ``experiments``, ``datasets`` and
``explorer``.

>>> import sivae_sklearn
>>> sivae_sklearn.SiVAE(n_components=2)
SiVAE()
>>> callable(sivae_sklearn.tl.sivae)
True
"""

import importlib
import logging
from typing import TYPE_CHECKING

from ._errors import DataFileError, DataTypeError, ModelFileError, TrainingDivergedError
from ._io import read_gmt
from ._version import __version__

if TYPE_CHECKING:  # for type checkers and IDEs; at run time these load on first use
    from ._estimator.sivae import SiVAE, load

# Messages go to the "sivae_sklearn" logger; the application decides where they are shown.
logging.getLogger(__name__).addHandler(logging.NullHandler())

_SUBMODULES = ("tl", "pl", "plotting", "generation", "metrics", "experiments", "datasets", "explorer")
_ESTIMATOR = ("SiVAE", "load")

__all__ = [
    "SiVAE",
    "load",
    "read_gmt",
    "DataFileError",
    "DataTypeError",
    "ModelFileError",
    "TrainingDivergedError",
    "__version__",
]


def __getattr__(name):
    if name in _ESTIMATOR:
        return getattr(importlib.import_module(f"{__name__}._estimator.sivae"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_ESTIMATOR, *_SUBMODULES])
