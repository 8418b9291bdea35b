"""Every check of user input, in one place: bad input gets a clear error before any work starts.

The estimator, its mixins, the plots and the explorer call these functions;
none of them checks arrays or parameters on its own. The parameters' types and
ranges are declared in ``SiVAE._parameter_constraints`` and checked by
scikit-learn's ``_fit_context``; what needs the data as well is checked here.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._data import as_rows
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


def check_image_shape(image_shape, n_features: int) -> tuple[int, ...] | None:
    """``image_shape`` as ``(height, width)`` or ``(height, width, channels)`` holding ``n_features``; None stays None.

    >>> check_image_shape((8, 8), 64), check_image_shape((4, 4, 3), 48)
    ((8, 8), (4, 4, 3))
    """
    if image_shape is None:
        return None
    problem = (
        f"image_shape must be two positive integers (height, width) or three (height, width, channels), "
        f"got {image_shape!r}."
    )
    if isinstance(image_shape, str):
        raise ValueError(problem)
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(problem) from None
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(problem)
    size = int(np.prod(shape))
    if size != n_features:
        what, unit = ("height * width", "pixels") if len(shape) == 2 else ("height * width * channels", "values")
        raise ValueError(
            f"image_shape={shape} holds {size} {unit} but the data have {n_features} features; "
            f"{what} must equal {n_features}."
        )
    return shape
