"""Rows of dense or sparse data, read in batches without copying the whole matrix.

Used by the training loop, the compiled inference functions and the fitted
statistics: every consumer asks for rows, never for the whole matrix densified.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

PREDICT_BATCH_SIZE = 2048
_ROW_MULTIPLE = 8


class RowSubset:
    """Some rows of a dense or sparse matrix, read without copying the matrix.

    Supports what the training loop and the chunked inference need: ``shape``,
    ``dtype`` and indexing rows by a slice or an integer array (which returns
    a real, small matrix of those rows). ``fit`` uses it for the training rows,
    so that holding out a validation set never copies the training data.

    Parameters
    ----------
    X : ndarray or CSR matrix
        The whole matrix.
    index : ndarray of int
        Rows to expose, in order.

    Examples
    --------
    >>> import numpy as np
    >>> rows = RowSubset(np.arange(12).reshape(6, 2), [1, 4])
    >>> rows.shape, rows[1:].tolist()
    ((2, 2), [[8, 9]])
    """

    def __init__(self, X, index):
        self.base = X
        self.index = np.asarray(index, dtype=np.intp)
        self.shape = (self.index.size, X.shape[1])
        self.dtype = X.dtype

    def __getitem__(self, rows):
        return self.base[self.index[rows]]


def as_rows(X):
    """CSR for fast row slicing; dense stays as is."""
    if sp.issparse(X):
        return X.tocsr()
    return X


def iter_row_batches(X, batch_size: int = PREDICT_BATCH_SIZE):
    """Yield ``(start, dense float32 rows)`` for dense or sparse ``X``."""
    for start in range(0, X.shape[0], batch_size):
        rows = X[start : start + batch_size]
        rows = rows.toarray() if sp.issparse(rows) else rows
        yield start, np.asarray(rows, dtype=np.float32)


def pad_rows(a: np.ndarray) -> np.ndarray:
    """Pad with zero rows to a multiple of 8 rows.

    CPU kernels take a different vectorised path for fewer than 8 rows, which
    changes float32 rounding; padding makes each row's result independent of
    how many rows are evaluated together (scikit-learn's subset-invariance
    checks rely on this).
    """
    n = a.shape[0]
    target = max(_ROW_MULTIPLE, -(-n // _ROW_MULTIPLE) * _ROW_MULTIPLE)
    if target == n:
        return a
    return np.concatenate([a, np.zeros((target - n, *a.shape[1:]), a.dtype)])


def split_rows(n_samples: int, validation_fraction: float, rng: np.random.RandomState):
    """Sorted training and validation row indices; the validation share is drawn with ``rng``.

    At least two training rows remain; otherwise nothing is held out.
    """
    order = rng.permutation(n_samples)
    n_val = int(np.floor(n_samples * validation_fraction))
    if n_samples - n_val < 2:
        n_val = 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def column_moments(X, transform) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and mean square of ``transform(rows)``, in row chunks (no full copy)."""
    total = np.zeros(X.shape[1], np.float64)
    total_sq = np.zeros(X.shape[1], np.float64)
    for _, rows in iter_row_batches(X, 4096):
        view = transform(rows)
        total += view.sum(axis=0, dtype=np.float64)
        total_sq += np.einsum("ij,ij->j", view, view, dtype=np.float64)
    n = max(X.shape[0], 1)
    return total / n, total_sq / n
