"""Plots in scanpy's style: matplotlib figures of SiVAE results.

The plots of what the model learned take either an AnnData object annotated by
:func:`sivae_sklearn.tl.sivae` (as ``sc.pl.pca(adata)`` does; no fitted model
needed: ``obsm``, ``varm``, ``var`` and ``uns`` hold what they draw) or a
fitted :class:`~sivae_sklearn.SiVAE` (as ``umap.plot`` does). Every function
returns what it drew on: an ``Axes`` for single-panel plots (pass ``ax=`` to
draw into your own), a ``Figure`` for panel grids. Nothing is shown or saved;
call ``fig.savefig(...)`` yourself. :mod:`sivae_sklearn.plotting` offers the
same functions under long names (``plot_embedding``, ...).

What the model learned (AnnData or estimator):

* :func:`embedding`: scatter of two latent dimensions, ``color=`` an obs
  column or a gene (AnnData, through ``sc.pl.embedding`` when scanpy is
  installed) or ``labels`` (estimator);
* :func:`loadings`: the loadings of each dimension, as images when an
  ``image_shape`` is given (diverging colour map centred at 0), as ranked
  bars or a heatmap otherwise;
* :func:`feature_awareness`: per-feature awareness, as an image or bars;
* :func:`variance_explained` (alias :func:`explained_variance`): variance
  explained per dimension;
* :func:`history`: every loss term, train and validation, per epoch.

``dims=None`` shows the dimensions with the most variance explained, first
(two for :func:`embedding`, three for loading bars); heatmaps and images show
every dimension in index order. Dimensions are named as
``SiVAE.get_feature_names_out`` names them (``"sivae0"``, ...) and may be
given by those names. Legends sit outside the axes, as scanpy's
``legend_loc="right margin"``.

Of the estimator only:

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

from dataclasses import dataclass
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


# ------------------------------------------------------------ what is drawn
@dataclass(frozen=True)
class _Results:
    """What the model-level plots draw, read from a fitted estimator or from an annotated AnnData."""

    components: np.ndarray  # (K, n_features) loadings
    feature_labels: np.ndarray  # (n_features,)
    dim_names: list[str]  # (K,)
    variance_ratio: np.ndarray | None  # (K,)
    awareness: np.ndarray | None  # (n_features,); NaN for features the model did not see
    fitted: np.ndarray  # (n_features,) bool: features the model was fitted on
    history: dict | None

    @property
    def n_components(self) -> int:
        return self.components.shape[0]


def _is_anndata(obj) -> bool:
    try:
        from anndata import AnnData
    except ImportError:  # pragma: no cover - anndata is a dependency
        return False
    return isinstance(obj, AnnData)


def _dim_names(k: int, uns=None) -> list[str]:
    """The names of ``k`` dimensions: those ``tl.sivae`` recorded in ``uns["dimension_names"]`` (the programs',
    then ``sivae<k>``), else the ones ``SiVAE.get_feature_names_out`` gives a model without programs."""
    recorded = None if uns is None else uns.get("dimension_names")
    if recorded is not None and len(recorded) == k:
        return [str(n) for n in recorded]
    return [f"sivae{i}" for i in range(k)]


def _adata_results(adata, key_added: str) -> _Results:
    from .tl import result_keys

    keys = result_keys(key_added)
    if keys["varm"] not in adata.varm:
        raise ValueError(
            f"adata has no varm[{keys['varm']!r}]: run sivae_sklearn.tl.sivae(adata) first, or pass the "
            f"key_added it was run with (results in varm: {list(adata.varm)})."
        )
    components = np.asarray(adata.varm[keys["varm"]], dtype=np.float64).T
    awareness = None
    if keys["var"] in adata.var.columns:
        awareness = np.asarray(adata.var[keys["var"]], dtype=np.float64)
    fitted = np.isfinite(awareness) if awareness is not None else np.ones(adata.n_vars, dtype=bool)
    uns = adata.uns.get(keys["uns"], {})
    ratio = uns.get("variance_ratio")
    history = uns.get("history")
    return _Results(
        components=components,
        feature_labels=np.asarray(adata.var_names, dtype=object),
        dim_names=_dim_names(components.shape[0], uns),
        variance_ratio=None if ratio is None else np.asarray(ratio, dtype=np.float64),
        awareness=awareness,
        fitted=fitted,
        history=None if history is None else {k: list(np.asarray(v).tolist()) for k, v in history.items()},
    )


def _model_results(model) -> _Results:
    check_is_fitted(model)
    ratio = getattr(model, "explained_variance_ratio_", None)
    awareness = getattr(model, "feature_awareness_", None)
    return _Results(
        components=np.asarray(model.components_, dtype=np.float64),
        feature_labels=model.get_feature_labels(),
        dim_names=[str(n) for n in model.get_feature_names_out()],
        variance_ratio=None if ratio is None else np.asarray(ratio, dtype=np.float64),
        awareness=None if awareness is None else np.asarray(awareness, dtype=np.float64),
        fitted=np.ones(model.n_features_in_, dtype=bool),
        history=getattr(model, "history_", None),
    )


def _results(data, key_added: str) -> _Results:
    return _adata_results(data, key_added) if _is_anndata(data) else _model_results(data)


def _resolve_dims(results: _Results, dims, n_default: int | None) -> list[int]:
    """Indices of ``dims`` (ints or names).

    ``None``: the ``n_default`` dimensions with the most variance explained, or every one when ``n_default`` is None.
    """
    k = results.n_components
    if dims is None:
        if n_default is None:
            return list(range(k))
        if results.variance_ratio is None:
            return list(range(min(n_default, k)))
        return [int(i) for i in np.argsort(-results.variance_ratio, kind="stable")[:n_default]]
    if isinstance(dims, (Integral, str)):
        dims = [dims]
    out = []
    for d in dims:
        if isinstance(d, str):
            if d not in results.dim_names:
                raise ValueError(f"Unknown dimension {d!r}; expected one of {results.dim_names} or an index.")
            out.append(results.dim_names.index(d))
        elif isinstance(d, Integral) and not isinstance(d, bool) and -k <= int(d) < k:
            out.append(int(d) % k)
        else:
            raise ValueError(f"Dimension {d!r} is out of range for {k} latent dimensions.")
    return out


# -------------------------------------------------------- scanpy's conventions
def _default_palette(n: int) -> list:
    """Scanpy's default categorical colours: matplotlib's colour cycle, then 20 colours, then a spread map."""
    plt = _pyplot()
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", [])
    if n <= len(cycle):
        return list(cycle[:n])
    if n <= 20:
        return [plt.get_cmap("tab20")(i) for i in range(n)]
    return [plt.get_cmap("turbo")(x) for x in np.linspace(0, 1, n)]


def _legend_outside(ax, **kwargs) -> None:
    """A legend in the right margin, as scanpy's ``legend_loc="right margin"``."""
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, **kwargs)


def _scatter(ax, Z2, values, *, title, palette, cmap, s, categories=None, colours=None):
    """Scanpy's look in matplotlib: categories by colour with a right-margin legend, numbers by a colour bar."""
    plt = _pyplot()
    if values is None:
        ax.scatter(Z2[:, 0], Z2[:, 1], s=s, color="0.3", linewidths=0)
    elif categories is not None:
        values = np.asarray(values, dtype=object)
        if colours is None:
            colours = list(palette) if palette is not None else _default_palette(len(categories))
            if len(colours) < len(categories):
                raise ValueError(f"palette has {len(colours)} colours for {len(categories)} categories.")
        for colour, category in zip(colours, categories):
            hit = values == category
            ax.scatter(Z2[hit, 0], Z2[hit, 1], s=s, color=colour, label=str(category), linewidths=0)
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values])
        if missing.any():
            ax.scatter(Z2[missing, 0], Z2[missing, 1], s=s, color="lightgray", label="NA", linewidths=0)
        _legend_outside(ax, markerscale=max(1.0, 30 / max(s, 1e-3)) ** 0.5, fontsize="small")
    else:
        values = np.asarray(values, dtype=np.float64)
        order = np.argsort(values, kind="stable")  # high values drawn on top, as scanpy's sort_order
        sc = ax.scatter(Z2[order, 0], Z2[order, 1], c=values[order], s=s, cmap=cmap or "viridis", linewidths=0)
        plt.colorbar(sc, ax=ax, pad=0.01, fraction=0.05, aspect=30)
    if title:
        ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def _categories(values):
    """Categories of ``values`` when they are categorical (pandas categories, strings, booleans), else None."""
    import pandas as pd

    series = pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    if series.dtype.kind in "fciu":
        return None
    return sorted(series.dropna().unique().tolist(), key=str)


def _adata_colour(adata, color: str, layer):
    """Values of ``color`` (an obs column or a gene), their categories (or None) and stored colours."""
    if color in adata.obs.columns:
        column = adata.obs[color]
        categories = _categories(column)
        colours = None
        stored = adata.uns.get(f"{color}_colors")
        if categories is not None and stored is not None and len(stored) >= len(categories):
            colours = list(stored)[: len(categories)]
        return column.to_numpy(dtype=object) if categories is not None else column.to_numpy(), categories, colours
    source = adata
    if layer is None and adata.raw is not None and color in adata.raw.var_names:
        source = adata.raw
    if color in source.var_names:
        j = source.var_names.get_loc(color)
        X = source.X if layer is None else adata.layers[layer]
        column = X[:, j]
        column = column.toarray() if hasattr(column, "toarray") else np.asarray(column)
        return np.asarray(column, dtype=np.float64).ravel(), None, None
    raise ValueError(f"color={color!r} is neither a column of adata.obs nor one of adata.var_names.")


def embedding(
    data,
    X=None,
    labels=None,
    *,
    color=None,
    dims=None,
    key_added: str = "sivae",
    layer: str | None = None,
    ax=None,
    s: float | None = None,
    palette=None,
    cmap: str | None = None,
    **kwargs,
):
    """Scatter the embedding on two latent dimensions.

    Two forms, told apart by the first argument:

    * ``embedding(adata, color="cell_type")``: draws ``adata.obsm["X_<key_added>"]``
      as :func:`sivae_sklearn.tl.sivae` wrote it, coloured by an ``obs`` column
      or a gene of ``var_names``. With scanpy installed this is
      ``sc.pl.embedding`` (scanpy's palette, ``adata.uns[f"{color}_colors"]``,
      legend in the right margin; scanpy stores the colours it picks there and
      turns string columns into categories, as ``sc.pl.pca`` does); without it,
      matplotlib draws the same look (stored colours first, else matplotlib's
      colour cycle, then ``tab20``) and nothing in ``adata`` changes.
    * ``embedding(model, X, labels)``: embeds ``X`` with a fitted estimator
      and colours by ``labels`` (discrete: legend in the right margin;
      numbers: a colour bar).

    Parameters
    ----------
    data : anndata.AnnData or fitted SiVAE
    X : array-like of shape (n_samples, n_features), optional
        Estimator form only: the samples to embed.
    labels : array-like of shape (n_samples,), optional
        Estimator form only: colours the points.
    color : str or list of str, optional
        AnnData form only: an ``obs`` column or a gene (a list: one panel each).
    dims : pair of int or str, optional
        The two dimensions (indices or names such as ``"sivae4"``). Default:
        the two with the most variance explained, the larger on the x axis.
    key_added : str, default="sivae"
        AnnData form: the ``key_added`` of :func:`~sivae_sklearn.tl.sivae`.
    layer : str, optional
        AnnData form: read gene values from ``adata.layers[layer]``.
    ax : matplotlib Axes, optional
    s : float, optional
        Marker size; default scanpy's ``120000 / n_samples``.
    palette : sequence of colours, optional
        Colours of the categories, in category order.
    cmap : str, optional
        Colour map of numeric values (default "viridis").
    **kwargs
        AnnData form with scanpy: passed on to ``sc.pl.embedding``.

    Returns
    -------
    ax : matplotlib Axes
        A list of Axes when ``color`` is a list.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> from sivae_sklearn import pl, tl
    >>> rng = np.random.RandomState(0)
    >>> obs = pd.DataFrame({"group": pd.Categorical(list("ab") * 30)}, index=[f"c{i}" for i in range(60)])
    >>> adata = ad.AnnData(rng.normal(size=(60, 8)), obs=obs)
    >>> _ = tl.sivae(adata, 3, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    >>> ax = pl.embedding(adata, color="group")
    >>> ax.get_legend() is not None
    True
    """
    if _is_anndata(data):
        if X is not None or labels is not None:
            raise TypeError("embedding(adata, ...) reads obs and var_names: pass color='<obs column or gene>'.")
        return _adata_embedding(data, color, dims, key_added, layer, ax, s, palette, cmap, kwargs)
    if color is not None:
        raise TypeError("color= names a column of an AnnData object; with an estimator pass labels=<array>.")
    if kwargs:
        raise TypeError(f"embedding(model, X) got unexpected keyword arguments {sorted(kwargs)}.")
    if X is None:
        raise TypeError("embedding(model, X, labels) needs the samples X to embed.")
    model = data
    d = _resolve_dims(_model_results(model), dims, 2)
    if len(d) != 2:
        raise ValueError(f"dims must name exactly two latent dimensions, got {dims!r}.")
    Z = model.transform(X)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[0] != Z.shape[0]:
            raise ValueError(f"labels has {labels.shape[0]} entries; expected one per row of X ({Z.shape[0]}).")
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(4.5, 4))
    s = 120000 / Z.shape[0] if s is None else s
    categories = None
    if labels is not None and labels.dtype.kind not in "fc":  # integers too: class labels
        categories = _categories(labels) if labels.dtype.kind not in "iub" else np.unique(labels).tolist()
    _scatter(ax, Z[:, d], labels, title=None, palette=palette, cmap=cmap, s=s, categories=categories)
    names = model.get_feature_names_out()
    ax.set_xlabel(names[d[0]])
    ax.set_ylabel(names[d[1]])
    return ax


def _adata_embedding(adata, color, dims, key_added, layer, ax, s, palette, cmap, kwargs):
    from .tl import result_keys

    basis = result_keys(key_added)["obsm"]
    if basis not in adata.obsm:
        raise ValueError(
            f"adata has no obsm[{basis!r}]: run sivae_sklearn.tl.sivae(adata) first, or pass the key_added it "
            f"was run with (embeddings in obsm: {list(adata.obsm)})."
        )
    Z = np.asarray(adata.obsm[basis])
    k = Z.shape[1]
    uns = adata.uns.get(key_added, {})
    ratio = uns.get("variance_ratio")
    results = _Results(
        components=np.zeros((k, 0)),
        feature_labels=np.zeros(0, dtype=object),
        dim_names=_dim_names(k, uns),
        variance_ratio=None if ratio is None else np.asarray(ratio, dtype=np.float64),
        awareness=None,
        fitted=np.zeros(0, dtype=bool),
        history=None,
    )
    d = _resolve_dims(results, dims, 2)
    if len(d) != 2:
        raise ValueError(f"dims must name exactly two latent dimensions, got {dims!r}.")
    colors = [color] if color is None or isinstance(color, str) else list(color)
    for c in colors:
        if c is not None and c not in adata.obs.columns and c not in adata.var_names:
            if adata.raw is None or c not in adata.raw.var_names:
                raise ValueError(f"color={c!r} is neither a column of adata.obs nor one of adata.var_names.")
    try:
        import scanpy as sc
    except ImportError:
        sc = None
    if sc is not None:
        options = {"legend_loc": "right margin", "frameon": True, **kwargs}
        if palette is not None:
            options["palette"] = palette
        if cmap is not None:
            options["color_map"] = cmap
        if s is not None:
            options["size"] = s
        axes = sc.pl.embedding(
            adata, basis, color=color, dimensions=tuple(d), layer=layer, ax=ax, show=False, **options
        )
    else:
        if len(colors) > 1 and ax is not None:
            raise ValueError("Several colors draw several panels: leave ax=None.")
        if ax is None:
            fig, grid = _pyplot().subplots(1, len(colors), figsize=(4.8 * len(colors), 4), squeeze=False)
            axes = list(grid.ravel())
        else:
            axes = [ax]
        size = 120000 / Z.shape[0] if s is None else s
        for a, c in zip(axes, colors):
            values, categories, colours = (None, None, None) if c is None else _adata_colour(adata, c, layer)
            _scatter(
                a, Z[:, d], values, title=c, palette=palette, cmap=cmap, s=size, categories=categories, colours=colours
            )
        axes = axes[0] if len(axes) == 1 else axes
    names = results.dim_names
    for a in axes if isinstance(axes, list) else [axes]:
        a.set_xlabel(names[d[0]])
        a.set_ylabel(names[d[1]])
    return axes


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
    data,
    dims=None,
    *,
    key_added: str = "sivae",
    image_shape=None,
    kind: str | None = None,
    n_top: int = 10,
    ncols: int | None = None,
    cmap: str = "RdBu_r",
    channels: str = "sum",
    ax=None,
):
    """Loadings of each latent dimension, labelled by feature (gene) names.

    Parameters
    ----------
    data : anndata.AnnData or fitted SiVAE
        An AnnData object annotated by :func:`sivae_sklearn.tl.sivae` (reads
        ``varm["<key_added>_loadings"]``, genes left out by its
        highly-variable mask are not ranked) or a fitted estimator
        (``components_``).
    dims : int, str or list, optional
        Dimensions to show. Default: bars show the three with the most
        variance explained (as ``sc.pl.pca_loadings`` shows three), heatmaps
        and images every dimension.
    key_added : str, default="sivae"
        AnnData form: the ``key_added`` of :func:`~sivae_sklearn.tl.sivae`.
    image_shape : (height, width) or (height, width, channels), optional
        Show each dimension's loadings as an image (the product must be the
        number of features), diverging colour map centred at 0, one shared scale.
    kind : {"bar", "heatmap"}, optional
        Without ``image_shape``: per dimension the ``n_top`` most positive and
        most negative features as ranked horizontal bars, or a features x
        dimensions heatmap (features in order). Default: "bar" for AnnData,
        "heatmap" for an estimator.
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

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import anndata as ad, numpy as np
    >>> from sivae_sklearn import pl, tl
    >>> adata = ad.AnnData(np.random.RandomState(0).normal(size=(60, 8)))
    >>> adata.var_names = [f"gene{j}" for j in range(8)]
    >>> _ = tl.sivae(adata, 3, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    >>> fig = pl.loadings(adata, n_top=2)
    >>> all(label.get_text().startswith("gene") for label in fig.axes[0].get_yticklabels())
    True
    """
    results = _results(data, key_added)
    shape = check_image_shape(image_shape, results.components.shape[1])
    if kind is None:
        kind = "bar" if _is_anndata(data) else "heatmap"
    if shape is None and kind not in ("heatmap", "bar"):
        raise ValueError(f"kind={kind!r} is not supported; expected 'heatmap' or 'bar'.")
    d = _resolve_dims(results, dims, 3 if shape is None and kind == "bar" else None)
    names = results.dim_names
    components = results.components
    if shape is not None:
        return _feature_images(components[d], [names[i] for i in d], shape, ncols, cmap, channels, ax)[0]
    labels = results.feature_labels
    if kind == "heatmap":
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 + 0.6 * len(d), min(12, 2 + 0.15 * labels.size)))
        values = components[d].T
        limit = _symmetric_limit(values)
        im = ax.imshow(values, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_xticks(range(len(d)), [names[i] for i in d], rotation=90)
        if len(labels) <= 60:
            ax.set_yticks(range(len(labels)), [str(v) for v in labels], fontsize="x-small")
        ax.set_ylabel("feature")
        ax.figure.colorbar(im, ax=ax)
        return ax
    n_top = check_positive_int(n_top, "n_top")
    fig, axes = _panels(len(d), ncols or 3, ax, panel=3.2)
    candidates = np.flatnonzero(results.fitted)
    for a, i in zip(axes, d):
        row = components[i, candidates]
        n = min(n_top, row.size)
        pos = candidates[np.argsort(-row, kind="stable")[:n]]
        neg = candidates[np.argsort(row, kind="stable")[:n]]
        idx = np.unique(np.concatenate([pos, neg]))
        vals = components[i, idx]
        order = np.argsort(vals, kind="stable")
        a.barh(range(idx.size), vals[order], color=np.where(vals[order] >= 0, "tab:red", "tab:blue"))
        a.set_yticks(range(idx.size), [str(labels[j]) for j in idx[order]], fontsize="x-small")
        a.axvline(0, color="0.4", lw=0.5)
        a.set_title(names[i], fontsize="small")
    if ax is None:
        fig.tight_layout()
    return fig


def feature_awareness(
    data,
    X=None,
    *,
    layer: int = -1,
    key_added: str = "sivae",
    image_shape=None,
    n_top: int | None = 30,
    cmap: str = "RdBu_r",
    channels: str = "sum",
    ax=None,
):
    """Feature awareness per feature, as an image or as ranked bars labelled by feature names.

    Parameters
    ----------
    data : anndata.AnnData or fitted SiVAE
        An AnnData object annotated by :func:`sivae_sklearn.tl.sivae` (reads
        ``var["<key_added>_feature_awareness"]``; genes it left out, NaN there,
        are not drawn) or a fitted estimator.
    X : array-like, optional
        Estimator form only: samples to evaluate on; ``None`` uses the stored
        training summary :attr:`~sivae_sklearn.SiVAE.feature_awareness_`
        (``layer=-1`` only).
    layer : int, default=-1
        Estimator form only: decoder level (see
        :meth:`~sivae_sklearn.SiVAE.feature_awareness`).
    key_added : str, default="sivae"
        AnnData form: the ``key_added`` of :func:`~sivae_sklearn.tl.sivae`.
    image_shape : (height, width) or (height, width, channels), optional
        Show the scores as an image (diverging colour map centred at 0).
    n_top : int or None, default=30
        Bars: the ``n_top`` most aware features (``None``: all, in order).
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
    if _is_anndata(data):
        if X is not None or layer != -1:
            raise ValueError(
                "The AnnData form draws the stored training summary var[...]; for other samples or decoder "
                "levels pass the fitted estimator: feature_awareness(model, X, layer=...)."
            )
        results = _adata_results(data, key_added)
        if results.awareness is None:
            raise ValueError(f"adata has no var[{key_added + '_feature_awareness'!r}]; run tl.sivae first.")
        fa, fitted = results.awareness, results.fitted
        labels = results.feature_labels
    else:
        check_is_fitted(data)
        fa, fitted = data.feature_awareness(X, layer=layer), np.ones(data.n_features_in_, dtype=bool)
        labels = data.get_feature_labels()
    shape = check_image_shape(image_shape, fa.size)
    title = f"feature awareness (layer {layer})"
    if shape is not None:
        shown = np.where(fitted, fa, 0.0)
        if ax is None and len(channel_view(shown, shape, channels)[0]) == 1:
            _, ax = _pyplot().subplots(figsize=(4, 3.6))
        fig, axes = _feature_images(shown[None], [title], shape, None, cmap, channels, ax)
        return axes[0] if len(axes) == 1 else fig
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    candidates = np.flatnonzero(fitted)
    if n_top is None:
        idx = candidates
    else:
        idx = candidates[np.argsort(-fa[candidates], kind="stable")[: check_positive_int(n_top, "n_top")]]
    ax.bar(range(idx.size), fa[idx], color=np.where(fa[idx] >= 0, "tab:red", "tab:blue"))
    if idx.size <= 60:
        ax.set_xticks(range(idx.size), [str(labels[i]) for i in idx], rotation=90, fontsize="x-small")
    ax.axhline(0, color="0.4", lw=0.5)
    ax.set_ylabel("var - mse")
    ax.set_title(title, fontsize="small")
    return ax


def variance_explained(data, *, key_added: str = "sivae", ax=None):
    """Share of variance explained by each latent dimension, ranked (as ``sc.pl.pca_variance_ratio``).

    Parameters
    ----------
    data : anndata.AnnData or fitted SiVAE
        An AnnData object annotated by :func:`sivae_sklearn.tl.sivae` (reads
        ``uns["<key_added>"]["variance_ratio"]``) or a fitted estimator
        (``explained_variance_ratio_``).
    key_added : str, default="sivae"
        AnnData form: the ``key_added`` of :func:`~sivae_sklearn.tl.sivae`.
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    results = _results(data, key_added)
    if results.variance_ratio is None:
        raise ValueError(f"adata.uns[{key_added!r}] has no 'variance_ratio'; run tl.sivae on this object first.")
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    ratio = results.variance_ratio
    order = np.argsort(-ratio, kind="stable")
    names = results.dim_names
    ax.bar(range(ratio.size), ratio[order], color="tab:gray")
    ax.set_xticks(range(ratio.size), [names[i] for i in order], rotation=90)
    ax.set_ylabel("explained variance ratio")
    return ax


explained_variance = variance_explained


def _legend_above(fig, handles, labels, fontsize="x-small") -> None:
    """One legend for every panel, above them (outside every axes), and the panels laid out below it."""
    height = fig.get_figheight()
    fig.legend(handles, labels, loc="upper right", ncol=len(labels), frameon=False, fontsize=fontsize)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.32 / height))


def history(data, terms=None, *, key_added: str = "sivae", ncols: int | None = 3):
    """Each loss term per epoch, train (solid) and validation (dashed).

    Epochs of the pretraining phases (``schedule="stepwise"``) are shaded; the
    KL weight ``beta`` gets its own panel. The legend sits above the panels.

    Parameters
    ----------
    data : anndata.AnnData or fitted SiVAE
        An AnnData object annotated by :func:`sivae_sklearn.tl.sivae` (reads
        ``uns["<key_added>"]["history"]``) or a fitted estimator (``history_``).
    terms : list of str, optional
        Term names from the history without the ``val_`` prefix (default:
        every numeric term that is not all zero or NaN).
    key_added : str, default="sivae"
        AnnData form: the ``key_added`` of :func:`~sivae_sklearn.tl.sivae`.
    ncols : int, default=3

    Returns
    -------
    fig : matplotlib Figure
    """
    history = _results(data, key_added).history
    if history is None:
        raise ValueError(f"adata.uns[{key_added!r}] has no 'history'; run tl.sivae on this object first.")
    phases = [str(p) for p in history.get("phase", [])]

    def numeric(key):
        try:
            values = np.asarray(history.get(key, []), dtype=float)
        except (TypeError, ValueError):
            return None
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
        _legend_above(fig, *axes[0].get_legend_handles_labels())
    else:
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
    axes[-1, 0].set_xlabel("feature")
    _legend_above(fig, *axes[0, 0].get_legend_handles_labels())
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
    >>> from sivae_sklearn.pl import traversal
    >>> X = np.random.RandomState(0).uniform(size=(40, 4))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> fig = traversal(model, X[0], image_shape=(2, 2), n_steps=3)
    >>> len(fig.axes)
    6
    """
    shape = _image_shape(model, image_shape)
    trav = generation.traverse(model, x, **kwargs)
    names = model.get_feature_names_out()
    rows = [str(names[d]) for d in trav.dimensions]
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
    names = model.get_feature_names_out()
    ax.set_xlabel(str(names[a]))
    ax.set_ylabel(str(names[b]))
    ax.set_title("Decoded latent manifold")
    return fig
