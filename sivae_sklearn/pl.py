"""Plots in scanpy's style: matplotlib figures of a fitted :class:`~sivae_sklearn.SiVAE`.

Every function takes the fitted model first (as ``umap.plot`` does) and
returns what it drew on: an ``Axes`` for single-panel plots (pass ``ax=`` to
draw into your own), a ``Figure`` for panel grids. Nothing is shown or saved;
call ``fig.savefig(...)`` yourself. :mod:`sivae_sklearn.pl` offers the same
functions under scanpy-style names.

What the model learned:

* :func:`embedding`: scatter of two latent dimensions coloured by labels;
* :func:`loadings`: the loadings of each dimension, as images when an
  ``image_shape`` is given (diverging colour map centred at 0), as a heatmap
  or ranked bars otherwise;
* :func:`feature_awareness`: per-feature awareness, as an image or bars;
* :func:`explained_variance`: variance explained per dimension;
* :func:`history`: every loss term, train and validation, per epoch;
* :func:`reconstructions`: originals beside their reconstructions.

Decoding the latent space (:mod:`sivae_sklearn.generation`; keyword arguments
are passed on):

* :func:`traversal`: one row per latent dimension, one column per value;
* :func:`interpolation`: the decoded path between two samples;
* :func:`manifold`: decodings over a 2-D grid of two latent dimensions.

Give ``image_shape`` (e.g. ``(8, 8)`` for scikit-learn's digits) to draw
samples as images; without it they are drawn as line profiles or heatmap rows
over the features, which suits genomics data.

Colour and multi-channel images take ``image_shape=(height, width, channels)``
with the features in channels-last order (``images.reshape(n, -1)`` of an
``(n, H, W, C)`` array; ``(32, 32, 3)`` for CIFAR rows from
:func:`~sivae_sklearn.datasets.read_cifar_batch`):

* per-feature values (loadings, feature awareness) are drawn, by
  ``channels=``, summed over the channels (``"sum"``, default: one diverging
  map per dimension), one map per channel (``"separate"``), or as an RGB
  picture of their signs (``"rgb"``: grey is 0);
* data-space rows (reconstructions, traversals, interpolations, the manifold)
  of three channels are drawn in colour: by ``rescale=``, the shared min and
  max of what is shown map to [0, 1] (``"minmax"``, default; suits z-scored
  pixels) or the values are taken as intensities and clipped to [0, 1]
  (``"clip"``; for data in [0, 1], e.g. ``likelihood="bernoulli"``). Other
  channel counts are drawn as the mean over channels.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from . import generation
from ._arrays.images import channel_view, intensity_range, is_colour, to_rgb
from ._estimator.validation import check_image_shape, check_positive_int


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is a dependency
        raise ImportError("Plotting needs matplotlib: pip install matplotlib.") from exc
    return plt


def _image_shape(model, image_shape) -> tuple[int, ...] | None:
    check_is_fitted(model)
    return check_image_shape(image_shape, model.n_features_in_)


def _dims(model, dims) -> list[int]:
    if dims is None:
        return list(range(model.n_components_))
    if isinstance(dims, (Integral, str)):
        dims = [dims]
    return [model.resolve_dimension(d) for d in dims]


def _grid(n: int, ncols: int | None, panel: float = 2.2):
    """A figure with ``n`` panels in rows of ``ncols`` (5 by default); unused cells hidden."""
    plt = _pyplot()
    ncols = min(n, ncols or 5)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


def _panels(n: int, ncols, ax, panel: float = 2.2):
    """Axes to draw ``n`` panels on: the caller's (one per panel) or a new grid."""
    if ax is None:
        return _grid(n, ncols, panel)
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"ax must hold one Axes per panel: {n} expected, got {len(axes)}.")
    return axes[0].figure, axes


def _data_images(rows, shape, rescale: str) -> np.ndarray:
    """Data-space rows as drawable images: RGB in [0, 1] for three channels, else grey values as they are."""
    if is_colour(shape):
        return to_rgb(rows, shape, rescale)
    images = np.asarray(rows, dtype=np.float64)
    images = images.reshape(images.shape[:-1] + tuple(shape))
    return images.mean(axis=-1) if len(shape) == 3 else images


def _image_grid(images, shape, *, cmap, rescale="minmax", row_labels=None, col_labels=None, figsize=None):
    """A grid of images ``images[i, j]`` (rows x cols x n_features) on one colour scale."""
    plt = _pyplot()
    n_rows, n_cols = images.shape[:2]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize or (1.1 * n_cols + 0.6, 1.1 * n_rows + 0.4), squeeze=False)
    pictures = _data_images(images, shape, rescale)
    vmin, vmax = intensity_range(pictures)
    for i in range(n_rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.imshow(pictures[i, j], cmap=cmap, vmin=vmin, vmax=vmax)
            ax.set_xticks([])
            ax.set_yticks([])
            if col_labels is not None and i == n_rows - 1:
                ax.set_xlabel(col_labels[j], fontsize=7)
            if row_labels is not None and j == 0:
                ax.set_ylabel(row_labels[i], fontsize="small")
    return fig


def _symmetric_limit(values) -> float:
    m = float(np.max(np.abs(values))) if np.size(values) else 1.0
    return m if m > 0 else 1.0


def embedding(model, X, labels=None, *, dims=(0, 1), ax=None, s: float = 8, cmap: str = "tab10"):
    """Scatter the embedding of ``X`` on two latent dimensions.

    Parameters
    ----------
    model : fitted SiVAE
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,), optional
        Colours the points; discrete labels get a legend, numbers a colour bar.
    dims : pair of int or str, default=(0, 1)
    ax : matplotlib Axes, optional
    s : float, default=8
        Marker size.
    cmap : str, default="tab10"

    Returns
    -------
    ax : matplotlib Axes
    """
    check_is_fitted(model)
    d = _dims(model, dims)
    if len(d) != 2:
        raise ValueError(f"dims must name exactly two latent dimensions, got {dims!r}.")
    Z = model.transform(X)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4))
    names = model.get_feature_names_out()
    if labels is None:
        ax.scatter(Z[:, d[0]], Z[:, d[1]], s=s, color="0.3")
    else:
        labels = np.asarray(labels)
        if labels.shape[0] != Z.shape[0]:
            raise ValueError(f"labels has {labels.shape[0]} entries; expected one per row of X ({Z.shape[0]}).")
        if labels.dtype.kind in "fc":
            sc = ax.scatter(Z[:, d[0]], Z[:, d[1]], c=labels, s=s, cmap="viridis")
            ax.figure.colorbar(sc, ax=ax)
        else:
            colours = plt.get_cmap(cmap)
            for i, value in enumerate(np.unique(labels)):
                hit = labels == value
                ax.scatter(Z[hit, d[0]], Z[hit, d[1]], s=s, color=colours(i % colours.N), label=str(value))
            ax.legend(markerscale=2, fontsize="small", frameon=False, loc="best")
    ax.set_xlabel(names[d[0]])
    ax.set_ylabel(names[d[1]])
    return ax


def _feature_images(values, titles, image_shape, ncols, cmap, channels: str, ax=None):
    """Per-feature values (one row per panel group) as diverging images centred at 0 on one scale."""
    views = [channel_view(v, image_shape, channels) for v in values]
    panels = [
        (f"{title} {suffix}".strip(), image)
        for (images, suffixes), title in zip(views, titles)
        for image, suffix in zip(images, suffixes)
    ]
    fig, axes = _panels(len(panels), ncols, ax)
    limit = _symmetric_limit([image for _, image in panels])
    for a, (title, image) in zip(axes, panels):
        im = a.imshow(image, cmap=cmap, vmin=-limit, vmax=limit)
        a.set_title(title, fontsize="small")
        a.set_xticks([])
        a.set_yticks([])
    if panels[0][1].ndim == 2:  # an RGB picture of signs has no colour scale
        fig.colorbar(im, ax=list(axes), shrink=0.8)
    return fig, list(axes)


def loadings(
    model,
    dims=None,
    *,
    image_shape=None,
    kind: str = "heatmap",
    n_top: int = 10,
    ncols: int | None = None,
    cmap: str = "RdBu_r",
    channels: str = "sum",
    ax=None,
):
    """Loadings (``components_``) of each latent dimension.

    Parameters
    ----------
    model : fitted SiVAE
    dims : int, str or list, optional
        Dimensions to show (default all).
    image_shape : (height, width) or (height, width, channels), optional
        Show each dimension's loadings as an image (the product must be
        ``n_features_in_``), diverging colour map centred at 0, one shared scale.
    kind : {"heatmap", "bar"}, default="heatmap"
        Without ``image_shape``: a features x dimensions heatmap (features in
        model order), or per dimension the ``n_top`` most positive and most
        negative features as ranked horizontal bars.
    n_top : int, default=10
    ncols : int, optional
        Panels per row.
    cmap : str, default="RdBu_r"
    channels : {"sum", "separate", "rgb"}, default="sum"
        Multi-channel images only: the loadings summed over the channels, one
        panel per channel, or an RGB picture of their signs (grey: 0; see the
        module docstring).
    ax : matplotlib Axes or sequence of Axes, optional
        Where to draw: one Axes for the heatmap, one per panel for images
        (one per dimension, times the channels with ``channels="separate"``)
        and bars (a new figure otherwise).

    Returns
    -------
    Figure (images, bars) or Axes (heatmap)
    """
    shape = _image_shape(model, image_shape)
    d = _dims(model, dims)
    names = model.get_feature_names_out()
    if shape is not None:
        return _feature_images(model.components_[d], [names[i] for i in d], shape, ncols, cmap, channels, ax)[0]
    if kind == "heatmap":
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 + 0.6 * len(d), min(12, 2 + 0.15 * model.n_features_in_)))
        values = model.components_[d].T
        limit = _symmetric_limit(values)
        im = ax.imshow(values, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_xticks(range(len(d)), [names[i] for i in d], rotation=90)
        labels = model.get_feature_labels()
        if len(labels) <= 60:
            ax.set_yticks(range(len(labels)), labels, fontsize="x-small")
        ax.set_ylabel("feature")
        ax.figure.colorbar(im, ax=ax)
        return ax
    if kind == "bar":
        fig, axes = _panels(len(d), ncols or 3, ax, panel=3.2)
        for a, i in zip(axes, d):
            top = model.top_features(i, n_top)
            feats = list(top["positive"]) + list(top["negative"])[::-1]
            vals = np.concatenate([top["positive_loading"], top["negative_loading"][::-1]])
            order = np.argsort(vals)
            a.barh(range(len(vals)), vals[order], color=np.where(vals[order] >= 0, "tab:red", "tab:blue"))
            a.set_yticks(range(len(vals)), [str(feats[j]) for j in order], fontsize="x-small")
            a.axvline(0, color="0.4", lw=0.5)
            a.set_title(names[i], fontsize="small")
        if ax is None:
            fig.tight_layout()
        return fig
    raise ValueError(f"kind={kind!r} is not supported; expected 'heatmap' or 'bar'.")


def feature_awareness(
    model,
    X=None,
    *,
    layer: int = -1,
    image_shape=None,
    n_top: int | None = 30,
    cmap: str = "RdBu_r",
    channels: str = "sum",
    ax=None,
):
    """Feature awareness per feature, as an image or as ranked bars.

    Parameters
    ----------
    model : fitted SiVAE
    X : array-like, optional
        Samples to evaluate on; ``None`` uses the stored training summary
        :attr:`~sivae_sklearn.SiVAE.feature_awareness_` (``layer=-1`` only).
    layer : int, default=-1
        Decoder level (see :meth:`~sivae_sklearn.SiVAE.feature_awareness`).
    image_shape : (height, width) or (height, width, channels), optional
        Show the scores as an image (diverging colour map centred at 0).
    n_top : int or None, default=30
        Bars: the ``n_top`` most aware features (``None``: all, in model order).
    cmap : str, default="RdBu_r"
    channels : {"sum", "separate", "rgb"}, default="sum"
        Multi-channel images only: the scores summed over the channels (the
        awareness of each pixel), one panel per channel, or an RGB picture.
    ax : matplotlib Axes or sequence of Axes, optional
        One Axes, or one per channel with ``channels="separate"``.

    Returns
    -------
    ax : matplotlib Axes
        Or the Figure, when ``channels="separate"`` draws several panels.
    """
    shape = _image_shape(model, image_shape)
    fa = model.feature_awareness(X, layer=layer)
    title = f"feature awareness (layer {layer})"
    if shape is not None:
        if ax is None and len(channel_view(fa, shape, channels)[0]) == 1:
            _, ax = _pyplot().subplots(figsize=(4, 3.6))
        fig, axes = _feature_images(fa[None], [title], shape, None, cmap, channels, ax)
        return axes[0] if len(axes) == 1 else fig
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    labels = model.get_feature_labels()
    idx = np.arange(fa.size) if n_top is None else np.argsort(-fa, kind="stable")[: int(n_top)]
    ax.bar(range(idx.size), fa[idx], color=np.where(fa[idx] >= 0, "tab:red", "tab:blue"))
    if idx.size <= 60:
        ax.set_xticks(range(idx.size), [str(labels[i]) for i in idx], rotation=90, fontsize="x-small")
    ax.axhline(0, color="0.4", lw=0.5)
    ax.set_ylabel("var - mse")
    ax.set_title(title, fontsize="small")
    return ax


def explained_variance(model, *, ax=None):
    """Share of variance explained by each latent dimension (``explained_variance_ratio_``), ranked.

    Returns
    -------
    ax : matplotlib Axes
    """
    check_is_fitted(model)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    ratio = model.explained_variance_ratio_
    order = np.argsort(-ratio, kind="stable")
    names = model.get_feature_names_out()
    ax.bar(range(ratio.size), ratio[order], color="tab:gray")
    ax.set_xticks(range(ratio.size), [names[i] for i in order], rotation=90)
    ax.set_ylabel("explained variance ratio")
    return ax


def history(model, terms=None, *, ncols: int | None = 3):
    """Each loss term per epoch, train (solid) and validation (dashed).

    Epochs of the pretraining phases (``schedule="stepwise"``) are shaded; the
    KL weight ``beta`` gets its own panel.

    Parameters
    ----------
    model : fitted SiVAE
    terms : list of str, optional
        Term names from ``history_`` without the ``val_`` prefix (default:
        every numeric term that is not all zero or NaN).
    ncols : int, default=3

    Returns
    -------
    fig : matplotlib Figure
    """
    check_is_fitted(model)
    history = model.history_
    phases = list(history.get("phase", []))

    def numeric(key):
        values = np.asarray(history.get(key, []), dtype=float)
        return values if values.size and np.any(np.nan_to_num(values) != 0) else None

    available = [k for k in history if k != "phase" and not k.startswith("val_") and numeric(k) is not None]
    if terms is None:
        terms = available
    else:
        terms = [terms] if isinstance(terms, str) else list(terms)
        unknown = [t for t in terms if t not in history or t == "phase"]
        if unknown:
            raise ValueError(f"Unknown history terms {unknown}; expected some of {available}.")
    fig, axes = _grid(len(terms), ncols, panel=2.8)
    for ax, key in zip(axes, terms):
        values = np.asarray(history[key], dtype=float)
        epochs = np.arange(1, values.size + 1)
        ax.plot(epochs, values, label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, np.asarray(history[f"val_{key}"], dtype=float), "--", label="validation")
        for i, phase in enumerate(phases):
            if phase != "joint":
                ax.axvspan(i + 0.5, i + 1.5, color="0.9", lw=0)
        ax.set_title(key, fontsize="small")
        ax.set_xlabel("epoch", fontsize="small")
    if len(terms):
        axes[0].legend(fontsize="x-small", frameon=False)
    fig.tight_layout()
    return fig


def reconstructions(model, X, n: int = 8, *, image_shape=None, cmap: str = "gray", rescale: str = "minmax"):
    """The first ``n`` rows of ``X`` (top) beside their reconstructions (bottom).

    Parameters
    ----------
    model : fitted SiVAE
    X : array-like of shape (n_samples, n_features)
    n : int, default=8
    image_shape : (height, width) or (height, width, channels), optional
        Draw rows as images (three channels: in colour); otherwise as line
        profiles over the features.
    cmap : str, default="gray"
        Grey images only.
    rescale : {"minmax", "clip"}, default="minmax"
        Colour images only: map the shared min and max of originals and
        reconstructions to [0, 1], or clip values that are intensities already
        (see the module docstring).

    Returns
    -------
    fig : matplotlib Figure
    """
    shape = _image_shape(model, image_shape)
    n = check_positive_int(n, "n")
    X = np.asarray(X, dtype=np.float64)[:n]
    R = model.inverse_transform(model.transform(X))
    k = X.shape[0]
    if shape is not None:
        return _image_grid(
            np.stack([X, R]),
            shape,
            cmap=cmap,
            rescale=rescale,
            row_labels=["original", "reconstructed"],
            figsize=(1.2 * k, 2.6),
        )
    plt = _pyplot()
    fig, axes = plt.subplots(k, 1, figsize=(6, 1.1 * k), squeeze=False, sharex=True)
    for j in range(k):
        axes[j, 0].plot(X[j], color="0.3", lw=1, label="original")
        axes[j, 0].plot(R[j], color="tab:red", lw=1, label="reconstructed")
    axes[0, 0].legend(fontsize="x-small", frameon=False)
    axes[-1, 0].set_xlabel("feature")
    return fig


def traversal(model, x=None, *, image_shape=None, cmap="gray_r", rescale="minmax", **kwargs):
    """Traversal grid: one row per latent dimension, one column per value.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    x : array-like, optional
        Starting sample (see :func:`sivae_sklearn.generation.traverse`).
    image_shape : tuple of int, optional
        Shape of one decoded sample as an image, ``(height, width)`` or
        ``(height, width, channels)``; None draws heatmaps.
    cmap : str, default="gray_r"
        Colour map of grey images.
    rescale : {"minmax", "clip"}, default="minmax"
        Colour images: how values become intensities (see the module docstring).
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
    >>> from sivae_sklearn.plotting import traversal
    >>> X = np.random.RandomState(0).uniform(size=(40, 4))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> fig = traversal(model, X[0], image_shape=(2, 2), n_steps=3)
    >>> len(fig.axes)
    6
    """
    shape = _image_shape(model, image_shape)
    trav = generation.traverse(model, x, **kwargs)
    rows = [f"z{d}" for d in trav.dimensions]
    if shape is not None:
        cols = [f"{v:.2g}" for v in trav.values[0]] if np.allclose(trav.values, trav.values[0]) else None
        fig = _image_grid(trav.decoded, shape, cmap=cmap, rescale=rescale, row_labels=rows, col_labels=cols)
        fig.suptitle("Latent traversal")
        return fig
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


def interpolation(model, start, end, *, image_shape=None, cmap="gray_r", rescale="minmax", **kwargs):
    """Interpolation strip: the decoded path from ``start`` to ``end``.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    start, end : array-like
        Samples (or latent points with ``latent=True``).
    image_shape : tuple of int, optional
        Shape of one decoded sample as an image, ``(height, width)`` or
        ``(height, width, channels)``; None draws a heatmap.
    cmap : str, default="gray_r"
        Colour map of grey images.
    rescale : {"minmax", "clip"}, default="minmax"
        Colour images: how values become intensities (see the module docstring).
    **kwargs
        Passed to :func:`~sivae_sklearn.generation.interpolate`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    shape = _image_shape(model, image_shape)
    path = generation.interpolate(model, start, end, **kwargs)
    cols = [f"{t:.2f}" for t in path.fractions]
    if shape is not None:
        fig = _image_grid(path.decoded[None], shape, cmap=cmap, rescale=rescale, col_labels=cols)
        fig.suptitle("Interpolation")
        return fig
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(cols) + 1.2))
    ax.imshow(path.decoded, aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(cols)), cols, fontsize=6)
    ax.set_ylabel("fraction of the path")
    ax.set_xlabel("feature")
    ax.set_title("Interpolation")
    return fig


def manifold(model, *, image_shape, cmap="gray_r", rescale="minmax", **kwargs):
    """Manifold image grid: decodings over a 2-D grid of two latent dimensions.

    The vertical axis increases upwards, as in a scatter plot of the embedding.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    image_shape : tuple of int
        Shape of one decoded sample as an image, ``(height, width)`` or
        ``(height, width, channels)``.
    cmap : str, default="gray_r"
        Colour map of grey images.
    rescale : {"minmax", "clip"}, default="minmax"
        Colour images: how values become intensities (see the module docstring).
    **kwargs
        Passed to :func:`~sivae_sklearn.generation.manifold_grid`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    shape = _image_shape(model, image_shape)
    if shape is None:
        raise ValueError("manifold draws images: give image_shape=(height, width[, channels]).")
    grid = generation.manifold_grid(model, **kwargs)
    n = grid.values_a.size
    tiles = _data_images(grid.decoded[::-1], shape, rescale)  # largest b at the top
    h, w = shape[0], shape[1]
    # (rows, cols, h, w[, 3]) tiles -> one (rows * h, cols * w[, 3]) canvas
    canvas = np.swapaxes(tiles, 1, 2).reshape((n * h, n * w) + tiles.shape[4:])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 6))
    a, b = grid.dimensions
    extent = (grid.values_a[0], grid.values_a[-1], grid.values_b[0], grid.values_b[-1])
    ax.imshow(canvas, cmap=cmap, extent=extent, aspect="auto")
    ax.set_xlabel(f"z{a}")
    ax.set_ylabel(f"z{b}")
    ax.set_title("Decoded latent manifold")
    return fig
