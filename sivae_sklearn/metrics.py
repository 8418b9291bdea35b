"""Quality of a latent space: class separation, neighbourhood preservation,
active dimensions, disentanglement.

* :func:`knn_accuracy`: the siVAE paper's protocol, stratified 5-fold kNN
  classification on the embedding with ``k = 2 x number of classes``;
* :func:`trustworthiness`: are the embedding's neighbours neighbours in the data
  (:func:`sklearn.manifold.trustworthiness`);
* :func:`kl_per_dimension` and :func:`active_dimensions`: how much each latent
  dimension is used (posterior collapse shows as zero KL and no activity);
* :func:`mutual_information_gap`: how well single dimensions capture single
  known factors (Chen et al. 2018, MIG);
* :func:`module_recovery`: do the loadings group the features into their
  known modules (k-means on the loading directions, adjusted Rand index).

Functions on arrays take the embedding; the ones needing posterior variances
take the fitted model first.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.manifold import trustworthiness as _sk_trustworthiness
from sklearn.metrics import adjusted_rand_score, mutual_info_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ._estimator.validation import check_finite_number


def knn_accuracy(Z, labels, *, n_neighbors: int | None = None, n_splits: int = 5, random_state=0) -> float:
    """Mean accuracy of a kNN classifier on the embedding (siVAE's protocol).

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_components)
        Embedding.
    labels : array-like of shape (n_samples,)
        Class of each sample.
    n_neighbors : int, optional
        ``k``; default ``2 x number of classes`` as in the siVAE paper.
    n_splits : int, default=5
        Folds of the stratified cross-validation (shuffled).
    random_state : int, default=0
        Seeds the fold assignment.

    Returns
    -------
    float
        Mean held-out accuracy over the folds.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.r_[np.zeros((20, 2)), np.ones((20, 2))] + np.random.RandomState(0).normal(0, .1, (40, 2))
    >>> knn_accuracy(Z, [0] * 20 + [1] * 20)
    1.0
    """
    Z = check_array(Z)
    labels = column_or_1d(np.asarray(labels))
    if labels.shape[0] != Z.shape[0]:
        raise ValueError(f"labels has {labels.shape[0]} entries but Z has {Z.shape[0]} rows.")
    classes, counts = np.unique(labels, return_counts=True)
    if classes.size < 2:
        raise ValueError("knn_accuracy needs at least two classes in labels.")
    if counts.min() < n_splits:
        raise ValueError(
            f"the smallest class has {counts.min()} samples, fewer than n_splits={n_splits}; lower n_splits."
        )
    k = 2 * classes.size if n_neighbors is None else int(n_neighbors)
    k = min(k, Z.shape[0] - Z.shape[0] // n_splits - 1)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    scores = cross_val_score(KNeighborsClassifier(n_neighbors=max(k, 1)), Z, labels, cv=cv)
    return float(np.mean(scores))


def trustworthiness(X, Z, *, n_neighbors: int = 5) -> float:
    """Trustworthiness of the embedding ``Z`` of ``X`` (1 = all neighbours genuine).

    A thin wrapper of :func:`sklearn.manifold.trustworthiness`, kept here so all
    latent-space metrics live in one module.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.RandomState(0).normal(size=(30, 4))
    >>> trustworthiness(X, X[:, :2]) < trustworthiness(X, X)
    True
    """
    X = check_array(X, accept_sparse=False)
    Z = check_array(Z)
    if X.shape[0] != Z.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but Z has {Z.shape[0]}.")
    n_neighbors = min(int(n_neighbors), (X.shape[0] - 1) // 2)
    return float(_sk_trustworthiness(X, Z, n_neighbors=max(n_neighbors, 1)))


def _posterior(model, X) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of ``z`` for the rows of ``X``, in float64."""
    check_is_fitted(model)
    mean, std = model.transform(X, return_std=True)
    return np.asarray(mean, np.float64), np.asarray(std, np.float64)


def kl_per_dimension(model, X) -> np.ndarray:
    """Mean ``KL(q(z_d | x) || N(0, 1))`` of each latent dimension over ``X``.

    Dimensions with a KL near 0 carry no information about the samples
    (posterior collapse).

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    X : array-like of shape (n_samples, n_features)
        Data.

    Returns
    -------
    ndarray of shape (n_components,)
        In nats; sums to the sample-wise KL term.
    """
    mean, std = _posterior(model, X)
    var = np.square(std)
    return np.mean(0.5 * (var + np.square(mean) - 1.0 - np.log(var)), axis=0)


def active_dimensions(model, X, *, threshold: float = 0.01) -> np.ndarray:
    """Which latent dimensions are active (Burda et al. 2016).

    A dimension is active when the variance over samples of its posterior mean,
    ``Var_x E[z_d | x]``, exceeds ``threshold``.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    X : array-like of shape (n_samples, n_features)
        Data.
    threshold : float, default=0.01
        Activity threshold.

    Returns
    -------
    ndarray of bool, shape (n_components,)
    """
    threshold = check_finite_number(threshold, "threshold")
    mean, _ = _posterior(model, X)
    return np.var(mean, axis=0) > threshold


def _entropy(codes: np.ndarray) -> float:
    _, counts = np.unique(codes, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def mutual_information_gap(Z, factors, *, n_bins: int = 20) -> float:
    """Mutual information gap (MIG) of an embedding against known discrete factors.

    For each factor, the mutual information with every latent dimension
    (discretised into ``n_bins`` equal-width bins) is computed; the gap between
    the largest and second largest, divided by the factor's entropy, is
    averaged over factors. 1: each factor is captured by a single dimension;
    0: by none or equally by several.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_components)
        Embedding, at least two dimensions.
    factors : array-like of shape (n_samples,) or (n_samples, n_factors)
        Discrete ground-truth factors (e.g. class labels).
    n_bins : int, default=20
        Bins per latent dimension.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> f = rng.randint(0, 3, 300)
    >>> Z = np.c_[f + rng.normal(0, .1, 300), rng.normal(size=300)]
    >>> mutual_information_gap(Z, f) > 0.8
    True
    """
    Z = check_array(Z)
    if Z.shape[1] < 2:
        raise ValueError("mutual_information_gap needs an embedding with at least 2 dimensions.")
    F = np.asarray(factors)
    F = F.reshape(-1, 1) if F.ndim == 1 else F
    if F.ndim != 2 or F.shape[0] != Z.shape[0]:
        raise ValueError(f"factors must have one row per sample ({Z.shape[0]}), got shape {np.shape(factors)}.")
    binned = []
    for d in range(Z.shape[1]):
        edges = np.histogram_bin_edges(Z[:, d], bins=n_bins)
        binned.append(np.digitize(Z[:, d], edges[1:-1]))
    gaps = []
    for j in range(F.shape[1]):
        codes = np.unique(F[:, j], return_inverse=True)[1].ravel()
        h = _entropy(codes)
        if h == 0:
            continue
        mi = np.sort([mutual_info_score(codes, b) for b in binned])[::-1]
        gaps.append((mi[0] - mi[1]) / h)
    if not gaps:
        raise ValueError("every factor is constant; mutual_information_gap needs factors that vary.")
    return float(np.mean(gaps))


def module_recovery(loadings, modules, *, n_init: int = 10, random_state=0) -> float:
    """How well loading vectors group features into their known modules.

    The loading vector of every module feature (``modules >= 0``) is scaled to
    unit length, so that only its direction counts, and the directions are
    clustered by k-means with k = the number of modules. The score is the
    adjusted Rand index of those clusters against the modules: 1 is perfect
    recovery, about 0 is chance.

    Parameters
    ----------
    loadings : array-like of shape (n_features, n_dims)
        One row per feature, e.g. ``model.components_.T`` (of SiVAE or PCA)
        or a feature's row of the data's correlation matrix.
    modules : array-like of shape (n_features,)
        Module of each feature, ``-1`` for features outside every module
        (left out), as returned by :func:`sivae_sklearn.datasets.make_program_modules`.
    n_init : int, default=10
        k-means restarts.
    random_state : int, default=0
        Seeds k-means.

    Returns
    -------
    float
        Adjusted Rand index.

    Examples
    --------
    >>> import numpy as np
    >>> loadings = np.array([[1.0, 0.1], [2.0, 0.1], [0.1, 1.0], [0.2, 3.0], [1.0, 1.0]])
    >>> module_recovery(loadings, [0, 0, 1, 1, -1])
    1.0
    """
    L = check_array(loadings)
    modules = column_or_1d(np.asarray(modules))
    if modules.shape[0] != L.shape[0]:
        raise ValueError(f"modules has {modules.shape[0]} entries but loadings has {L.shape[0]} rows.")
    keep = modules >= 0
    n_modules = np.unique(modules[keep]).size
    if n_modules < 2:
        raise ValueError("module_recovery needs at least two modules (entries of modules >= 0).")
    L = L[keep]
    norms = np.linalg.norm(L, axis=1, keepdims=True)
    L = L / np.where(norms > 0, norms, 1.0)
    labels = KMeans(n_modules, n_init=n_init, random_state=random_state).fit_predict(L)
    return float(adjusted_rand_score(modules[keep], labels))
