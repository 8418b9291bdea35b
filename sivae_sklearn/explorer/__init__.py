"""Interactive latent-space explorer for fitted siVAE models (Dash, in the browser).

Install the extra first: ``pip install 'sivae_sklearn[explorer]'`` (dash, plotly).

* :func:`run` serves the explorer (loopback only unless told otherwise);
* :func:`create_app` builds the Dash app without serving it;
* :func:`serve` binds an app and returns an :class:`ExplorerServer` that can
  serve in a background thread;
* ``python -m sivae_sklearn.explorer MODEL DATA`` does the same from a shell.

The page shows a scatter-plot matrix of the embedding (latent axes or their
PCA) coloured by label, one slider per latent dimension (a click on a point
loads its coordinates; ranges follow its class or the prior), the decoded
sample, and, for the dimension being moved, its loadings (``components_[d]``)
and the feature awareness (``feature_awareness_``). With a folder of saved
models a picker switches between them and shows each one's parameters and
training history. See ``docs/explorer.md``.

>>> from sivae_sklearn.explorer import ExplorerInputError
>>> issubclass(ExplorerInputError, ValueError)
True
"""

from ._app import create_app
from ._files import load_data
from ._inputs import ExplorerInputError
from ._models import ExplorerData, prepare
from ._server import ExplorerServer, run, serve, startup_message

__all__ = [
    "ExplorerData",
    "ExplorerInputError",
    "ExplorerServer",
    "create_app",
    "load_data",
    "prepare",
    "run",
    "serve",
    "startup_message",
]
