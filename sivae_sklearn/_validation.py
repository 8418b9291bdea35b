"""Every check of user input, in one place: bad input gets a clear error before any work starts.

The estimator, its mixins, the plots and the explorer call these functions;
none of them checks arrays or parameters on its own. The parameters' types and
ranges are declared in ``SiVAE._parameter_constraints`` and checked by
scikit-learn's ``_fit_context``; what needs the data as well is checked here.
"""

from __future__ import annotations

from functools import partial
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._data import as_disk_rows, as_rows, is_lazy
from ._likelihoods import count_likelihoods, get_likelihood

FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_training_data(estimator, X):
    """Validate the training data of ``estimator.fit`` and return it ready for training.

    Checks what scikit-learn's ``validate_data`` checks (NaN and inf,
    non-numeric values, too few samples; it sets ``n_features_in_`` and
    ``feature_names_in_``), then ``n_components <= n_features``, the layer
    sizes, the float32 range and the likelihood's support.

    Returns
    -------
    X : C-contiguous float32 ndarray or float32 CSR matrix
    """
    X = validate_data(
        estimator,
        X,
        accept_sparse=("csr", "csc"),
        dtype=(np.float64, np.float32),
        ensure_min_samples=2,
        reset=True,
    )
    n_features = X.shape[1]
    if estimator.n_components > n_features:
        raise ValueError(
            f"n_components={estimator.n_components} must be <= n_features={n_features}: "
            f"the latent space cannot have more dimensions than the data."
        )
    check_layer_sizes(estimator.hidden_layer_sizes, "hidden_layer_sizes")
    if sp.issparse(X):
        X = X.tocsr().astype(np.float32, copy=False)
    check_float32_range(X)
    get_likelihood(estimator.likelihood).check_support(X, "X", stacklevel=5)
    if not sp.issparse(X):
        X = np.ascontiguousarray(X, dtype=np.float32)
    return X


def check_layer_sizes(sizes, name: str) -> None:
    """Raise unless ``sizes`` is a sequence of positive integers."""
    if not all(isinstance(h, Integral) and h >= 1 for h in sizes):
        raise ValueError(f"{name} must be a tuple of positive integers, got {sizes!r}.")


def check_float32_range(X) -> None:
    """Raise when a value of the dense or sparse ``X`` does not fit in float32 (training runs in float32)."""
    values = X.data if sp.issparse(X) else X
    biggest = float(max(values.max(), -values.min())) if values.size else 0.0
    if biggest > FLOAT32_MAX:
        raise ValueError(
            f"X holds values up to {biggest:.3g}, beyond float32 range; SiVAE trains in "
            f"float32. Rescale the data (e.g. StandardScaler)."
        )


def check_fitted_data(estimator, X):
    """Validate data given to a fitted estimator (width, names, values); CSR when sparse.

    Returns
    -------
    X : ndarray (float32 or float64, as given) or CSR matrix
    """
    check_is_fitted(estimator)
    X = validate_data(estimator, X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32), reset=False)
    return as_rows(X)


def check_latent_points(estimator, Z) -> np.ndarray:
    """Validate latent coordinates given to a fitted estimator (one column per latent dimension)."""
    check_is_fitted(estimator)
    Z = check_array(Z, dtype=(np.float64, np.float32))
    if Z.shape[1] != estimator.n_components_:
        raise ValueError(
            f"X has {Z.shape[1]} features, but inverse_transform expects "
            f"n_components={estimator.n_components_} latent coordinates per row."
        )
    return Z


def check_library_size(likelihood: str, library_size, n_samples: int) -> np.ndarray:
    """One non-negative total count per row (a number is broadcast), for the count likelihoods only."""
    if not get_likelihood(likelihood).needs_library_size:
        raise ValueError(
            f"library_size only applies to the count likelihoods {count_likelihoods()}; "
            f"this model uses likelihood={likelihood!r}."
        )
    library = np.asarray(library_size, dtype=np.float64)
    if library.ndim == 0:
        library = np.full(n_samples, float(library))
    library = library.reshape(-1)
    if library.shape[0] != n_samples:
        raise ValueError(
            f"library_size must be a number or have one entry per row of X ({n_samples}), "
            f"got {library.shape[0]} entries."
        )
    if not np.all(np.isfinite(library)) or np.any(library < 0):
        raise ValueError("library_size must be finite and non-negative (total counts per sample).")
    return library


def check_positive_int(value, name: str) -> int:
    """``value`` as an int; a ValueError unless it is a positive integer."""
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_image_shape(image_shape, n_features: int) -> tuple[int, int] | None:
    """``image_shape`` as ``(height, width)`` with ``height * width == n_features``; None stays None.

    >>> check_image_shape((8, 8), 64)
    (8, 8)
    """
    if image_shape is None:
        return None
    problem = f"image_shape must be two positive integers (height, width), got {image_shape!r}."
    if isinstance(image_shape, str):
        raise ValueError(problem)
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(problem) from None
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(problem)
    if shape[0] * shape[1] != n_features:
        raise ValueError(
            f"image_shape={shape} holds {shape[0] * shape[1]} pixels but the data have {n_features} features; "
            f"height * width must equal {n_features}."
        )
    return shape


# ------------------------------------------------- data on disk, chunk by chunk
def check_training_input(estimator, X):
    """:func:`check_training_data` for data in memory; for data on disk, the same rules chunk by chunk.

    Data on disk or computed lazily (dask arrays, zarr and h5py arrays,
    anndata's backed matrices: see :func:`~sivae_sklearn._data.is_lazy`) is
    not read here: it comes back as :class:`~sivae_sklearn._data.DiskRows`
    whose every chunk goes through :func:`check_training_data` when it is read
    (``fit`` reads every chunk once before training starts). The number of
    rows is checked now.

    Returns
    -------
    X : float32 ndarray, float32 CSR matrix or DiskRows
    """
    if not is_lazy(X):
        return check_training_data(estimator, X)
    rows = as_disk_rows(X, check=partial(check_training_chunk, estimator))
    n_samples, n_features = rows.shape
    if n_samples < 2:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={rows.shape}) while a minimum of 2 is required "
            f"by {type(estimator).__name__}."
        )
    estimator.n_features_in_ = n_features
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_  # arrays on disk carry no column names
    return rows


def check_training_chunk(estimator, block):
    """One chunk of on-disk training data, checked and converted by :func:`check_training_data`."""
    if block.shape[0] == 1:  # the rules ask for two rows; a one-row chunk is checked twice over
        pair = sp.vstack([block, block], format="csr") if sp.issparse(block) else np.concatenate([block, block])
        return check_training_data(estimator, pair)[:1]
    return check_training_data(estimator, block)


def check_fitted_input(estimator, X):
    """:func:`check_fitted_data` for data in memory; for data on disk, the width now and every chunk as it is read.

    Returns
    -------
    X : ndarray, CSR matrix or DiskRows
    """
    if not is_lazy(X):
        return check_fitted_data(estimator, X)
    check_is_fitted(estimator)
    rows = as_disk_rows(X, check=partial(check_fitted_data, estimator))
    if rows.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {rows.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return rows
