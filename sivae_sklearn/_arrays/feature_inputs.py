"""The reduced input of the feature-wise encoder.

Feature ``f`` is a column ``X[:, f]`` of length n_samples; feeding it whole
would make the feature network grow with the data. As in the original siVAE,
each column is reduced to a fixed width once, in ``fit``, from the training
samples only (never the validation or test samples):

* ``"pca"``: the coordinates of the features on the leading principal axes of
  the samples (``components_.T * singular_values_`` of a PCA of the training
  matrix), so the feature input keeps most of the sample-to-sample structure;
* ``"subsample"``: the feature's values over a fixed random subset of samples.

Both are scaled to unit overall standard deviation. Sparse input is handled
without densifying the whole matrix. The cost does not grow with n_samples: at
most :data:`MAX_ROWS` training rows are read (on disk, during the one pass of
:func:`~sivae_sklearn._arrays.rows.split_training_rows`). Data without variance (all
zeros, or every feature constant) gives all-zero inputs, never an error.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence
from sklearn.decomposition import PCA

FEATURE_INPUT_METHODS = ("pca", "subsample")
MAX_ROWS = 20_000
"""At most this many training rows feed the reduction, so its cost does not grow with n_samples."""


def training_feature_inputs(split, method: str, size: int, random_state, transform) -> np.ndarray:
    """:func:`make_feature_inputs` from the training rows of a fit, as the sample encoder sees them.

    Parameters
    ----------
    split : TrainSplit
        The rows of the fit (:func:`~sivae_sklearn._arrays.rows.split_training_rows`);
        the validation rows never reach the feature encoder.
    method, size
        See :func:`make_feature_inputs`.
    random_state : numpy.random.RandomState
        Draws the rows when there are more than :data:`MAX_ROWS`, then seeds the reduction.
    transform : callable
        The likelihood's encoder input in NumPy (``EncoderInput.numpy``).
    """
    if split.sample is not None:  # on disk: read during the split
        return make_feature_inputs(transform(split.sample), method, size, random_state)
    rows = split.train_rows
    if rows.size > MAX_ROWS:
        rows = np.sort(random_state.choice(rows, MAX_ROWS, replace=False))
    return make_feature_inputs(transform(split.X[rows]), method, size, random_state)


def make_feature_inputs(X, method: str, size: int, random_state: np.random.RandomState) -> np.ndarray:
    """Reduce every feature (column of ``X``) to ``size`` numbers.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Training data as the sample encoder sees it.
    method : {"pca", "subsample"}
        Reduction, see the module docstring.
    size : int
        Requested width; capped by what the data allows.
    random_state : numpy.random.RandomState
        Chooses the subsample or seeds the randomized PCA.

    Returns
    -------
    ndarray of shape (n_features, width), float32
        One row per feature, ``width <= size``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(30, 5))
    >>> make_feature_inputs(X, "pca", 3, np.random.RandomState(0)).shape
    (5, 3)
    """
    n_samples, n_features = X.shape
    if method == "pca":
        width = max(1, min(size, n_features, n_samples - 1))
        if not _has_variance(X):
            return np.zeros((n_features, width), np.float32)  # nothing to project on; ARPACK would fail
        coords = _pca_coordinates(X, width, random_state)
    elif method == "subsample":
        width = max(1, min(size, n_samples))
        rows = np.sort(random_state.choice(n_samples, size=width, replace=False))
        sub = X[rows]
        coords = (sub.toarray() if sp.issparse(sub) else np.asarray(sub)).T
    else:  # pragma: no cover - validated by the estimator
        raise ValueError(f"feature_input must be one of {FEATURE_INPUT_METHODS}, got {method!r}.")
    coords = np.asarray(coords, dtype=np.float64)
    scale = coords.std() if coords.size else 0.0
    if not np.isfinite(scale) or scale == 0:
        scale = 1.0
    return (coords / scale).astype(np.float32)


def _has_variance(X) -> bool:
    """Whether some column of the dense or sparse ``X`` is not constant."""
    if X.shape[0] < 2:
        return False
    if sp.issparse(X):
        X = sp.csc_matrix(X)
        lo, hi = X.min(axis=0).toarray().ravel(), X.max(axis=0).toarray().ravel()
    else:
        lo, hi = X.min(axis=0), X.max(axis=0)
    return bool(np.any(hi > lo))


def _pca_coordinates(X, width: int, random_state) -> np.ndarray:
    """``components_.T * singular_values_`` of a ``width``-component PCA of ``X`` (features x width).

    Sparse input goes to ARPACK without densifying; should ARPACK fail (a
    nearly rank-deficient matrix), the exact eigendecomposition of the
    features' covariance (features x features) replaces it.
    """
    solver = "arpack" if sp.issparse(X) and width < min(X.shape) else "full"
    if not sp.issparse(X) and min(X.shape) > 500 and width < 0.8 * min(X.shape):
        solver = "randomized"
    if sp.issparse(X) and solver == "full":
        solver = "covariance_eigh"
    try:
        pca = PCA(n_components=width, svd_solver=solver, random_state=random_state).fit(X)
    except (ArpackError, ArpackNoConvergence):
        pca = PCA(n_components=width, svd_solver="covariance_eigh").fit(X)
    return pca.components_.T * pca.singular_values_
