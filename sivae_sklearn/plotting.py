"""The plots of :mod:`sivae_sklearn.pl` under their long names: ``plotting.plot_loadings`` is ``pl.loadings``.

>>> from sivae_sklearn import pl, plotting
>>> plotting.plot_loadings is pl.loadings
True
"""

from . import pl

plot_embedding = pl.embedding
plot_loadings = pl.loadings
plot_feature_awareness = pl.feature_awareness
plot_explained_variance = pl.explained_variance
plot_variance_explained = pl.variance_explained
plot_history = pl.history
plot_reconstructions = pl.reconstructions
plot_traversal = pl.traversal
plot_interpolation = pl.interpolation
plot_manifold = pl.manifold

__all__ = [
    "plot_embedding",
    "plot_loadings",
    "plot_feature_awareness",
    "plot_explained_variance",
    "plot_variance_explained",
    "plot_history",
    "plot_reconstructions",
    "plot_traversal",
    "plot_interpolation",
    "plot_manifold",
]
