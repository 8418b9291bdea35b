"""Matplotlib figures of :mod:`sivae_sklearn.generation`: traversal grid,
interpolation strip, manifold image grid.

Each function takes the fitted model first, computes the decoded points with
the matching function of :mod:`sivae_sklearn.generation` (keyword arguments are
passed on) and returns the :class:`~matplotlib.figure.Figure`. Give
``image_shape`` (e.g. ``(8, 8)`` for scikit-learn's digits) to draw each decoded
sample as an image; without it each decoded sample is drawn as a row of a
heatmap over the features, which suits genomics data.
"""

from __future__ import annotations

import numpy as np

from . import generation


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency of the plots only
        raise ImportError("Plotting needs matplotlib: pip install matplotlib.") from exc
    return plt


def _check_image_shape(image_shape, n_features: int):
    if image_shape is None:
        return None
    shape = tuple(int(s) for s in image_shape)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={shape} holds {int(np.prod(shape))} values but the model has {n_features} features."
        )
    return shape


def _image_grid(decoded, image_shape, *, row_labels=None, col_labels=None, cmap="gray_r", figsize=None, title=None):
    """Grid of images ``decoded[i, j]`` (rows x cols x n_features)."""
    plt = _pyplot()
    n_rows, n_cols = decoded.shape[:2]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize or (1.1 * n_cols + 0.6, 1.1 * n_rows + 0.4), squeeze=False)
    vmin, vmax = float(np.min(decoded)), float(np.max(decoded))
    for i in range(n_rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.imshow(decoded[i, j].reshape(image_shape), cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if col_labels is not None and i == n_rows - 1:
                ax.set_xlabel(col_labels[j], fontsize=7)
            if row_labels is not None and j == 0:
                ax.set_ylabel(row_labels[i], fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_traversal(model, x=None, *, image_shape=None, cmap="gray_r", **kwargs):
    """Traversal grid: one row per latent dimension, one column per value.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    x : array-like, optional
        Starting sample (see :func:`sivae_sklearn.generation.traverse`).
    image_shape : tuple of int, optional
        Shape of one decoded sample as an image; None draws heatmaps.
    cmap : str, default="gray_r"
        Colour map.
    **kwargs
        Passed to :func:`~sivae_sklearn.generation.traverse` (``dimensions``,
        ``n_steps``, ``values``, ``span``, ``reference``, ``condition``...).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sivae_sklearn import SiVAE
    >>> from sivae_sklearn.plotting_generation import plot_traversal
    >>> X = np.random.RandomState(0).uniform(size=(40, 4))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> fig = plot_traversal(model, X[0], image_shape=(2, 2), n_steps=3)
    >>> len(fig.axes)
    6
    """
    trav = generation.traverse(model, x, **kwargs)
    shape = _check_image_shape(image_shape, trav.decoded.shape[-1])
    rows = [f"z{d}" for d in trav.dimensions]
    if shape is not None:
        cols = [f"{v:.2g}" for v in trav.values[0]] if np.allclose(trav.values, trav.values[0]) else None
        return _image_grid(trav.decoded, shape, row_labels=rows, col_labels=cols, cmap=cmap, title="Latent traversal")
    plt = _pyplot()
    n = trav.dimensions.size
    fig, axes = plt.subplots(n, 1, figsize=(7, 1.4 * n + 0.6), squeeze=False)
    for i in range(n):
        ax = axes[i, 0]
        ax.imshow(trav.decoded[i], aspect="auto", cmap="viridis")
        ax.set_ylabel(rows[i])
        ax.set_yticks(range(trav.values.shape[1]), [f"{v:.2g}" for v in trav.values[i]], fontsize=6)
    axes[-1, 0].set_xlabel("feature")
    fig.suptitle("Latent traversal (rows: value of the dimension)")
    return fig


def plot_interpolation(model, start, end, *, image_shape=None, cmap="gray_r", **kwargs):
    """Interpolation strip: the decoded path from ``start`` to ``end``.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    start, end : array-like
        Samples (or latent points with ``latent=True``).
    image_shape : tuple of int, optional
        Shape of one decoded sample as an image; None draws a heatmap.
    cmap : str, default="gray_r"
        Colour map.
    **kwargs
        Passed to :func:`~sivae_sklearn.generation.interpolate`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    path = generation.interpolate(model, start, end, **kwargs)
    shape = _check_image_shape(image_shape, path.decoded.shape[-1])
    cols = [f"{t:.2f}" for t in path.fractions]
    if shape is not None:
        return _image_grid(path.decoded[None], shape, col_labels=cols, cmap=cmap, title="Interpolation")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(cols) + 1.2))
    ax.imshow(path.decoded, aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(cols)), cols, fontsize=6)
    ax.set_ylabel("fraction of the path")
    ax.set_xlabel("feature")
    ax.set_title("Interpolation")
    return fig


def plot_manifold(model, *, image_shape, cmap="gray_r", **kwargs):
    """Manifold image grid: decodings over a 2-D grid of two latent dimensions.

    The vertical axis increases upwards, as in a scatter plot of the embedding.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    image_shape : tuple of int
        Shape of one decoded sample as an image.
    cmap : str, default="gray_r"
        Colour map.
    **kwargs
        Passed to :func:`~sivae_sklearn.generation.manifold_grid`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = generation.manifold_grid(model, **kwargs)
    shape = _check_image_shape(image_shape, grid.decoded.shape[-1])
    n = grid.values_a.size
    canvas = np.zeros((n * shape[0], n * shape[1]))
    for i in range(n):
        row = n - 1 - i  # largest b at the top
        for j in range(n):
            canvas[row * shape[0] : (row + 1) * shape[0], j * shape[1] : (j + 1) * shape[1]] = grid.decoded[
                i, j
            ].reshape(shape)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 6))
    a, b = grid.dimensions
    extent = (grid.values_a[0], grid.values_a[-1], grid.values_b[0], grid.values_b[-1])
    ax.imshow(canvas, cmap=cmap, extent=extent, aspect="auto")
    ax.set_xlabel(f"z{a}")
    ax.set_ylabel(f"z{b}")
    ax.set_title("Decoded latent manifold")
    return fig
