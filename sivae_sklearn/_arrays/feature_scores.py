"""Interpretation of a trained siVAE: pure array functions.

Nothing here trains anything or imports TensorFlow. The functions take plain
arrays, or the compiled inference functions of a trained model
(:class:`~sivae_sklearn._engine.inference.CompiledModel`) where they need the decoder,
and return NumPy arrays. The labelled, validated user API is
:class:`~sivae_sklearn._estimator.interpretation.InterpretationMixin`.

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

from .rows import iter_row_batches


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
        Computed in float64 from the network's float32 activations, so that the squares of inputs
        anywhere within float32 range stay finite (float32 squares overflow from about 1.8e19).
    """
    n_levels = model.network.config.n_levels
    level = resolve_level(level, n_levels)
    total = np.zeros(X.shape[1], np.float64)
    rows_out = []
    for start, rows in iter_row_batches(X):
        cond = None if condition is None else condition[start : start + rows.shape[0]]
        x_in, fits = model.level_fits(rows, cond)
        # float64: the network's float32 values square beyond float32 range from about 1.8e19 on. In place, three
        # float64 arrays of the batch at most: (x - mean)^2 - (x - fit)^2, computed as before, without temporaries.
        x_in = x_in.astype(np.float64)
        fit = fits[level].astype(np.float64)
        fits = None
        np.subtract(x_in, fit, out=fit)
        np.square(fit, out=fit)
        np.subtract(x_in, feature_mean, out=x_in)
        np.square(x_in, out=x_in)
        fa = np.subtract(x_in, fit, out=x_in)
        fit = None
        if per_sample:
            rows_out.append(fa.astype(np.float64))
        else:
            total += fa.sum(axis=0, dtype=np.float64)
    if per_sample:
        return np.concatenate(rows_out) if rows_out else np.zeros((0, X.shape[1]))
    return total / max(X.shape[0], 1)


def explained_variance(Z: np.ndarray, loadings: np.ndarray) -> np.ndarray:
    """Variance of each latent dimension's rank-1 reconstruction ``z_d v_d^T``.

    ``sum_f var_c(z_cd v_fd) = var(z_d) * ||v_d||^2`` (variances with
    ``ddof=1``, as PCA's): the same quantity as
    PCA's ``explained_variance_`` (for PCA, ``z_d`` are the scores and ``v_d``
    a unit vector, so this is the d-th eigenvalue).

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_components)
        Sample embeddings (posterior means).
    loadings : ndarray of shape (n_features, n_components)
        Feature embeddings ``V``.

    Returns
    -------
    ndarray of shape (n_components,), float64

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
    >>> explained_variance(Z, np.eye(2))
    array([1., 0.])
    """
    Z = np.asarray(Z, np.float64)
    ddof = 1 if Z.shape[0] > 1 else 0
    return explained_variance_from(Z.var(axis=0, ddof=ddof), loadings)


def explained_variance_from(z_variance: np.ndarray, loadings: np.ndarray) -> np.ndarray:
    """:func:`explained_variance` from the variance of each latent dimension (``ddof=1``) alone.

    Examples
    --------
    >>> import numpy as np
    >>> explained_variance_from(np.array([1.0, 4.0]), np.array([[1.0, 0.5], [0.0, 0.5]]))
    array([1., 2.])
    """
    return np.asarray(z_variance, np.float64) * np.square(np.asarray(loadings, np.float64)).sum(axis=0)


def feature_neighbors(loadings: np.ndarray, index: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` features whose embeddings lie closest to feature ``index``.

    Similarity is minus the Euclidean distance between rows of ``loadings``
    (the feature embeddings), as in the original siVAE. The feature itself is
    left out.

    Parameters
    ----------
    loadings : ndarray of shape (n_features, n_components)
    index : int
        Row of the query feature.
    n : int
        Number of neighbours (capped at ``n_features - 1``).

    Returns
    -------
    indices : ndarray of shape (n,)
        Neighbours, nearest first (ties broken by index).
    distances : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[0.0], [0.1], [5.0], [0.3]])
    >>> feature_neighbors(V, 0, 2)[0]
    array([1, 3])
    """
    V = np.asarray(loadings, np.float64)
    d = np.sqrt(np.square(V - V[index]).sum(axis=1))
    order = np.lexsort((np.arange(V.shape[0]), d))
    order = order[order != index][: max(int(n), 0)]
    return order, d[order]


def hub_scores(
    loadings: np.ndarray,
    *,
    method: str = "reconstruction",
    awareness: np.ndarray | None = None,
    variance: np.ndarray | None = None,
) -> np.ndarray:
    """Per-feature degree-centrality scores (higher: more of a hub).

    The two scores of the original siVAE:

    * ``"reconstruction"``: ``1 - mse_f / var_f``, one minus the feature's
      relative reconstruction error, i.e. feature awareness divided by the
      feature's variance (needs ``awareness`` and ``variance``);
    * ``"norm"``: ``-||v_f||``, minus the distance of the feature embedding
      from the origin.

    Parameters
    ----------
    loadings : ndarray of shape (n_features, n_components)
    method : {"reconstruction", "norm"}, default="reconstruction"
    awareness, variance : ndarray of shape (n_features,), optional
        Feature awareness and variance over the training data.

    Returns
    -------
    ndarray of shape (n_features,), float64

    Examples
    --------
    >>> import numpy as np
    >>> hub_scores(np.array([[3.0, 4.0], [0.0, 1.0]]), method="norm")
    array([-5., -1.])
    """
    if method == "norm":
        return -np.sqrt(np.square(np.asarray(loadings, np.float64)).sum(axis=1))
    if method == "reconstruction":
        if awareness is None or variance is None:
            raise ValueError("method='reconstruction' needs the feature awareness and the feature variances.")
        variance = np.asarray(variance, np.float64)
        safe = np.where(variance > 0, variance, 1.0)
        return np.where(variance > 0, np.asarray(awareness, np.float64) / safe, 0.0)
    raise ValueError(f"method={method!r} is not a hub score; expected 'reconstruction' or 'norm'.")


ATTRIBUTION_METHODS = ("saliency", "gradient_x_input")


def check_attribution_method(method: str) -> None:
    """Raise a ValueError unless ``method`` is one of :data:`ATTRIBUTION_METHODS`."""
    if method not in ATTRIBUTION_METHODS:
        raise ValueError(f"method={method!r} is not an attribution method; expected one of {ATTRIBUTION_METHODS}.")


def latent_attributions(jacobian: np.ndarray, Z: np.ndarray, method: str = "saliency") -> np.ndarray:
    """Attribution of every decoder output to every latent dimension.

    ``A[d, c, f] = d x_hat[c, f] / d z[c, d]`` (``"saliency"``) or that times
    ``z[c, d]`` (``"gradient_x_input"``). This is the gradient baseline the
    original siVAE compared its loadings with; the Jacobian costs one backward
    pass per output feature
    (:meth:`~sivae_sklearn._engine.inference.CompiledModel.latent_jacobian`).

    Parameters
    ----------
    jacobian : ndarray of shape (n_samples, n_features, n_components)
        ``d x_hat[c, f] / d z[c, d]`` at the latent points ``Z``.
    Z : ndarray of shape (n_samples, n_components)
        The latent points (usually the embedding of the data).
    method : {"saliency", "gradient_x_input"}

    Returns
    -------
    ndarray of shape (n_components, n_samples, n_features)

    Examples
    --------
    >>> import numpy as np
    >>> J = np.ones((2, 3, 1))
    >>> latent_attributions(J, np.array([[2.0], [3.0]]), "gradient_x_input")[0, :, 0]
    array([2., 3.])
    """
    check_attribution_method(method)
    J = np.asarray(jacobian)
    if method == "gradient_x_input":
        J = J * np.asarray(Z, J.dtype)[:, None, :]
    return np.transpose(J, (2, 0, 1))


def attribution_loadings(attributions: np.ndarray) -> np.ndarray:
    """Turn attribution matrices into loadings, as in the original siVAE.

    For each latent dimension ``d`` the loading vector is the first principal
    axis of its (samples x features) attribution matrix. Its sign is chosen so
    that it points along the mean attribution (a principal axis has no sign
    of its own).

    Parameters
    ----------
    attributions : ndarray of shape (n_components, n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_components, n_features), float64, rows of unit norm

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[[1.0, 0.0], [3.0, 0.0]]])
    >>> attribution_loadings(A)
    array([[1., 0.]])
    """
    A = np.asarray(attributions, np.float64)
    out = np.zeros((A.shape[0], A.shape[2]))
    for d in range(A.shape[0]):
        mean = A[d].mean(axis=0)
        _, _, vt = np.linalg.svd(A[d] - mean, full_matrices=False)
        axis = vt[0]
        if np.allclose(A[d] - mean, 0):
            norm = np.linalg.norm(mean)
            axis = mean / norm if norm > 0 else axis
        if axis @ mean < 0:
            axis = -axis
        out[d] = axis
    return out
