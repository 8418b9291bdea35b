"""Plots in scanpy's style: ``sivae_sklearn.pl.loadings(model, image_shape=(8, 8))``.

The functions of :mod:`sivae_sklearn.plotting` under short names; each takes
the fitted model first.

>>> from sivae_sklearn import pl, plotting
>>> pl.loadings is plotting.plot_loadings
True
"""

from .plotting import plot_embedding as embedding
from .plotting import plot_explained_variance as explained_variance
from .plotting import plot_feature_awareness as feature_awareness
from .plotting import plot_history as history
from .plotting import plot_interpolation as interpolation
from .plotting import plot_loadings as loadings
from .plotting import plot_manifold as manifold
from .plotting import plot_reconstructions as reconstructions
from .plotting import plot_traversal as traversal

__all__ = [
    "embedding",
    "explained_variance",
    "feature_awareness",
    "history",
    "interpolation",
    "loadings",
    "manifold",
    "reconstructions",
    "traversal",
]
