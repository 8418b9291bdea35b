"""The explorer's plotly figures: embedding, decoded sample, loadings, feature awareness, history.

Plain functions of an :class:`~._models.ExplorerData` (no Dash); every callback
of the app is a thin wrapper around one of them.

Images follow :mod:`sivae_sklearn.plotting`: with ``image_shape=(H, W, 3)`` the
decoded sample is drawn in colour (the data's min and max map to [0, 1]), and
loadings and feature awareness are summed over the channels (one diverging map).
"""

from __future__ import annotations

import numpy as np

from .._arrays.images import channel_view, intensity_range, is_colour, to_rgb
from ._inputs import ExplorerInputError
from ._models import ExplorerData
from ._sliders import latent_vector

TOP_FEATURES = 20
"""Features shown in ranked bar charts when the data are not images."""

_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def embedding_figure(data: ExplorerData, model_name: str, view: str = "latent", n_dims: int = 3, selected=None):
    """Scatter-plot matrix of the embedding, coloured by label.

    Parameters
    ----------
    data : ExplorerData
    model_name : str
    view : {"latent", "pca"}
        Raw latent axes, or the latent space on its principal axes.
    n_dims : int
        Dimensions shown (the first ``n_dims``); clipped to ``[1, K]``.
    selected : int, optional
        Sample to highlight.

    Returns
    -------
    plotly.graph_objects.Figure
        Every point carries its row index in ``customdata``.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    mv = data.models[model_name]
    if view not in ("latent", "pca"):
        raise ExplorerInputError(f"view must be 'latent' or 'pca', got {view!r}.")
    Z = mv.pca_embedding if view == "pca" else mv.embedding
    n_dims = int(min(max(int(n_dims or 1), 1), mv.n_components))
    if view == "pca":
        names = [f"PC{i + 1} ({100 * r:.0f}%)" for i, r in zip(range(n_dims), mv.pca_explained)]
    else:
        names = mv.dim_names[:n_dims]
    groups = _label_groups(data)
    index = np.arange(Z.shape[0])

    if n_dims == 1:
        pairs, rows = [(0, None)], 1
    else:
        pairs = [(i, j) for j in range(1, n_dims) for i in range(j)]
        rows = n_dims - 1
    fig = make_subplots(rows=rows, cols=rows, horizontal_spacing=0.04, vertical_spacing=0.04)
    for g, (label, mask) in enumerate(groups):
        color = _PALETTE[g % len(_PALETTE)]
        for p, (i, j) in enumerate(pairs):
            row, col = (1, 1) if j is None else (j, i + 1)
            y = index[mask] if j is None else Z[mask, j]
            fig.add_trace(
                go.Scatter(
                    x=Z[mask, i],
                    y=y,
                    mode="markers",
                    marker={"size": 6, "color": color, "opacity": 0.8},
                    name=label,
                    legendgroup=label,
                    showlegend=p == 0 and label != "",
                    customdata=index[mask].tolist(),  # a plain list: Dash drops typed arrays from clickData
                    hovertemplate=f"sample %{{customdata}}<br>class {label}<extra></extra>"
                    if label
                    else "sample %{customdata}<extra></extra>",
                ),
                row=row,
                col=col,
            )
    if selected is not None and 0 <= int(selected) < Z.shape[0]:
        s = int(selected)
        for i, j in pairs:
            row, col = (1, 1) if j is None else (j, i + 1)
            fig.add_trace(
                go.Scatter(
                    x=[Z[s, i]],
                    y=[s if j is None else Z[s, j]],
                    mode="markers",
                    marker={"size": 14, "color": "rgba(0,0,0,0)", "line": {"width": 2, "color": "black"}},
                    showlegend=False,
                    hoverinfo="skip",
                    customdata=[s],
                ),
                row=row,
                col=col,
            )
    for i, j in pairs:
        row, col = (1, 1) if j is None else (j, i + 1)
        if row == rows:
            fig.update_xaxes(title_text=names[i], row=row, col=col)
        if col == 1:
            fig.update_yaxes(title_text="sample" if j is None else names[j], row=row, col=col)
    for r in range(1, rows + 1):  # hide the empty upper triangle
        for c in range(r + 1, rows + 1):
            fig.update_xaxes(visible=False, row=r, col=c)
            fig.update_yaxes(visible=False, row=r, col=c)
    fig.update_layout(
        height=max(360, 220 * rows),
        margin={"l": 50, "r": 10, "t": _TOP_MARGIN, "b": 40},
        clickmode="event",
        hovermode="closest",
        legend={"title": {"text": "class"} if data.labels is not None else None, **_LEGEND_OUTSIDE},
        title=_title(f"{'PCA of the latent space' if view == 'pca' else 'Latent space'} - click a point"),
    )
    return fig


def _label_groups(data: ExplorerData):
    if data.labels is None:
        return [("", np.ones(data.X.shape[0], bool))]
    return [(c, data.labels == c) for c in data.classes]


def decode(data: ExplorerData, model_name: str, values) -> np.ndarray:
    """Decode the slider position with ``model.inverse_transform``; shape (n_features,)."""
    mv = data.models[model_name]
    return np.asarray(mv.model.inverse_transform(latent_vector(values, mv.n_components)), dtype=np.float64)[0]


def decoded_figure(data: ExplorerData, model_name: str, values):
    """The decoded sample: an image, or the features furthest from their mean."""
    x = decode(data, model_name, values)
    shown = [f"{float(v or 0):.2f}" for v in values]
    lines = [", ".join(shown[i : i + 5]) for i in range(0, len(shown), 5)]  # five values a line: no title overflows
    title = "Decoded sample at [" + ",<br>".join(lines) + "]"
    if data.image_shape is not None and is_colour(data.image_shape):
        return _rgb_image(to_rgb(x, data.image_shape, "minmax", intensity_range(data.X)), title)
    if data.image_shape is not None:
        return _image(x, data.image_shape, title, colorscale="gray_r", diverging=False)
    model = data.models[model_name].model
    mean = getattr(model, "mean_", None)
    reference = np.asarray(mean) if mean is not None and np.shape(mean) == x.shape else data.X.mean(axis=0)
    return _ranked_bars(
        x - reference, data.feature_names, title + "<br>features furthest from the data mean", "decoded - mean"
    )


def loadings_figure(data: ExplorerData, model_name: str, dim: int):
    """Loadings ``components_[dim]``: an image, or the top features by absolute loading."""
    mv = data.models[model_name]
    loadings = np.asarray(mv.model.components_, dtype=np.float64)[dim]
    title = f"Loadings of {mv.dim_names[dim]} (components_[{dim}])"
    if data.image_shape is not None:
        return _image(loadings, data.image_shape, title, colorscale="RdBu_r", diverging=True)
    return _ranked_bars(loadings, data.feature_names, title, "loading")


def awareness_figure(data: ExplorerData, model_name: str):
    """Feature awareness ``feature_awareness_``: an image, or the most-aware features."""
    mv = data.models[model_name]
    fa = getattr(mv.model, "feature_awareness_", None)
    title = "Feature awareness (feature_awareness_)"
    if fa is None:
        return _message_figure(f"{model_name} has no feature_awareness_")
    fa = np.asarray(fa, dtype=np.float64).ravel()
    if data.image_shape is not None:
        return _image(fa, data.image_shape, title, colorscale="Viridis", diverging=False)
    return _ranked_bars(fa, data.feature_names, title, "awareness", by_absolute=False)


def _image(values, shape, title, colorscale, diverging):
    """One heatmap; multi-channel values are summed over the channels."""
    import plotly.graph_objects as go

    img = channel_view(values, shape, "sum")[0][0]
    kwargs = {}
    if diverging:
        bound = float(np.max(np.abs(img))) or 1.0
        kwargs = {"zmin": -bound, "zmax": bound, "zmid": 0.0}
    fig = go.Figure(go.Heatmap(z=img.tolist(), colorscale=colorscale, **kwargs))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_layout(title=_title(title, 13), height=320, margin={**_SMALL_MARGIN, "t": _top_margin(title)})
    return fig


def _rgb_image(picture, title):
    """An (H, W, 3) picture with intensities in [0, 1]."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Image(z=np.round(255 * picture).astype(np.uint8)))
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(title=_title(title, 13), height=320, margin={**_SMALL_MARGIN, "t": _top_margin(title)})
    return fig


_MODEBAR_HEIGHT = 30
"""Pixels at the top of every graph kept for plotly's toolbar (the modebar), which no title may reach."""

_TOP_MARGIN = _MODEBAR_HEIGHT + 18 + 8
"""Top margin: the toolbar's row, then room for a title of one line."""

_SMALL_MARGIN = {"l": 10, "r": 10, "t": _TOP_MARGIN, "b": 10}

_LEGEND_OUTSIDE = {"x": 1.02, "xanchor": "left", "y": 1.0, "yanchor": "top"}
"""Legends right of the plotting area, never on the points."""


def _top_margin(title: str) -> int:
    """Top margin that holds the toolbar's row and every line of ``title`` below it."""
    return _MODEBAR_HEIGHT + 18 * (title.count("<br>") + 1) + 8


def _title(text: str, size: int = 14) -> dict:
    """A left-aligned title in the row below the toolbar (the modebar sits in the top right corner above it)."""
    return {
        "text": text,
        "x": 0,
        "xref": "paper",
        "y": 1,
        "yref": "container",
        "yanchor": "top",
        "pad": {"t": _MODEBAR_HEIGHT},
        "font": {"size": size},
    }


def _ranked_bars(values, names, title, axis_title, by_absolute=True):
    import plotly.graph_objects as go

    values = np.asarray(values, dtype=np.float64)
    key = np.abs(values) if by_absolute else values
    top = np.argsort(-key, kind="stable")[:TOP_FEATURES][::-1]
    fig = go.Figure(
        go.Bar(
            x=values[top],
            y=[str(names[i]) for i in top],
            orientation="h",
            marker_color=np.where(values[top] >= 0, "#d62728", "#1f77b4"),
        )
    )
    fig.update_layout(
        title=_title(title, 13),
        xaxis_title=axis_title,
        height=max(320, 18 * len(top) + 60 + _top_margin(title)),
        margin={"l": 10, "r": 10, "t": _top_margin(title), "b": 40},
    )
    return fig


def _message_figure(text):
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=200)
    return fig


# ------------------------------------------------------------ model panel
def params_rows(model) -> list[tuple[str, str]]:
    """``get_params()`` as sorted (name, value) text pairs."""
    try:
        params = model.get_params(deep=False)
    except (AttributeError, TypeError):
        return []
    return [(k, repr(v)) for k, v in sorted(params.items())]


def history_figure(history):
    """Loss terms per epoch (log scale where positive), KL weight beta on a second axis, phases shaded.

    Parameters
    ----------
    history : dict of str to list
        ``history_`` of a fitted model: numeric lists per term, optionally
        ``"phase"`` (strings) and ``"beta"``.
    """
    import plotly.graph_objects as go

    if not history:
        return _message_figure("no training history")
    fig = go.Figure()
    lengths = [len(v) for v in history.values() if isinstance(v, (list, tuple, np.ndarray))]
    n = max(lengths) if lengths else 0
    epochs = np.arange(1, n + 1)
    for key, series in history.items():
        if key in ("phase", "beta") or not isinstance(series, (list, tuple, np.ndarray)):
            continue
        try:
            y = np.asarray(series, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if y.size == 0 or not np.any(np.nan_to_num(y) != 0):  # a term the model does not have (no classifier...)
            continue
        fig.add_trace(
            go.Scatter(
                x=epochs[: y.size],
                y=y,
                mode="lines",
                name=key,
                line={"dash": "dot" if key.startswith("val_") else None},
            )
        )
    if "beta" in history:
        beta = np.asarray(history["beta"], dtype=np.float64)
        fig.add_trace(
            go.Scatter(x=epochs[: beta.size], y=beta, mode="lines", name="beta", yaxis="y2", line={"color": "black"})
        )
        fig.update_layout(yaxis2={"title": "beta", "overlaying": "y", "side": "right", "showgrid": False})
    phases = history.get("phase")
    if phases:
        start = 0
        for end in range(1, len(phases) + 1):
            if end == len(phases) or phases[end] != phases[start]:
                fig.add_vrect(
                    x0=start + 0.5,
                    x1=end + 0.5,
                    fillcolor="#cccccc" if len(fig.layout.shapes) % 2 == 0 else "#eeeeee",
                    opacity=0.35,
                    line_width=0,
                    annotation_text=str(phases[start]),
                    annotation_position="top left",
                )
                start = end
    fig.update_layout(
        title=_title("Training history"),
        xaxis_title="epoch",
        yaxis_title="loss term",
        height=380,
        margin={"l": 50, "r": 10, "t": _TOP_MARGIN, "b": 40},
        legend={**_LEGEND_OUTSIDE, "x": 1.12 if "beta" in history else 1.02},
    )
    return fig
