"""What the explorer shows, as plain functions of plain inputs.

Nothing here imports Dash: every callback of the app is a thin wrapper around
one function of this module, so the behaviour can be unit-tested without a
server or a browser. Figures are built with plotly's graph objects.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass, field

import numpy as np

PRIOR_RANGE = 3.0
"""Slider half-range, in prior standard deviations, when ranges follow the prior."""

CLASS_RANGE_STDS = 1.0
"""Slider half-range, in class standard deviations, when ranges follow the clicked class."""

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


class ExplorerInputError(ValueError):
    """Inputs the explorer cannot show; the message says what was expected."""


# --------------------------------------------------------------------- inputs
@dataclass
class ModelView:
    """One fitted model and what the explorer precomputes for it."""

    name: str
    model: object
    embedding: np.ndarray  # (n_samples, K): posterior means of the data
    pca_embedding: np.ndarray  # (n_samples, K): the embedding on its own principal axes
    pca_explained: np.ndarray  # (K,) explained variance ratio of those axes
    path: str | None = None

    @property
    def n_components(self) -> int:
        return self.embedding.shape[1]


@dataclass
class ExplorerData:
    """Data, labels and the models the explorer can switch between."""

    X: np.ndarray
    labels: np.ndarray | None
    image_shape: tuple[int, int] | None
    feature_names: np.ndarray
    models: dict[str, ModelView]
    skipped: list[str] = field(default_factory=list)  # "name: why" for models that could not be shown

    @property
    def model_names(self) -> list[str]:
        return list(self.models)

    @property
    def classes(self) -> list[str]:
        if self.labels is None:
            return []
        return sorted(set(self.labels.tolist()), key=_natural_key)


def _natural_key(value):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def collect_models(model) -> dict[str, tuple[object, str | None]]:
    """Turn what the user gave into ``{name: (model or None, path or None)}``.

    Parameters
    ----------
    model : SiVAE, str, path-like, or dict of str to SiVAE
        A fitted model, a saved model file, a folder of ``*.sivae`` files, or
        named fitted models.

    Returns
    -------
    dict
        Name to ``(fitted model, path)``; the model is ``None`` where a file
        is still to be loaded.
    """
    if isinstance(model, dict):
        if not model:
            raise ExplorerInputError("models is an empty dict; give at least one fitted SiVAE.")
        return {str(k): (v, None) for k, v in model.items()}
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "*.sivae")))
            if not files:
                raise ExplorerInputError(f"The folder {path!r} holds no saved models (*.sivae files).")
            return {os.path.splitext(os.path.basename(f))[0]: (None, f) for f in files}
        if not os.path.exists(path):
            raise ExplorerInputError(f"No model file at {path!r} (expected a .sivae file or a folder of them).")
        return {os.path.splitext(os.path.basename(path))[0]: (None, path)}
    return {"model": (model, None)}


def _load_model(path: str):
    from .. import load

    try:
        return load(path)
    except (FileNotFoundError, ValueError) as exc:
        raise ExplorerInputError(str(exc)) from exc


def check_fitted_model(model, n_features: int, name: str = "model") -> None:
    """Raise :class:`ExplorerInputError` unless ``model`` is fitted and fits ``n_features``."""
    for attr in ("transform", "inverse_transform"):
        if not callable(getattr(model, attr, None)):
            raise ExplorerInputError(f"{name} is a {type(model).__name__}, not a fitted SiVAE (no {attr} method).")
    for attr in ("components_", "n_features_in_"):
        if not hasattr(model, attr):
            raise ExplorerInputError(f"{name} is not fitted (no {attr}); call fit first or load a saved model.")
    if model.n_features_in_ != n_features:
        raise ExplorerInputError(
            f"{name} was fitted on {model.n_features_in_} features but the data have {n_features} columns; "
            "give the data the model was trained on (same columns, same order)."
        )


def check_image_shape(image_shape, n_features: int) -> tuple[int, int] | None:
    """Validate ``image_shape`` against the data width; return it as a tuple of two ints or None."""
    if image_shape is None:
        return None
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError) as exc:
        raise ExplorerInputError(
            f"image_shape must be two positive integers (height, width), got {image_shape!r}."
        ) from exc
    if len(shape) != 2 or min(shape) < 1:
        raise ExplorerInputError(f"image_shape must be two positive integers (height, width), got {image_shape!r}.")
    if shape[0] * shape[1] != n_features:
        raise ExplorerInputError(
            f"image_shape={shape} holds {shape[0] * shape[1]} pixels but the data have {n_features} features; "
            f"height * width must equal {n_features}."
        )
    return shape


def prepare(model, X, labels=None, image_shape=None, feature_names=None) -> ExplorerData:
    """Validate everything the explorer needs and precompute the embeddings.

    Parameters
    ----------
    model : SiVAE, str, path-like, or dict of str to SiVAE
        See :func:`collect_models`.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Data to embed and show.
    labels : array-like of shape (n_samples,), optional
        Class of each sample, used for colour and for slider ranges.
    image_shape : (int, int), optional
        Show samples, loadings and feature awareness as images of this shape.
    feature_names : array-like of shape (n_features,), optional
        Names for ranked feature charts; default: the model's
        ``feature_names_in_`` or ``x0, x1, ...``.

    Returns
    -------
    ExplorerData
    """
    import scipy.sparse as sp
    from sklearn.decomposition import PCA

    if sp.issparse(X):
        X = X.toarray()
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ExplorerInputError(f"X must be a numeric matrix (n_samples, n_features): {exc}") from exc
    if X.ndim != 2 or X.shape[0] < 1:
        raise ExplorerInputError(f"X must be a 2-D matrix (n_samples, n_features) with rows; got shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise ExplorerInputError("X contains NaN or infinite values; the explorer needs finite data.")
    n_samples, n_features = X.shape
    if labels is not None:
        labels = np.asarray(labels).ravel().astype(str)
        if labels.shape[0] != n_samples:
            raise ExplorerInputError(
                f"labels has {labels.shape[0]} entries but X has {n_samples} rows; give one per row."
            )
    shape = check_image_shape(image_shape, n_features)

    entries = collect_models(model)
    views: dict[str, ModelView] = {}
    skipped: list[str] = []
    single = len(entries) == 1
    for name, (fitted, path) in entries.items():
        try:
            if fitted is None:
                fitted = _load_model(path)
            check_fitted_model(fitted, n_features, name=f"Model {name!r}")
        except ExplorerInputError as exc:
            if single:
                raise
            skipped.append(f"{name}: {exc}")
            continue
        Z = np.asarray(fitted.transform(X), dtype=np.float64)
        if Z.shape[1] >= 2:
            pca = PCA(n_components=Z.shape[1]).fit(Z)
            Zp, ratio = pca.transform(Z), pca.explained_variance_ratio_
        else:
            Zp, ratio = Z - Z.mean(axis=0), np.ones(1)
        views[name] = ModelView(name, fitted, Z, Zp, ratio, path)
    if not views:
        raise ExplorerInputError("None of the models can be shown with these data:\n  " + "\n  ".join(skipped))

    if feature_names is None:
        first = next(iter(views.values())).model
        names = getattr(first, "feature_names_in_", None)
        feature_names = names if names is not None else [f"x{i}" for i in range(n_features)]
    feature_names = np.asarray(feature_names).astype(str)
    if feature_names.shape != (n_features,):
        raise ExplorerInputError(f"feature_names must have {n_features} entries, got {feature_names.shape[0]}.")
    return ExplorerData(X, labels, shape, feature_names, views, skipped)


# ------------------------------------------------------------- the embedding
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
    prefix = "PC" if view == "pca" else "z"
    n_dims = int(min(max(int(n_dims or 1), 1), mv.n_components))
    names = [f"{prefix}{i + 1}" for i in range(n_dims)]
    if view == "pca":
        names = [f"{n} ({100 * r:.0f}%)" for n, r in zip(names, mv.pca_explained)]
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
        margin={"l": 50, "r": 10, "t": 30, "b": 40},
        clickmode="event",
        hovermode="closest",
        legend_title_text="class" if data.labels is not None else None,
        title={"text": f"{'PCA of the latent space' if view == 'pca' else 'Latent space'} - click a point", "x": 0},
    )
    return fig


def _label_groups(data: ExplorerData):
    if data.labels is None:
        return [("", np.ones(data.X.shape[0], bool))]
    return [(c, data.labels == c) for c in data.classes]


def sample_from_click(click_data) -> int | None:
    """Row index of the clicked point in a Dash ``clickData`` payload, or None."""
    if not click_data or not click_data.get("points"):
        return None
    point = click_data["points"][0]
    custom = point.get("customdata")
    if isinstance(custom, list):
        custom = custom[0] if custom else None
    if custom is None:
        return None
    try:
        return int(custom)
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------- the sliders
def slider_settings(data: ExplorerData, model_name: str, sample=None, ranges: str = "class"):
    """Values and ranges of the latent sliders.

    Parameters
    ----------
    data : ExplorerData
    model_name : str
    sample : int, optional
        Clicked row; its latent coordinates become the slider values. None: the origin.
    ranges : {"class", "prior"}
        ``"class"``: each slider spans the clicked sample's class mean +- one
        class standard deviation (all samples when unlabelled), widened to
        contain the value; ``"prior"``: +- 3 around 0, the N(0, 1) prior.

    Returns
    -------
    values, mins, maxs : list of float, each of length K
    """
    mv = data.models[model_name]
    K = mv.n_components
    if sample is None:
        values = np.zeros(K)
        members = np.ones(mv.embedding.shape[0], bool)
    else:
        sample = int(sample)
        if not 0 <= sample < mv.embedding.shape[0]:
            raise ExplorerInputError(f"sample {sample} is out of range (0 .. {mv.embedding.shape[0] - 1}).")
        values = mv.embedding[sample]
        members = (
            data.labels == data.labels[sample] if data.labels is not None else np.ones(mv.embedding.shape[0], bool)
        )
    if ranges == "prior":
        lo, hi = np.full(K, -PRIOR_RANGE), np.full(K, PRIOR_RANGE)
    elif ranges == "class":
        Zc = mv.embedding[members]
        mean, std = Zc.mean(axis=0), Zc.std(axis=0)
        std = np.where(std > 1e-6, std, 0.5)
        lo, hi = mean - CLASS_RANGE_STDS * std, mean + CLASS_RANGE_STDS * std
    else:
        raise ExplorerInputError(f"ranges must be 'class' or 'prior', got {ranges!r}.")
    lo, hi = np.minimum(lo, values), np.maximum(hi, values)
    return [_round(v) for v in values], [_round(v, "floor") for v in lo], [_round(v, "ceil") for v in hi]


def _round(value, how: str = "nearest", digits: int = 3) -> float:
    scale = 10**digits
    if how == "floor":
        return math.floor(value * scale) / scale
    if how == "ceil":
        return math.ceil(value * scale) / scale
    return round(float(value), digits)


def slider_step(lo: float, hi: float) -> float:
    """Step giving about 200 positions between ``lo`` and ``hi``."""
    return max(_round((hi - lo) / 200.0, "floor", 4), 1e-4)


def active_dimension(triggered_id, previous, n_components: int) -> int:
    """The latent dimension whose slider moved last (pattern-matching id ``{"index": d}``)."""
    if isinstance(triggered_id, dict) and "index" in triggered_id:
        d = int(triggered_id["index"])
    elif previous is not None:
        d = int(previous)
    else:
        d = 0
    return int(min(max(d, 0), n_components - 1))


def latent_vector(values, n_components: int) -> np.ndarray:
    """Slider values as one latent row; missing values (None) count as 0."""
    values = list(values or [])
    if len(values) != n_components:
        raise ExplorerInputError(f"expected {n_components} slider values, got {len(values)}.")
    return np.array([[0.0 if v is None else float(v) for v in values]])


# ------------------------------------------------------ decoded and siVAE view
def decode(data: ExplorerData, model_name: str, values) -> np.ndarray:
    """Decode the slider position with ``model.inverse_transform``; shape (n_features,)."""
    mv = data.models[model_name]
    return np.asarray(mv.model.inverse_transform(latent_vector(values, mv.n_components)), dtype=np.float64)[0]


def decoded_figure(data: ExplorerData, model_name: str, values):
    """The decoded sample: an image, or the features furthest from their mean."""
    x = decode(data, model_name, values)
    title = "Decoded sample at z = [" + ", ".join(f"{float(v or 0):.2f}" for v in values) + "]"
    if data.image_shape is not None:
        return _image(x, data.image_shape, title, colorscale="gray_r", diverging=False)
    model = data.models[model_name].model
    mean = getattr(model, "mean_", None)
    reference = np.asarray(mean) if mean is not None and np.shape(mean) == x.shape else data.X.mean(axis=0)
    return _ranked_bars(
        x - reference, data.feature_names, title + " - features furthest from the data mean", "decoded - mean"
    )


def loadings_figure(data: ExplorerData, model_name: str, dim: int):
    """Loadings ``components_[dim]``: an image, or the top features by absolute loading."""
    mv = data.models[model_name]
    loadings = np.asarray(mv.model.components_, dtype=np.float64)[dim]
    title = f"Loadings of z{dim + 1} (components_[{dim}])"
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
    import plotly.graph_objects as go

    img = np.asarray(values, dtype=np.float64).reshape(shape)
    kwargs = {}
    if diverging:
        bound = float(np.max(np.abs(img))) or 1.0
        kwargs = {"zmin": -bound, "zmax": bound, "zmid": 0.0}
    fig = go.Figure(go.Heatmap(z=img.tolist(), colorscale=colorscale, **kwargs))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False)
    fig.update_xaxes(showticklabels=False, constrain="domain")
    fig.update_layout(title={"text": title, "x": 0, "font": {"size": 13}}, height=320, margin=_SMALL_MARGIN)
    return fig


_SMALL_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 10}


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
        title={"text": title, "x": 0, "font": {"size": 13}},
        xaxis_title=axis_title,
        height=max(320, 18 * len(top) + 80),
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
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
        if y.size == 0 or not np.any(np.isfinite(y)):
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
        title={"text": "Training history", "x": 0},
        xaxis_title="epoch",
        yaxis_title="loss term",
        height=380,
        margin={"l": 50, "r": 50, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.25, "x": 0},
    )
    return fig
