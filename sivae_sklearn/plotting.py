"""Matplotlib figures of a fitted :class:`~sivae_sklearn.SiVAE`.

Every function takes the fitted model first (as ``umap.plot`` does) and
returns what it drew on: an ``Axes`` for single-panel plots (pass ``ax=`` to
draw into your own), a ``Figure`` for panel grids. Nothing is shown or saved;
call ``fig.savefig(...)`` yourself.

* :func:`plot_embedding`: scatter of two latent dimensions coloured by labels;
* :func:`plot_loadings`: the loadings of each dimension, as images when an
  ``image_shape`` is given (diverging colour map centred at 0), as a heatmap
  or ranked bars otherwise;
* :func:`plot_feature_awareness`: per-feature awareness, as an image or bars;
* :func:`plot_explained_variance`: variance explained per dimension;
* :func:`plot_history`: every loss term, train and validation, per epoch;
* :func:`plot_reconstructions`: originals beside their reconstructions.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted


def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _check_image_shape(model, image_shape) -> tuple[int, int] | None:
    if image_shape is None:
        return None
    n = model.n_features_in_
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be a (height, width) tuple of integers, got {image_shape!r}.") from None
    if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] != n:
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} does not fit the model: expected (height, width) with "
            f"height * width == n_features_in_ = {n}."
        )
    return shape


def _dims(model, dims) -> list[int]:
    if dims is None:
        return list(range(model.n_components_))
    if isinstance(dims, (Integral, str)):
        dims = [dims]
    return [model._dim_index(d) for d in dims]


def _grid(n: int, ncols: int | None, panel: float = 2.2):
    plt = _pyplot()
    ncols = min(n, ncols or 5)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n]


def _symmetric_limit(values) -> float:
    m = float(np.max(np.abs(values))) if np.size(values) else 1.0
    return m if m > 0 else 1.0


def plot_embedding(model, X, labels=None, *, dims=(0, 1), ax=None, s: float = 8, cmap: str = "tab10"):
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


def _panels(n: int, ncols, ax, panel: float = 2.2):
    """Axes to draw ``n`` panels on: the caller's (one per panel) or a new grid."""
    if ax is None:
        return _grid(n, ncols, panel)
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ValueError(f"ax must hold one Axes per panel: {n} expected, got {len(axes)}.")
    return axes[0].figure, axes


def _feature_images(model, values, titles, image_shape, ncols, cmap, center: bool, ax=None):
    fig, axes = _panels(len(values), ncols, ax)
    limit = _symmetric_limit(values)
    for ax, v, title in zip(axes, values, titles):
        kw = {"vmin": -limit, "vmax": limit} if center else {}
        im = ax.imshow(np.reshape(v, image_shape), cmap=cmap, **kw)
        ax.set_title(title, fontsize="small")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), shrink=0.8)
    return fig


def plot_loadings(
    model,
    dims=None,
    *,
    image_shape=None,
    kind: str = "heatmap",
    n_top: int = 10,
    ncols: int | None = None,
    cmap: str = "RdBu_r",
    ax=None,
):
    """Loadings (``components_``) of each latent dimension.

    Parameters
    ----------
    model : fitted SiVAE
    dims : int, str or list, optional
        Dimensions to show (default all).
    image_shape : (height, width), optional
        Show each dimension's loadings as an image (``height * width`` must be
        ``n_features_in_``), diverging colour map centred at 0, one shared scale.
    kind : {"heatmap", "bar"}, default="heatmap"
        Without ``image_shape``: a features x dimensions heatmap (features in
        model order), or per dimension the ``n_top`` most positive and most
        negative features as ranked horizontal bars.
    n_top : int, default=10
    ncols : int, optional
        Panels per row.
    cmap : str, default="RdBu_r"
    ax : matplotlib Axes or sequence of Axes, optional
        Where to draw: one Axes for the heatmap, one per dimension for images
        and bars (a new figure otherwise).

    Returns
    -------
    Figure (images, bars) or Axes (heatmap)
    """
    check_is_fitted(model)
    shape = _check_image_shape(model, image_shape)
    d = _dims(model, dims)
    names = model.get_feature_names_out()
    if shape is not None:
        return _feature_images(model, model.components_[d], [names[i] for i in d], shape, ncols, cmap, True, ax)
    if kind == "heatmap":
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 + 0.6 * len(d), min(12, 2 + 0.15 * model.n_features_in_)))
        values = model.components_[d].T
        limit = _symmetric_limit(values)
        im = ax.imshow(values, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_xticks(range(len(d)), [names[i] for i in d], rotation=90)
        labels = model._feature_labels()
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


def plot_feature_awareness(
    model,
    X=None,
    *,
    layer: int = -1,
    image_shape=None,
    n_top: int | None = 30,
    cmap: str = "RdBu_r",
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
    image_shape : (height, width), optional
        Show the scores as an image (diverging colour map centred at 0).
    n_top : int or None, default=30
        Bars: the ``n_top`` most aware features (``None``: all, in model order).
    cmap : str, default="RdBu_r"
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    check_is_fitted(model)
    shape = _check_image_shape(model, image_shape)
    fa = model.feature_awareness(X, layer=layer)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3.6) if shape else (5, 4))
    title = f"feature awareness (layer {layer})"
    if shape is not None:
        limit = _symmetric_limit(fa)
        im = ax.imshow(fa.reshape(shape), cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.figure.colorbar(im, ax=ax)
    else:
        labels = model._feature_labels()
        idx = np.arange(fa.size) if n_top is None else np.argsort(-fa, kind="stable")[: int(n_top)]
        ax.bar(range(idx.size), fa[idx], color=np.where(fa[idx] >= 0, "tab:red", "tab:blue"))
        if idx.size <= 60:
            ax.set_xticks(range(idx.size), [str(labels[i]) for i in idx], rotation=90, fontsize="x-small")
        ax.axhline(0, color="0.4", lw=0.5)
        ax.set_ylabel("var - mse")
    ax.set_title(title, fontsize="small")
    return ax


def plot_explained_variance(model, *, ax=None):
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


def plot_history(model, terms=None, *, ncols: int | None = 3):
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


def plot_reconstructions(model, X, n: int = 8, *, image_shape=None, cmap: str = "gray"):
    """The first ``n`` rows of ``X`` (top) beside their reconstructions (bottom).

    Parameters
    ----------
    model : fitted SiVAE
    X : array-like of shape (n_samples, n_features)
    n : int, default=8
    image_shape : (height, width), optional
        Draw rows as images; otherwise as line profiles over the features.
    cmap : str, default="gray"

    Returns
    -------
    fig : matplotlib Figure
    """
    check_is_fitted(model)
    shape = _check_image_shape(model, image_shape)
    if not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}.")
    X = np.asarray(X, dtype=np.float64)[: int(n)]
    R = model.inverse_transform(model.transform(X))
    plt = _pyplot()
    k = X.shape[0]
    if shape is not None:
        fig, axes = plt.subplots(2, k, figsize=(1.2 * k, 2.6), squeeze=False)
        lo, hi = float(min(X.min(), R.min())), float(max(X.max(), R.max()))
        for j in range(k):
            for row, data in enumerate((X, R)):
                axes[row, j].imshow(data[j].reshape(shape), cmap=cmap, vmin=lo, vmax=hi)
                axes[row, j].set_xticks([])
                axes[row, j].set_yticks([])
        axes[0, 0].set_ylabel("original", fontsize="small")
        axes[1, 0].set_ylabel("reconstructed", fontsize="small")
        return fig
    fig, axes = plt.subplots(k, 1, figsize=(6, 1.1 * k), squeeze=False, sharex=True)
    for j in range(k):
        axes[j, 0].plot(X[j], color="0.3", lw=1, label="original")
        axes[j, 0].plot(R[j], color="tab:red", lw=1, label="reconstructed")
    axes[0, 0].legend(fontsize="x-small", frameon=False)
    axes[-1, 0].set_xlabel("feature")
    return fig
