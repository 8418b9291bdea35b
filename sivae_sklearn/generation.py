"""Exploring the latent space of a fitted :class:`~sivae_sklearn.SiVAE` by decoding.

Three functions, each taking the fitted model first and returning NumPy arrays:

* :func:`interpolate`: the decoded path between two samples (or two latent points);
* :func:`traverse`: vary one latent dimension at a time around a sample, with
  values taken from the prior, the sample's posterior, or quantiles of a
  reference embedding;
* :func:`manifold_grid`: decode a regular 2-D grid over two latent dimensions.

Conditional models (``conditional=True``) decode under a chosen category:
every function passes ``condition=`` on to :meth:`SiVAE.inverse_transform`.
Plots of the results are :func:`~sivae_sklearn.plotting.plot_interpolation`,
:func:`~sivae_sklearn.plotting.plot_traversal` and
:func:`~sivae_sklearn.plotting.plot_manifold`.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy.stats import norm
from sklearn.utils.validation import check_is_fitted

from ._estimator.validation import (
    check_array_like,
    check_data,
    check_finite_number,
    check_latent_vector,
    check_output_size,
)

_VALUE_SOURCES = ("prior", "posterior", "quantiles")


@dataclass
class Interpolation:
    """Result of :func:`interpolate`.

    Attributes
    ----------
    latent : ndarray of shape (n_steps, n_components)
        The latent path, from start to end.
    decoded : ndarray of shape (n_steps, n_features)
        Each latent point decoded to the data space.
    fractions : ndarray of shape (n_steps,)
        Position of each step along the path, from 0 to 1.
    """

    latent: np.ndarray
    decoded: np.ndarray
    fractions: np.ndarray


@dataclass
class Traversal:
    """Result of :func:`traverse`.

    Attributes
    ----------
    dimensions : ndarray of shape (n_dims,)
        The latent dimensions traversed, one row of the results each.
    values : ndarray of shape (n_dims, n_steps)
        The value given to each traversed dimension at each step.
    latent : ndarray of shape (n_dims, n_steps, n_components)
        The latent points (the start point with one coordinate replaced).
    decoded : ndarray of shape (n_dims, n_steps, n_features)
        Those points decoded.
    """

    dimensions: np.ndarray
    values: np.ndarray
    latent: np.ndarray
    decoded: np.ndarray


@dataclass
class ManifoldGrid:
    """Result of :func:`manifold_grid`.

    Attributes
    ----------
    dimensions : tuple of int
        The two latent dimensions ``(a, b)`` spanned.
    values_a, values_b : ndarray of shape (n_per_side,)
        Grid values along ``a`` (columns) and ``b`` (rows), increasing.
    decoded : ndarray of shape (n_per_side, n_per_side, n_features)
        ``decoded[i, j]`` is the decoding at ``a = values_a[j]``, ``b = values_b[i]``.
    """

    dimensions: tuple[int, int]
    values_a: np.ndarray
    values_b: np.ndarray
    decoded: np.ndarray


# ---------------------------------------------------------------- helpers
def _embed_rows(model, X) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and std of the rows of ``X`` (validated by ``transform``), in float64."""
    mean, std = model.transform(X, return_std=True)
    return np.asarray(mean, np.float64), np.asarray(std, np.float64)


def _one_row(model, X, name: str) -> np.ndarray:
    check_array_like(X, name)
    arr = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[0] != 1:
        raise ValueError(f"{name} must be one sample (a 1-D row of n_features values), got shape {arr.shape}.")
    return check_data(arr, name, likelihood=model.likelihood)


def _checked_point(model, x, latent: bool, name: str):
    """``x`` validated: None, a latent vector (``latent=True``) or a one-row data matrix."""
    if x is None:
        return None
    if latent:
        return check_latent_vector(x, model.n_components_, name)
    return _one_row(model, x, name)


def _latent_point(model, x, latent: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Latent mean (K,) and std (K,) or None of a point from :func:`_checked_point`; None is the prior mean."""
    if x is None:
        return np.zeros(model.n_components_), None
    if latent:
        return x, None
    mean, std = _embed_rows(model, x)
    return mean[0], std[0]


def _check_steps(model, value, name: str, *, copies: int = 1, grid_dims: int = 1) -> None:
    """``value`` is an integer >= 2 and the ``copies * value**grid_dims`` decoded rows fit in memory."""
    if not isinstance(value, Integral) or value < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {value!r}.")
    n_rows = copies * int(value) ** grid_dims
    check_output_size(n_rows * model.n_features_in_, f"{name}={value!r} ({n_rows:,} rows x {model.n_features_in_})")


# ------------------------------------------------------------- interpolation
def interpolate(
    model,
    start,
    end,
    n_steps: int = 10,
    *,
    latent: bool = False,
    method: str = "linear",
    condition=None,
) -> Interpolation:
    """Decode the path between two samples in latent space.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    start, end : array-like
        Two samples (rows of ``n_features`` values), embedded at their
        posterior means; or two latent points if ``latent=True``.
    n_steps : int, default=10
        Points on the path, both ends included (>= 2).
    latent : bool, default=False
        Whether ``start`` and ``end`` are already latent coordinates.
    method : {"linear", "spherical"}, default="linear"
        Straight line, or spherical interpolation (slerp), which keeps the
        points at a typical distance from the origin under the Gaussian prior.
    condition : scalar or array-like of shape (n_steps,), optional
        Category to decode under (conditional models only, required there).

    Returns
    -------
    Interpolation
        ``latent`` (n_steps, K), ``decoded`` (n_steps, n_features), ``fractions``.

    Examples
    --------
    >>> import numpy as np
    >>> from sivae_sklearn import SiVAE
    >>> from sivae_sklearn.generation import interpolate
    >>> X = np.random.RandomState(0).normal(size=(40, 5))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> path = interpolate(model, X[0], X[1], n_steps=5)
    >>> path.latent.shape, path.decoded.shape
    ((5, 2), (5, 5))
    """
    check_is_fitted(model)
    _check_steps(model, n_steps, "n_steps")
    if method not in ("linear", "spherical"):
        raise ValueError(f"method must be 'linear' or 'spherical', got {method!r}.")
    start, end = _checked_point(model, start, latent, "start"), _checked_point(model, end, latent, "end")
    z0, _ = _latent_point(model, start, latent)
    z1, _ = _latent_point(model, end, latent)
    t = np.linspace(0.0, 1.0, n_steps)
    if method == "spherical":
        n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
        cos = np.clip(z0 @ z1 / max(n0 * n1, 1e-12), -1.0, 1.0)
        omega = np.arccos(cos)
        if n0 < 1e-12 or n1 < 1e-12 or omega < 1e-6:
            path = (1 - t)[:, None] * z0 + t[:, None] * z1
        else:
            path = (np.sin((1 - t) * omega)[:, None] * z0 + np.sin(t * omega)[:, None] * z1) / np.sin(omega)
    else:
        path = (1 - t)[:, None] * z0 + t[:, None] * z1
    decoded = model.inverse_transform(path, condition=condition)
    return Interpolation(latent=path, decoded=np.asarray(decoded, np.float64), fractions=t)


# ----------------------------------------------------------------- traversal
def traverse(
    model,
    x=None,
    dimensions=None,
    n_steps: int = 7,
    *,
    values: str = "prior",
    span: float = 2.0,
    reference=None,
    latent: bool = False,
    condition=None,
) -> Traversal:
    """Vary one latent dimension at a time around a sample and decode.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    x : array-like of shape (n_features,), optional
        The sample to start from (embedded at its posterior mean); a latent
        point if ``latent=True``; ``None`` starts at the prior mean (origin).
    dimensions : int, str or sequence of them, optional
        Latent dimensions to traverse, by index or name (default: all).
    n_steps : int, default=7
        Values per dimension (>= 2).
    values : {"prior", "posterior", "quantiles"}, default="prior"
        Where the values come from:

        * ``"prior"``: evenly spaced prior quantiles covering ``+- span``
          standard deviations of ``N(0, 1)``;
        * ``"posterior"``: ``mean +- span * std`` of the sample's posterior in
          that dimension (needs a data sample ``x``);
        * ``"quantiles"``: evenly spaced quantiles (from 5% to 95%) of the
          embedding of ``reference`` (e.g. the training data) in that dimension.
    span : float, default=2.0
        Half-width of the range in standard deviations (``"prior"``, ``"posterior"``).
    reference : array-like of shape (n_reference, n_features), optional
        Data whose embedding gives the quantiles (``values="quantiles"``).
    latent : bool, default=False
        Whether ``x`` is already a latent point.
    condition : scalar, optional
        Category to decode under (conditional models only, required there).

    Returns
    -------
    Traversal
        ``dimensions``, ``values`` (n_dims, n_steps), ``latent`` and
        ``decoded`` (n_dims, n_steps, n_features).

    Examples
    --------
    >>> import numpy as np
    >>> from sivae_sklearn import SiVAE
    >>> from sivae_sklearn.generation import traverse
    >>> X = np.random.RandomState(0).normal(size=(40, 5))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> trav = traverse(model, X[0], n_steps=3, values="quantiles", reference=X)
    >>> trav.decoded.shape
    (2, 3, 5)
    """
    check_is_fitted(model)
    if values not in _VALUE_SOURCES:
        raise ValueError(f"values must be one of {_VALUE_SOURCES}, got {values!r}.")
    span = check_finite_number(span, "span", positive=True)
    k = model.n_components_
    if dimensions is None:
        dims = np.arange(k)
    elif isinstance(dimensions, (Integral, str)):
        dims = np.array([model.resolve_dimension(dimensions)])
    else:
        dims = np.array([model.resolve_dimension(d) for d in dimensions], dtype=int)
        if dims.size == 0:
            raise ValueError("dimensions is empty; give at least one latent dimension.")
    _check_steps(model, n_steps, "n_steps", copies=dims.size)
    point = _checked_point(model, x, latent, "x")
    if values == "posterior" and (point is None or latent):
        raise ValueError("values='posterior' needs a data sample x (not None, not latent=True) to take its posterior.")
    if values == "quantiles":
        if reference is None:
            raise ValueError("values='quantiles' needs reference=... data (e.g. the training X) to embed.")
        reference = check_data(reference, "reference", likelihood=model.likelihood)
    z0, std0 = _latent_point(model, point, latent)
    if values == "prior":
        probs = norm.cdf(np.linspace(-span, span, n_steps))
        grid = np.tile(norm.ppf(probs), (dims.size, 1))
    elif values == "posterior":
        offsets = np.linspace(-span, span, n_steps)
        grid = z0[dims, None] + std0[dims, None] * offsets[None, :]
    else:
        emb, _ = _embed_rows(model, reference)
        grid = np.quantile(emb[:, dims], np.linspace(0.05, 0.95, n_steps), axis=0).T
    points = np.repeat(z0[None, None, :], dims.size, axis=0).repeat(n_steps, axis=1)
    for row, d in enumerate(dims):
        points[row, :, d] = grid[row]
    flat = points.reshape(-1, k)
    decoded = np.asarray(model.inverse_transform(flat, condition=condition), np.float64)
    return Traversal(
        dimensions=dims,
        values=grid,
        latent=points,
        decoded=decoded.reshape(dims.size, n_steps, -1),
    )


# ------------------------------------------------------------------ manifold
def manifold_grid(
    model,
    dimensions: tuple[int, int] = (0, 1),
    n_per_side: int = 15,
    *,
    limits: tuple[float, float] | None = None,
    origin=None,
    condition=None,
) -> ManifoldGrid:
    """Decode a regular grid over two latent dimensions (the "manifold" picture).

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    dimensions : pair of int or str, default=(0, 1)
        The latent dimensions spanned by the grid (indices or names); the others stay at ``origin``.
    n_per_side : int, default=15
        Grid points along each dimension (>= 2).
    limits : (low, high), optional
        Range of both dimensions. Default: evenly spaced prior quantiles from
        5% to 95% (``N(0, 1)`` inverse CDF), so the grid covers where the prior
        puts its mass.
    origin : array-like of shape (n_components,), optional
        Latent point giving the other coordinates (default: zeros).
    condition : scalar, optional
        Category to decode under (conditional models only, required there).

    Returns
    -------
    ManifoldGrid
        ``values_a``, ``values_b`` and ``decoded`` (n_per_side, n_per_side, n_features).

    Examples
    --------
    >>> import numpy as np
    >>> from sivae_sklearn import SiVAE
    >>> from sivae_sklearn.generation import manifold_grid
    >>> X = np.random.RandomState(0).normal(size=(40, 5))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> manifold_grid(model, n_per_side=4).decoded.shape
    (4, 4, 5)
    """
    check_is_fitted(model)
    if len(tuple(dimensions)) != 2:
        raise ValueError(f"dimensions must be a pair of latent dimensions, got {dimensions!r}.")
    a, b = (model.resolve_dimension(d) for d in dimensions)
    if a == b:
        raise ValueError(f"dimensions must be two different latent dimensions, got {dimensions!r}.")
    _check_steps(model, n_per_side, "n_per_side", grid_dims=2)
    k = model.n_components_
    if limits is None:
        values = norm.ppf(np.linspace(0.05, 0.95, n_per_side))
    else:
        try:
            low, high = limits
        except (TypeError, ValueError):
            raise ValueError(f"limits must be (low, high), got {limits!r}.") from None
        low, high = check_finite_number(low, "limits[0]"), check_finite_number(high, "limits[1]")
        if not low < high:
            raise ValueError(f"limits must be (low, high) with low < high, got {limits!r}.")
        values = np.linspace(low, high, n_per_side)
    base = np.zeros(k) if origin is None else check_latent_vector(origin, k, "origin")
    grid = np.tile(base, (n_per_side, n_per_side, 1))
    grid[:, :, a] = values[None, :]
    grid[:, :, b] = values[:, None]
    decoded = np.asarray(model.inverse_transform(grid.reshape(-1, k), condition=condition), np.float64)
    return ManifoldGrid(
        dimensions=(a, b),
        values_a=values.copy(),
        values_b=values.copy(),
        decoded=decoded.reshape(n_per_side, n_per_side, -1),
    )
