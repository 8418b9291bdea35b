"""Interpretation of a trained siVAE: pure array functions.

Nothing here trains anything. The functions take the compiled inference
functions of a trained model (:class:`~sivae_sklearn._inference.CompiledModel`)
or plain arrays and return NumPy arrays.

Feature awareness (Choi, Li & Quon 2023). For a decoder level ``l`` pair the
sample-side activations ``S(l)`` with the feature-side activations ``F(l)`` of
the same width (level 0 is ``(z, v)``, the last level is ``(y, W)``) and form
``X_hat(l) = S(l) F(l)^T``. Then::

    FA(l)[c, f] = (x_cf - mean_c x_cf)^2 - (x_cf - X_hat(l)[c, f])^2

Positive where the level's representation carries feature ``f`` of sample
``c`` better than the feature's mean does. Averaged over samples this is
``var_f - mse_f(l)``. Level 0 adds the interpretability bias (it is the linear
map ``z V^T + b`` the interpretability term fits); the last level adds the
decoder bias and the likelihood's mean function, so it is the model's actual
reconstruction.
"""

from __future__ import annotations

import numpy as np

from ._inference import iter_row_batches


def resolve_level(level: int, n_levels: int) -> int:
    """Turn a possibly negative level index into ``0 .. n_levels - 1``."""
    if not -n_levels <= level < n_levels:
        raise ValueError(
            f"layer={level} does not exist: the decoder has {n_levels} levels "
            f"(0 = latent (z, v) ... {n_levels - 1} = last hidden layer (y, W)); "
            f"use an integer in [{-n_levels}, {n_levels - 1}]."
        )
    return level % n_levels


def feature_awareness(model, X, feature_mean: np.ndarray, *, level: int = -1, per_sample: bool = False, condition=None):
    """Feature awareness of one decoder level.

    Parameters
    ----------
    model : CompiledModel
        Inference functions of the trained network.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Samples to evaluate on (densified one batch at a time).
    feature_mean : ndarray of shape (n_features,)
        Mean of each feature (of the encoder's input) over the training data.
    level : int, default=-1
        Decoder level; negative counts from the last.
    per_sample : bool, default=False
        Return the (n_samples, n_features) matrix instead of its mean over samples.
    condition : ndarray, optional
        One-hot condition per row for conditional models.

    Returns
    -------
    ndarray of shape (n_features,) or (n_samples, n_features), float64
    """
    n_levels = model.network.config.n_levels
    level = resolve_level(level, n_levels)
    total = np.zeros(X.shape[1], np.float64)
    rows_out = []
    for start, rows in iter_row_batches(X):
        cond = None if condition is None else condition[start : start + rows.shape[0]]
        x_in, fits = model.level_fits(rows, cond)
        fa = np.square(x_in - feature_mean) - np.square(x_in - fits[level])
        if per_sample:
            rows_out.append(fa.astype(np.float64))
        else:
            total += fa.sum(axis=0, dtype=np.float64)
    if per_sample:
        return np.concatenate(rows_out) if rows_out else np.zeros((0, X.shape[1]))
    return total / max(X.shape[0], 1)
