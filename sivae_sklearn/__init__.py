"""sivae_sklearn: the interpretable variational autoencoder siVAE as a scikit-learn transformer.

>>> from sivae_sklearn import SiVAE
>>> SiVAE(n_components=2)
SiVAE()
"""

from ._estimator import SiVAE
from ._serialization import ModelFileError, load
from ._training import TrainingDivergedError

__version__ = "0.1.0"

__all__ = ["SiVAE", "load", "ModelFileError", "TrainingDivergedError", "__version__"]
