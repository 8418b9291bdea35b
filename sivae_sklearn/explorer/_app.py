"""The Dash app: the page layout and thin callbacks around the explorer's plain functions."""

from __future__ import annotations

from . import _figures, _sliders
from ._inputs import ExplorerInputError
from ._models import prepare

_INSTALL_HINT = "The explorer needs dash and plotly: pip install 'sivae_sklearn[explorer]'"


def _import_dash():
    try:
        import dash
        import plotly  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"{_INSTALL_HINT} ({exc}).") from exc
    return dash


_PANEL = {"border": "1px solid #ddd", "borderRadius": "6px", "padding": "8px", "marginBottom": "10px"}
_MESSAGE = {"color": "#b00020", "whiteSpace": "pre-wrap"}


def create_app(model, X, labels=None, image_shape=None, *, feature_names=None, title: str = "siVAE explorer"):
    """Build the explorer's Dash app without serving it.

    Parameters
    ----------
    model : SiVAE, str, path-like, or dict of str to SiVAE
        A fitted model, a saved model file (``.sivae``), a folder of saved
        model files (a picker switches between them), or named fitted models.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Data to embed, with the features the model(s) were fitted on.
    labels : array-like of shape (n_samples,), optional
        Class of each sample: point colours and slider ranges.
    image_shape : (int, int) or (int, int, int), optional
        Show decoded samples, loadings and feature awareness as images.
    feature_names : array-like of shape (n_features,), optional
        Names in ranked feature charts.
    title : str, default="siVAE explorer"
        Page title.

    Returns
    -------
    dash.Dash
        The app; ``app.server`` is the Flask WSGI application. The validated
        inputs are kept in ``app.explorer_data`` (an :class:`ExplorerData`).

    Raises
    ------
    ValueError
        (:class:`ExplorerInputError`) if the model is not fitted, its width
        differs from ``X``'s, ``image_shape`` does not match, or a file is missing.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("dash")  # the example needs the explorer extra
    >>> import numpy as np
    >>> from sivae_sklearn import SiVAE
    >>> from sivae_sklearn.explorer import create_app
    >>> X = np.random.RandomState(0).normal(size=(40, 4))
    >>> model = SiVAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
    >>> app = create_app(model, X, image_shape=(2, 2))
    >>> app.explorer_data.model_names
    ['model']
    """
    dash = _import_dash()
    from dash import ALL, Input, Output, State, ctx, dcc, html
    from dash.exceptions import PreventUpdate

    data = prepare(model, X, labels, image_shape, feature_names)
    first = data.model_names[0]

    app = dash.Dash(__name__, title=title, update_title=None)
    app.explorer_data = data

    picker_style = {} if len(data.models) > 1 else {"display": "none"}
    skipped = (
        html.Div(
            "Models not shown:\n" + "\n".join(data.skipped),
            id="skipped-models",
            style=_MESSAGE,
        )
        if data.skipped
        else html.Div(id="skipped-models")
    )
    app.layout = html.Div(
        [
            html.H2(title, style={"margin": "4px 0"}),
            html.Div(
                [
                    html.Label("Model ", htmlFor="model-picker"),
                    dcc.Dropdown(
                        id="model-picker",
                        options=[{"label": n, "value": n} for n in data.model_names],
                        value=first,
                        clearable=False,
                        style={"width": "420px"},
                    ),
                ],
                style=picker_style,
            ),
            skipped,
            dcc.Store(id="selected-sample", data=None),
            dcc.Store(id="active-dim", data=0),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(
                                [
                                    dcc.RadioItems(
                                        id="embedding-view",
                                        options=[
                                            {"label": " latent axes", "value": "latent"},
                                            {"label": " PCA of the latent space", "value": "pca"},
                                        ],
                                        value="latent",
                                        inline=True,
                                        inputStyle={"marginLeft": "10px"},
                                    ),
                                    html.Label("Dimensions shown"),
                                    dcc.Slider(id="n-dims", min=1, max=2, step=1, value=2),
                                ]
                            ),
                            dcc.Graph(id="embedding", config={"displaylogo": False}),
                        ],
                        style={**_PANEL, "flex": "3 1 520px"},
                    ),
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Label("Slider ranges: "),
                                    dcc.RadioItems(
                                        id="slider-ranges",
                                        options=[
                                            {"label": " clicked class (mean +- std)", "value": "class"},
                                            {"label": " prior N(0, 1) (+-3)", "value": "prior"},
                                        ],
                                        value="class",
                                        inline=True,
                                        inputStyle={"marginLeft": "10px"},
                                    ),
                                ]
                            ),
                            html.Div(id="selection", children="No point selected: sliders start at the origin."),
                            html.Div(id="click-message", style=_MESSAGE),
                            html.Div(id="latent-sliders"),
                            html.Div(id="decode-message", style=_MESSAGE),
                        ],
                        style={**_PANEL, "flex": "2 1 360px"},
                    ),
                ],
                style={"display": "flex", "flexWrap": "wrap", "gap": "10px"},
            ),
            html.Div(
                [
                    dcc.Graph(id="decoded", style={"flex": "1 1 300px"}, config={"displaylogo": False}),
                    dcc.Graph(id="loadings", style={"flex": "1 1 300px"}, config={"displaylogo": False}),
                    dcc.Graph(id="awareness", style={"flex": "1 1 300px"}, config={"displaylogo": False}),
                ],
                style={**_PANEL, "display": "flex", "flexWrap": "wrap"},
            ),
            html.Div(
                [
                    html.H4("Model parameters and training history", style={"margin": "4px 0"}),
                    html.Div(
                        [
                            html.Div(id="model-params", style={"flex": "1 1 280px", "fontSize": "13px"}),
                            dcc.Graph(id="history", style={"flex": "3 1 500px"}, config={"displaylogo": False}),
                        ],
                        style={"display": "flex", "flexWrap": "wrap"},
                    ),
                ],
                style=_PANEL,
            ),
        ],
        style={"fontFamily": "sans-serif", "margin": "10px"},
    )

    def sliders_for(name, values, mins, maxs):
        names = data.models[name].dim_names
        rows = []
        for d, (v, lo, hi) in enumerate(zip(values, mins, maxs)):
            rows.append(
                html.Div(
                    [
                        html.Label(names[d], style={"width": "56px", "display": "inline-block"}),
                        html.Div(
                            dcc.Slider(
                                id={"type": "z-slider", "index": d},
                                min=lo,
                                max=hi,
                                step=_sliders.slider_step(lo, hi),
                                value=v,
                                marks=None,
                                updatemode="drag",
                                tooltip={"placement": "right", "always_visible": False},
                            ),
                            style={"display": "inline-block", "width": "calc(100% - 60px)"},
                        ),
                    ],
                    className="latent-slider-row",
                )
            )
        return rows

    @app.callback(
        Output("latent-sliders", "children"),
        Output("n-dims", "max"),
        Output("n-dims", "value"),
        Output("n-dims", "marks"),
        Output("model-params", "children"),
        Output("history", "figure"),
        Input("model-picker", "value"),
        State("selected-sample", "data"),
        State("slider-ranges", "value"),
    )
    def on_model(name, sample, ranges):
        if name not in data.models:
            raise PreventUpdate
        mv = data.models[name]
        K = mv.n_components
        values, mins, maxs = _sliders.slider_settings(data, name, sample, ranges)
        table = html.Table(
            [html.Tr([html.Th("parameter"), html.Th("value")])]
            + [html.Tr([html.Td(k), html.Td(v)]) for k, v in _figures.params_rows(mv.model)],
            style={"borderCollapse": "collapse"},
        )
        history = getattr(mv.model, "history_", None)
        marks = {i: str(i) for i in range(1, K + 1)}
        return (
            sliders_for(name, values, mins, maxs),
            K,
            min(K, 3),
            marks,
            table,
            _figures.history_figure(history),
        )

    @app.callback(
        Output("embedding", "figure"),
        Input("model-picker", "value"),
        Input("embedding-view", "value"),
        Input("n-dims", "value"),
        Input("selected-sample", "data"),
    )
    def on_embedding(name, view, n_dims, sample):
        if name not in data.models:
            raise PreventUpdate
        return _figures.embedding_figure(data, name, view, n_dims, sample)

    @app.callback(
        Output("selected-sample", "data"),
        Output({"type": "z-slider", "index": ALL}, "value"),
        Output({"type": "z-slider", "index": ALL}, "min"),
        Output({"type": "z-slider", "index": ALL}, "max"),
        Output({"type": "z-slider", "index": ALL}, "step"),
        Output("selection", "children"),
        Output("click-message", "children"),
        Input("embedding", "clickData"),
        Input("slider-ranges", "value"),
        State("model-picker", "value"),
        State("selected-sample", "data"),
        State({"type": "z-slider", "index": ALL}, "value"),
        prevent_initial_call=True,
    )
    def on_click(click_data, ranges, name, previous, current_values):
        sample = _sliders.sample_from_click(click_data) if ctx.triggered_id == "embedding" else previous
        K = len(current_values)
        if name not in data.models or data.models[name].n_components != K:
            raise PreventUpdate
        try:
            values, mins, maxs = _sliders.slider_settings(data, name, sample, ranges)
        except ExplorerInputError as exc:
            return (
                previous,
                current_values,
                [dash.no_update] * K,
                [dash.no_update] * K,
                [dash.no_update] * K,
                (dash.no_update),
                str(exc),
            )
        if ctx.triggered_id != "embedding":
            values = [min(max(v if v is not None else 0.0, lo), hi) for v, lo, hi in zip(current_values, mins, maxs)]
        steps = [_sliders.slider_step(lo, hi) for lo, hi in zip(mins, maxs)]
        if sample is None:
            text = "No point selected: sliders start at the origin."
        else:
            label = f" (class {data.labels[sample]})" if data.labels is not None else ""
            text = f"Selected sample {sample}{label}: sliders at its latent coordinates."
        return sample, values, mins, maxs, steps, text, ""

    @app.callback(
        Output("decoded", "figure"),
        Output("loadings", "figure"),
        Output("awareness", "figure"),
        Output("active-dim", "data"),
        Output("decode-message", "children"),
        Input({"type": "z-slider", "index": ALL}, "value"),
        State("model-picker", "value"),
        State("active-dim", "data"),
    )
    def on_sliders(values, name, previous_dim):
        if name not in data.models or len(values) != data.models[name].n_components:
            raise PreventUpdate
        K = data.models[name].n_components
        dim = _sliders.active_dimension(ctx.triggered_id, previous_dim, K)
        try:
            decoded = _figures.decoded_figure(data, name, values)
        except Exception as exc:  # a message in the page, never a traceback
            return (dash.no_update,) * 4 + (f"Could not decode this point: {type(exc).__name__}: {exc}",)
        return decoded, _figures.loadings_figure(data, name, dim), _figures.awareness_figure(data, name), dim, ""

    return app
