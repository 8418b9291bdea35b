"""The reduced input of the feature-wise encoder, and the fitted reduction that made it.

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

:class:`FeatureReducer` keeps what the reduction needs (the rows it read, the
left singular vectors of the PCA, the scale), so that a column that was not in
training, given on the same rows, is reduced exactly as the training columns
were: the PCA coordinates of a column ``x`` are ``(x - mean(x)) @ U``, where
``U`` are the left singular vectors (``X_c.T @ U = V S`` is the identity
behind ``components_.T * singular_values_``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

FEATURE_INPUT_METHODS = ("pca", "subsample")
MAX_ROWS = 20_000
"""At most this many training rows feed the reduction, so its cost does not grow with n_samples."""

_RELATIVE_RANK_TOL = 1e-10
"""Singular values below this fraction of the largest are treated as zero (their axes get no weight)."""


class FeatureReducer:
    """The fitted reduction of features (columns) to the feature encoder's input.

    Fitted on some rows of the training data (as the sample encoder sees
    them), it reduces each column of those rows to ``width_`` numbers; then
    :meth:`transform` reduces new columns, given on the same rows, in exactly
    the same way.

    Parameters
    ----------
    method : {"pca", "subsample"}, default="pca"
        Reduction, see the module docstring.
    size : int, default=50
        Requested width; capped by what the data allows.

    Attributes
    ----------
    width_ : int
        Width of the reduced input, ``<= size``.
    n_samples_fit_ : int
        Number of rows of the data the reducer was fitted on (the rows that
        :meth:`transform` expects).
    rows_ : ndarray of shape (n_rows,), int64
        The rows (sorted indices into those ``n_samples_fit_`` rows) that the
        reduction reads: the rows of the PCA, or the subsampled rows.
    axes_ : ndarray of shape (n_rows, width_), float64, or None
        ``"pca"``: the left singular vectors of the centred rows ``rows_``
        (all zero for data without variance). ``None`` for ``"subsample"``.
    scale_ : float
        The reduced columns are divided by it (their overall standard
        deviation at fit time).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(30, 5))
    >>> reducer = FeatureReducer("pca", 3)
    >>> inputs = reducer.fit_transform(X, np.random.RandomState(0))
    >>> inputs.shape
    (5, 3)
    >>> bool(np.allclose(reducer.transform(X[:, [1]]), inputs[[1]], atol=1e-6))
    True
    """

    def __init__(self, method: str = "pca", size: int = 50):
        self.method = method
        self.size = size

    def fit_transform(
        self, X, random_state=None, *, rows=None, n_samples: int | None = None, copy: bool = True
    ) -> np.ndarray:
        """Fit the reduction on ``X`` and return the reduced columns of ``X``.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_rows, n_features)
            The rows the reduction reads, as the sample encoder sees them.
        random_state : int, numpy.random.RandomState or None
            Chooses the subsample or seeds the randomized PCA.
        rows : array-like of int of shape (n_rows,), default=None
            Which rows of the fitted data ``X`` holds (sorted), when it holds
            only some; default: all of them, in order.
        n_samples : int, default=None
            Number of rows of the fitted data; default: ``X.shape[0]``. Needed
            with ``rows``.
        copy : bool, default=True
            ``False``: a dense ``X`` may be overwritten (the PCA centres it in
            place instead of centring a copy), which saves one copy of ``X``;
            the result is the same. ``fit`` passes ``False`` for the rows it
            read for the reduction, which it does not need afterwards.

        Returns
        -------
        ndarray of shape (n_features, width_), float32
            One row per feature.
        """
        if self.method not in FEATURE_INPUT_METHODS:
            raise ValueError(f"method must be one of {FEATURE_INPUT_METHODS}, got {self.method!r}.")
        random_state = check_random_state(random_state)
        n_rows, n_features = X.shape
        rows = np.arange(n_rows, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        n_samples = n_rows if n_samples is None else int(n_samples)
        if rows.shape != (n_rows,) or (rows.size and (rows[0] < 0 or rows[-1] >= n_samples)):
            raise ValueError(f"rows must be {n_rows} sorted indices below n_samples={n_samples}.")
        axes = None
        if self.method == "pca":
            width = max(1, min(self.size, n_features, n_rows - 1))
            if not _has_variance(X):  # nothing to project on; ARPACK would fail
                coords = np.zeros((n_features, width))
                axes = np.zeros((n_rows, width))
            else:
                coords, axes = _pca_coordinates(X, width, random_state, copy=copy)
        else:
            width = max(1, min(self.size, n_rows))
            picked = np.sort(random_state.choice(n_rows, size=width, replace=False))
            sub = X[picked]
            coords = (sub.toarray() if sp.issparse(sub) else np.asarray(sub)).T
            rows = rows[picked]
        coords = np.asarray(coords, dtype=np.float64)
        scale = coords.std() if coords.size else 0.0
        if not np.isfinite(scale) or scale == 0:
            scale = 1.0
        self.width_ = int(width)
        self.n_samples_fit_ = n_samples
        self.rows_ = rows
        self.axes_ = axes
        self.scale_ = float(scale)
        return (coords / scale).astype(np.float32)

    def transform(self, X_columns, *, rows_only: bool = False) -> np.ndarray:
        """Reduce columns that were not in training, exactly as the training columns were.

        Parameters
        ----------
        X_columns : ndarray or sparse matrix of shape (n_samples_fit_, n_new)
            Values of the new features on the rows of the fit, in the space
            the reducer was fitted in (as the sample encoder sees the data).
            Sparse input is never densified whole: only ``n_new x width_``
            dense numbers are made.
        rows_only : bool, default=False
            ``X_columns`` holds only the rows :attr:`rows_` (in that order),
            shape (len(rows_), n_new): all that the reduction reads. Useful
            when the fitted data is on disk.

        Returns
        -------
        ndarray of shape (n_new, width_), float32
            One row per new column; a training column gives its training
            input to float round-off.
        """
        if not hasattr(self, "scale_"):
            raise AttributeError("This FeatureReducer is not fitted yet; call fit_transform first.")
        expected = self.rows_.size if rows_only else self.n_samples_fit_
        if len(getattr(X_columns, "shape", ())) != 2 or X_columns.shape[0] != expected:
            raise ValueError(
                f"X_columns must have {expected} rows ("
                + ("the reducer's rows_" if rows_only else "the rows of the fit")
                + f"), got shape {getattr(X_columns, 'shape', None)}."
            )
        if sp.issparse(X_columns):
            sub = sp.csr_matrix(X_columns) if rows_only else sp.csr_matrix(X_columns)[self.rows_]
            sub = sub.astype(np.float64)
        else:
            X_columns = np.asarray(X_columns)
            sub = np.asarray(X_columns if rows_only else X_columns[self.rows_], dtype=np.float64)
        if self.axes_ is None:
            coords = (sub.toarray() if sp.issparse(sub) else sub).T
        else:
            mean = np.asarray(sub.mean(axis=0)).ravel()
            coords = np.asarray(sub.T @ self.axes_) - np.outer(mean, self.axes_.sum(axis=0))
        if not np.all(np.isfinite(coords)):
            raise ValueError("X_columns holds NaN or infinite values.")
        return (coords / self.scale_).astype(np.float32)


def training_feature_inputs(
    split, method: str, size: int, random_state, transform
) -> tuple[FeatureReducer, np.ndarray]:
    """A :class:`FeatureReducer` fitted on the training rows of a fit, and the feature inputs it gives.

    Parameters
    ----------
    split : TrainSplit
        The rows of the fit (:func:`~sivae_sklearn._arrays.rows.split_training_rows`);
        the validation rows never reach the feature encoder.
    method, size
        See :class:`FeatureReducer`.
    random_state : numpy.random.RandomState
        Draws the rows when there are more than :data:`MAX_ROWS`, then seeds the reduction.
    transform : callable
        The likelihood's encoder input in NumPy (``EncoderInput.numpy``).

    Returns
    -------
    reducer : FeatureReducer
        Fitted; its ``rows_`` index the rows given to ``fit``.
    inputs : ndarray of shape (n_features, reducer.width_), float32
    """
    reducer = FeatureReducer(method, size)
    n_samples = split.X.shape[0]
    if split.sample is not None:  # on disk: read during the split
        # Released here, as soon as the encoder's view of it exists: never the rows and their view, nor a
        # copy for the PCA (which centres the view in place: ``copy=False``), in memory at once.
        sample, split.sample = transform(split.sample), None
        inputs = reducer.fit_transform(sample, random_state, rows=split.sample_rows, n_samples=n_samples, copy=False)
        return reducer, inputs
    rows = split.train_rows
    if rows.size > MAX_ROWS:
        rows = np.sort(random_state.choice(rows, MAX_ROWS, replace=False))
    # ``split.X[rows]`` is a copy of the rows (fancy indexing), so the PCA may centre it in place.
    sample = transform(split.X[rows])
    return reducer, reducer.fit_transform(sample, random_state, rows=rows, n_samples=n_samples, copy=False)


def make_feature_inputs(X, method: str, size: int, random_state: np.random.RandomState) -> np.ndarray:
    """Reduce every feature (column of ``X``) to ``size`` numbers: :meth:`FeatureReducer.fit_transform`.

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
    return FeatureReducer(method, size).fit_transform(X, random_state)


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


def _pca_coordinates(X, width: int, random_state, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """``components_.T * singular_values_`` of a ``width``-component PCA of ``X`` (features x width), and ``U``.

    ``U`` (rows x width) are the left singular vectors of the centred ``X``,
    from the same decomposition (``fit_transform`` returns ``U * S``), so that
    ``X_c.T @ U`` is the coordinates to round-off whatever the solver; axes
    whose singular value is zero get zero weight. Sparse input goes to ARPACK
    without densifying; should ARPACK fail (a nearly rank-deficient matrix),
    the exact eigendecomposition of the features' covariance (features x
    features) replaces it. ``copy=False`` lets the PCA centre a dense ``X``
    in place (it is overwritten; the values computed are the same).
    """
    solver = "arpack" if sp.issparse(X) and width < min(X.shape) else "full"
    if not sp.issparse(X) and min(X.shape) > 500 and width < 0.8 * min(X.shape):
        solver = "randomized"
    if sp.issparse(X) and solver == "full":
        solver = "covariance_eigh"
    try:
        pca = PCA(n_components=width, svd_solver=solver, random_state=random_state, copy=copy)
        scores = pca.fit_transform(X)
    except (ArpackError, ArpackNoConvergence):
        pca = PCA(n_components=width, svd_solver="covariance_eigh")
        scores = pca.fit_transform(X)
    singular = pca.singular_values_
    kept = singular > _RELATIVE_RANK_TOL * singular.max(initial=0.0)
    axes = np.zeros(scores.shape, np.float64)
    axes[:, kept] = scores[:, kept] / singular[kept]
    return pca.components_.T * singular, axes


# ------------------------------------------------------------- model files
_STATE_PLAIN = {"method": str, "size": int, "width": int, "n_samples_fit": int, "scale": float}


def reducer_state(reducer: FeatureReducer) -> dict:
    """The fitted ``reducer`` as plain values and arrays (``rows``, and ``axes`` for PCA), for a model file."""
    state = {
        "method": reducer.method,
        "size": int(reducer.size),
        "width": reducer.width_,
        "n_samples_fit": reducer.n_samples_fit_,
        "scale": reducer.scale_,
        "rows": reducer.rows_,
    }
    if reducer.axes_ is not None:
        state["axes"] = reducer.axes_
    return state


def check_reducer_state(state: dict, width: int, size: int) -> None:
    """Raise a ValueError unless ``state`` describes a reducer of ``width`` outputs (arrays by shape and dtype only).

    ``state`` is what :func:`reducer_state` returns, with the arrays as
    anything that has ``shape`` and ``dtype`` (a model file's array headers).
    """
    arrays = {"rows", "axes"} if state.get("method") == "pca" else {"rows"}
    if set(state) != set(_STATE_PLAIN) | arrays:
        raise ValueError(f"feature_reducer must have exactly {sorted(set(_STATE_PLAIN) | arrays)}, got {sorted(state)}")
    for key, kind in _STATE_PLAIN.items():
        value = state[key]
        if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else kind):
            raise ValueError(f"feature_reducer[{key!r}] must be a {kind.__name__}, got {value!r:.40}")
    if state["method"] not in FEATURE_INPUT_METHODS:
        raise ValueError(f"feature_reducer['method'] must be one of {FEATURE_INPUT_METHODS}, got {state['method']!r}")
    if state["width"] != width or state["size"] != size:
        raise ValueError(
            f"feature_reducer has width {state['width']} and size {state['size']}, but the network's feature "
            f"input has width {width} and feature_input_size={size}"
        )
    if state["n_samples_fit"] < 1 or not (np.isfinite(state["scale"]) and state["scale"] > 0):
        raise ValueError("feature_reducer['n_samples_fit'] must be positive and its scale finite and positive")
    rows = state["rows"]
    if len(rows.shape) != 1 or rows.dtype.kind not in "iu" or not 1 <= rows.shape[0] <= state["n_samples_fit"]:
        raise ValueError(
            f"feature_reducer rows have shape {rows.shape} and dtype {rows.dtype}, expected between 1 and "
            f"n_samples_fit={state['n_samples_fit']} integers"
        )
    if state["method"] == "subsample" and rows.shape[0] != width:
        raise ValueError(f"feature_reducer holds {rows.shape[0]} subsampled rows for a width of {width}")
    if "axes" in state:
        axes = state["axes"]
        if tuple(axes.shape) != (rows.shape[0], width) or axes.dtype.kind != "f":
            raise ValueError(
                f"feature_reducer axes have shape {axes.shape} and dtype {axes.dtype}, expected "
                f"({rows.shape[0]}, {width}) floats"
            )


def reducer_from_state(state: dict) -> FeatureReducer:
    """A fitted :class:`FeatureReducer` from a state that passed :func:`check_reducer_state`, its arrays read.

    Raises a ValueError if the rows are not sorted, distinct indices below
    ``n_samples_fit`` or the axes are not finite.
    """
    rows = np.asarray(state["rows"], dtype=np.int64)
    if rows.size and (rows[0] < 0 or rows[-1] >= state["n_samples_fit"] or np.any(np.diff(rows) <= 0)):
        raise ValueError("feature_reducer rows must be sorted, distinct indices below n_samples_fit")
    axes = state.get("axes")
    if axes is not None and not np.all(np.isfinite(axes)):
        raise ValueError("feature_reducer axes hold NaN or infinite values")
    reducer = FeatureReducer(state["method"], state["size"])
    reducer.width_ = state["width"]
    reducer.n_samples_fit_ = state["n_samples_fit"]
    reducer.rows_ = rows
    reducer.axes_ = None if axes is None else np.asarray(axes, dtype=np.float64)
    reducer.scale_ = float(state["scale"])
    return reducer
