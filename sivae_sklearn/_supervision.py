"""Categorical side information of a fit: decoder conditions and class labels.

Pure NumPy helpers used by :class:`~sivae_sklearn.SiVAE` when
``conditional=True`` (a one-hot condition appended to the decoder input) or
``classifier_weight > 0`` (a classification head on the latent means). They turn
user labels of any hashable kind (ints, strings, pandas categoricals) into
integer codes against a fixed category list and back, with errors that name
what was wrong.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _as_1d(values, name: str) -> np.ndarray:
    if hasattr(values, "to_numpy"):  # pandas Series / Categorical
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one category per sample (1-D), got an array of shape {arr.shape}.")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; every sample needs a category.")
    if arr.dtype == object and any(v is None or (isinstance(v, float) and np.isnan(v)) for v in arr):
        raise ValueError(f"{name} contains missing values (None or NaN); every sample needs a category.")
    return arr


def encode_categories(values, n_samples: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique categories and the int32 code of every sample.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        One category per sample.
    n_samples : int
        Expected length (the number of rows of ``X``).
    name : str
        Name used in error messages (``"y"``, ``"condition"``).

    Returns
    -------
    categories : ndarray
        Sorted unique values (strings stay strings, numbers stay numbers).
    codes : ndarray of shape (n_samples,), int32

    Examples
    --------
    >>> cats, codes = encode_categories(["b", "a", "b"], 3, "y")
    >>> cats.tolist(), codes.tolist()
    (['a', 'b'], [1, 0, 1])
    """
    arr = _as_1d(values, name)
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} entries but X has {n_samples} rows; give one per sample.")
    if arr.dtype == object:
        arr = arr.astype(str)
    categories, codes = np.unique(arr, return_inverse=True)
    return categories, codes.astype(np.int32).ravel()


def codes_for(values, categories: np.ndarray, n_rows: int, name: str) -> np.ndarray:
    """Codes of ``values`` against known ``categories``; a scalar is broadcast to ``n_rows``.

    Raises a ValueError naming any value not among ``categories``.

    Examples
    --------
    >>> codes_for("b", np.array(["a", "b"]), 2, "condition").tolist()
    [1, 1]
    """
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim == 0:
        arr = np.repeat(arr.reshape(1), n_rows)
    arr = _as_1d(arr, name)
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} entries for {n_rows} rows; give one per row or a single value.")
    index = {cat.item() if hasattr(cat, "item") else cat: i for i, cat in enumerate(categories)}
    keys = [v.item() if hasattr(v, "item") else v for v in arr]
    codes = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
    if np.any(codes < 0):
        unseen = sorted({str(k) for k, c in zip(keys, codes) if c < 0})
        raise ValueError(
            f"{name} contains categories not seen in fit: {unseen[:10]}; the model knows {categories.tolist()}."
        )
    return codes.astype(np.int32)


def one_hot(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """float32 one-hot matrix of integer codes.

    Examples
    --------
    >>> one_hot(np.array([1, 0]), 3)
    array([[0., 1., 0.],
           [1., 0., 0.]], dtype=float32)
    """
    out = np.zeros((len(codes), n_categories), np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out


def class_probabilities(network, z_mean: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Softmax of the network's classification head at latent means (float64)."""
    out = []
    for start in range(0, z_mean.shape[0], batch_size):
        z = tf.constant(np.asarray(z_mean[start : start + batch_size], np.float32))
        out.append(tf.nn.softmax(network.classifier(z), axis=1).numpy())
    if not out:
        return np.zeros((0, network.config.n_classes))
    return np.concatenate(out).astype(np.float64)
