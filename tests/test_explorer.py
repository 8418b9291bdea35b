"""Unit tests of the explorer without a browser: validation, callback logic, data files, serving."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("plotly", reason="plotly is not installed (pip install 'sivae_sklearn[explorer]')")

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn.explorer import ExplorerInputError, _figures, _sliders, load_data, prepare  # noqa: E402
from sivae_sklearn.explorer.__main__ import main  # noqa: E402


@pytest.fixture(scope="module")
def model(digits):
    X, _ = digits
    return SiVAE(n_components=3, hidden_layer_sizes=(16, 8), max_epochs=5, random_state=0).fit(X)


@pytest.fixture(scope="module")
def data(model, digits):
    X, y = digits
    return prepare(model, X, labels=y, image_shape=(8, 8))


@pytest.fixture(scope="module")
def model_dir(model, digits, tmp_path_factory):
    """Two usable saved models and one fitted on other features."""
    X, _ = digits
    folder = tmp_path_factory.mktemp("experiments")
    model.save(folder / "a_three_dims.sivae")
    SiVAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=1).fit(X).save(
        folder / "b_two_dims.sivae"
    )
    SiVAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X[:, :10]).save(
        folder / "c_other_width.sivae"
    )
    return folder


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ bad input
def test_width_mismatch_is_a_clear_error(model, digits):
    X, _ = digits
    with pytest.raises(ExplorerInputError, match="fitted on 64 features but the data have 10 columns"):
        prepare(model, X[:, :10])


def test_image_shape_must_match_the_width(model, digits):
    X, _ = digits
    with pytest.raises(ExplorerInputError, match="holds 49 pixels but the data have 64 features"):
        prepare(model, X, image_shape=(7, 7))
    with pytest.raises(ExplorerInputError, match="two positive integers"):
        prepare(model, X, image_shape=(64,))


def test_missing_model_file_and_unfitted_model(digits, tmp_path):
    X, _ = digits
    with pytest.raises(ExplorerInputError, match="No model file at"):
        prepare(str(tmp_path / "nothing.sivae"), X)
    with pytest.raises(ExplorerInputError, match="not fitted"):
        prepare(SiVAE(), X)
    with pytest.raises(ExplorerInputError, match="holds no saved models"):
        prepare(str(tmp_path), X)


def test_labels_must_have_one_per_row(model, digits):
    X, y = digits
    with pytest.raises(ExplorerInputError, match="labels has 10 entries but X has 300 rows"):
        prepare(model, X, labels=y[:10])


# ---------------------------------------------------------------- embedding
def test_embedding_figure_shows_every_sample_in_every_panel(data, model, digits):
    X, y = digits
    fig = _figures.embedding_figure(data, "model", "latent", 3)
    points = [t for t in fig.data if t.marker.size == 6]  # sample markers (highlights are larger)
    per_panel = {}
    for t in points:
        per_panel.setdefault((t.xaxis, t.yaxis), []).extend(t.customdata)
    assert len(per_panel) == 3  # (z1, z2), (z1, z3), (z2, z3)
    for indices in per_panel.values():
        assert sorted(indices) == list(range(X.shape[0]))
    # the first trace is class 0 in the (z1, z2) panel, at the model's embedding
    first = fig.data[0]
    idx = np.asarray(first.customdata)
    assert set(y[idx]) == {0}
    np.testing.assert_allclose(first.x, model.transform(X[idx])[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(first.y, model.transform(X[idx])[:, 1], rtol=1e-5, atol=1e-6)


def test_embedding_views_and_dimension_control(data):
    latent = _figures.embedding_figure(data, "model", "latent", 2)
    pca = _figures.embedding_figure(data, "model", "pca", 2)
    assert len({(t.xaxis, t.yaxis) for t in latent.data}) == 1  # two dimensions: one panel
    assert not np.allclose(latent.data[0].x, pca.data[0].x)
    assert "PC1" in pca.layout.xaxis.title.text
    # PCA axes are uncorrelated and ordered by variance
    Zp = data.models["model"].pca_embedding
    assert np.var(Zp[:, 0]) >= np.var(Zp[:, 1]) >= np.var(Zp[:, 2])
    clipped = _figures.embedding_figure(data, "model", "latent", 99)
    assert len({(t.xaxis, t.yaxis) for t in clipped.data}) == 3
    with pytest.raises(ExplorerInputError):
        _figures.embedding_figure(data, "model", "tsne", 2)


def test_selected_point_is_highlighted(data):
    fig = _figures.embedding_figure(data, "model", "latent", 3, selected=7)
    highlights = [t for t in fig.data if t.marker.size == 14]
    assert len(highlights) == 3 and all(list(t.customdata) == [7] for t in highlights)


def test_sample_from_click():
    assert _sliders.sample_from_click({"points": [{"customdata": 12, "pointNumber": 3}]}) == 12
    assert _sliders.sample_from_click({"points": [{"customdata": [4]}]}) == 4
    assert _sliders.sample_from_click(None) is None
    assert _sliders.sample_from_click({"points": [{"pointNumber": 3}]}) is None


# ------------------------------------------------------------------ sliders
def test_click_loads_coordinates_and_class_ranges(data, model, digits):
    X, y = digits
    values, lo, hi = _sliders.slider_settings(data, "model", 11, "class")
    z = model.transform(X[11:12])[0]
    np.testing.assert_allclose(values, z, atol=1e-3)
    same_class = model.transform(X[y == y[11]])
    mean, std = same_class.mean(axis=0), same_class.std(axis=0)
    for d in range(3):
        assert lo[d] <= values[d] <= hi[d]
        assert lo[d] <= mean[d] - std[d] + 1e-3 and hi[d] >= mean[d] + std[d] - 1e-3
        # no wider than mean +- std, except to reach the clicked point
        assert lo[d] >= min(mean[d] - std[d], z[d]) - 2e-3 and hi[d] <= max(mean[d] + std[d], z[d]) + 2e-3


def test_prior_ranges_and_origin(data):
    values, lo, hi = _sliders.slider_settings(data, "model", None, "prior")
    assert values == [0.0, 0.0, 0.0] and lo == [-3.0] * 3 and hi == [3.0] * 3
    with pytest.raises(ExplorerInputError, match="out of range"):
        _sliders.slider_settings(data, "model", 10_000, "class")


def test_active_dimension_follows_the_moved_slider():
    assert _sliders.active_dimension({"type": "z-slider", "index": 2}, 0, 3) == 2
    assert _sliders.active_dimension("model-picker", 1, 3) == 1
    assert _sliders.active_dimension(None, None, 3) == 0
    assert _sliders.active_dimension({"type": "z-slider", "index": 5}, 0, 3) == 2


# ------------------------------------------------------ decoded and siVAE view
def test_decoded_image_is_inverse_transform(data, model):
    z = [0.1, -0.2, 0.3]
    fig = _figures.decoded_figure(data, "model", z)
    expected = model.inverse_transform(np.array([z]))[0].reshape(8, 8)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), expected, rtol=1e-6)
    other = _figures.decoded_figure(data, "model", [0.1, 0.5, 0.3])
    assert not np.allclose(np.asarray(other.data[0].z), expected)
    with pytest.raises(ExplorerInputError, match="expected 3 slider values"):
        _figures.decoded_figure(data, "model", [0.1])


def test_loadings_and_awareness_images(data, model):
    fig = _figures.loadings_figure(data, "model", 2)
    np.testing.assert_allclose(np.asarray(fig.data[0].z), model.components_[2].reshape(8, 8))
    assert "sivae2" in fig.layout.title.text  # the name get_feature_names_out gives dimension 2
    assert fig.data[0].zmid == 0
    fa = _figures.awareness_figure(data, "model")
    np.testing.assert_allclose(np.asarray(fa.data[0].z), model.feature_awareness_.reshape(8, 8))


def test_ranked_features_without_image_shape(model, digits):
    X, y = digits
    names = [f"pixel{i}" for i in range(64)]
    data = prepare(model, X, labels=y, feature_names=names)
    fig = _figures.loadings_figure(data, "model", 0)
    top = np.argsort(-np.abs(model.components_[0]))[: _figures.TOP_FEATURES]
    assert set(fig.data[0].y) == {names[i] for i in top}
    decoded = _figures.decoded_figure(data, "model", [0.0, 0.0, 0.0])
    assert decoded.data[0].type == "bar" and len(decoded.data[0].y) == _figures.TOP_FEATURES
    aware = _figures.awareness_figure(data, "model")
    assert aware.data[0].y[-1] == names[int(np.argmax(model.feature_awareness_))]


# ------------------------------------------------------------- model panel
def test_params_and_history_panel(model):
    rows = dict(_figures.params_rows(model))
    assert rows["n_components"] == "3" and rows["hidden_layer_sizes"] == "(16, 8)"
    history = {
        "loss": [3.0, 2.0, 1.5, 1.2],
        "beta": [0.0, 0.5, 1.0, 1.0],
        "phase": ["sample", "sample", "joint", "joint"],
    }
    fig = _figures.history_figure(history)
    names = [t.name for t in fig.data]
    assert names == ["loss", "beta"] and fig.data[1].yaxis == "y2"
    assert len(fig.layout.shapes) == 2  # one shaded band per phase
    real = _figures.history_figure(model.history_)
    assert "loss" in [t.name for t in real.data]


def test_folder_of_models_gives_a_picker_and_reports_misfits(model_dir, digits):
    X, y = digits
    data = prepare(str(model_dir), X, labels=y)
    assert data.model_names == ["a_three_dims", "b_two_dims"]
    assert len(data.skipped) == 1 and "c_other_width" in data.skipped[0] and "10 features" in data.skipped[0]
    assert data.models["b_two_dims"].n_components == 2
    assert len(_sliders.slider_settings(data, "b_two_dims", 3, "class")[0]) == 2


# --------------------------------------------------------------- the Dash app
def test_create_app_and_a_callback_over_http(model, digits):
    pytest.importorskip("dash", reason="dash is not installed (pip install 'sivae_sklearn[explorer]')")
    from sivae_sklearn.explorer import create_app

    X, y = digits
    app = create_app(model, X, labels=y, image_shape=(8, 8))
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    payload = {
        "output": "embedding.figure",
        "outputs": {"id": "embedding", "property": "figure"},
        "inputs": [
            {"id": "model-picker", "property": "value", "value": "model"},
            {"id": "embedding-view", "property": "value", "value": "pca"},
            {"id": "n-dims", "property": "value", "value": 2},
            {"id": "selected-sample", "property": "data", "value": 3},
        ],
        "changedPropIds": ["embedding-view.value"],
        "state": [],
    }
    response = client.post("/_dash-update-component", json=payload)
    assert response.status_code == 200
    figure = json.loads(response.data)["response"]["embedding"]["figure"]
    assert "PC1" in figure["layout"]["xaxis"]["title"]["text"]


def test_port_in_use_is_a_clear_error(model, digits):
    pytest.importorskip("dash")
    from sivae_sklearn.explorer import create_app, serve, startup_message

    X, _ = digits
    app = create_app(model, X)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(ExplorerInputError, match=f"Cannot serve on 127.0.0.1:{port}: the port is already in use"):
            serve(app, "127.0.0.1", port)
    server = serve(app, "127.0.0.1", 0)
    try:
        assert "loopback only" in startup_message(server) and server.url.startswith("http://127.0.0.1:")
    finally:
        server.shutdown()
    exposed = SimpleNamespace(host="0.0.0.0", url="http://0.0.0.0:8050/")
    assert "reachable from other machines" in startup_message(exposed)


# ------------------------------------------------------------ data files, CLI
def test_load_data_formats(tmp_path, digits):
    import anndata
    import pandas as pd

    X, y = digits
    np.save(tmp_path / "x.npy", X)
    np.savez(tmp_path / "x.npz", X=X, labels=y)
    frame = pd.DataFrame(X[:, :4], columns=list("abcd"))
    kinds = np.array([f"digit{v}" for v in y])
    frame["kind"] = kinds
    frame.to_csv(tmp_path / "x.csv", index=False)
    adata = anndata.AnnData(X[:, :4].astype(np.float32))
    adata.obs["kind"] = kinds
    adata.write_h5ad(tmp_path / "x.h5ad")
    (tmp_path / "labels.txt").write_text("\n".join(map(str, y)) + "\n")

    Xn, ln, _ = load_data(tmp_path / "x.npy", labels_file=tmp_path / "labels.txt")
    assert Xn.shape == (300, 64) and ln.tolist() == [str(v) for v in y]
    Xz, lz, _ = load_data(tmp_path / "x.npz")
    assert np.array_equal(lz, y)
    Xc, lc, names = load_data(tmp_path / "x.csv", labels_column="kind")
    assert Xc.shape == (300, 4) and names.tolist() == list("abcd") and np.array_equal(lc, kinds)
    Xh, lh, names = load_data(tmp_path / "x.h5ad", labels_column="kind")
    assert Xh.shape == (300, 4) and np.array_equal(lh, kinds)
    with pytest.raises(ExplorerInputError, match="non-numeric columns"):
        load_data(tmp_path / "x.csv")
    with pytest.raises(ExplorerInputError, match="expected one of"):
        load_data(tmp_path / "labels.txt")


def test_cli_reports_bad_input_without_a_traceback(model, digits, tmp_path, capsys):
    pytest.importorskip("dash")
    X, _ = digits
    model.save(tmp_path / "m.sivae")
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "narrow.npy", X[:, :10])
    assert main([str(tmp_path / "missing.sivae"), str(tmp_path / "x.npy")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main([str(tmp_path / "m.sivae"), str(tmp_path / "narrow.npy")]) == 1
    assert "fitted on 64 features but the data have 10 columns" in capsys.readouterr().err
    assert main([str(tmp_path / "m.sivae"), str(tmp_path / "x.npy"), "--image-shape", "4", "4"]) == 1
    assert "height * width must equal 64" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main([str(tmp_path / "m.sivae"), str(tmp_path / "x.npy"), "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert "already in use" in err and "Traceback" not in err


def test_cli_errors_are_one_line_naming_the_problem_and_debug_raises(model, digits, tmp_path, capsys):
    pytest.importorskip("dash")
    X, _ = digits
    model.save(tmp_path / "m.sivae")
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "big.npy", np.full((5, 64), 1e39))
    np.save(tmp_path / "bad_model.npy", X)
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
    (tmp_path / "noise.sivae").write_bytes(os.urandom(256))
    cases = [
        (["m.sivae", "big.npy"], "X holds values up to 1e+39, beyond float32 range"),
        (["bad_model.npy", "x.npy"], "is not a valid sivae_sklearn model file: it is a single NumPy array"),
        (["noise.sivae", "x.npy"], "is not a valid sivae_sklearn model file"),
        (["m.sivae", "objects.npy"], "never Python objects"),
    ]
    for argv, message in cases:
        assert main([str(tmp_path / a) for a in argv]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("sivae: error: ") and message in err, err
        assert "Traceback" not in err and "allow_pickle" not in err
    assert main([str(tmp_path / "m.sivae"), str(tmp_path / "big.npy"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ExplorerInputError" in err and "beyond float32 range" in err


def test_module_and_sivae_explore_are_one_command_line(capsys):
    assert main(["--help"]) == 0
    module_help = capsys.readouterr().out
    from sivae_sklearn.cli import main as sivae

    assert sivae(["explore", "--help"]) == 0
    assert module_help == capsys.readouterr().out and "--image-shape" in module_help


def test_cli_run_as_a_module_prints_no_traceback(tmp_path):
    pytest.importorskip("dash")
    (tmp_path / "noise.sivae").write_bytes(b"\x80\x04not really a pickle")
    np.save(tmp_path / "x.npy", np.zeros((3, 4)))
    args = [sys.executable, "-m", "sivae_sklearn.explorer", str(tmp_path / "noise.sivae"), str(tmp_path / "x.npy")]
    out = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("sivae: error: ") and "Python pickle" in out.stderr
    debug = subprocess.run([*args, "--debug"], capture_output=True, text=True, timeout=300)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ModelFileError" in debug.stderr


def test_cli_serves_on_loopback_and_says_so(model, digits, tmp_path):
    pytest.importorskip("dash")
    X, y = digits
    model.save(tmp_path / "m.sivae")
    np.savez(tmp_path / "x.npz", X=X, labels=y)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "sivae_sklearn.explorer", str(tmp_path / "m.sivae"), str(tmp_path / "x.npz")]
    proc = subprocess.Popen(
        [*cmd, "--image-shape", "8", "8", "--port", str(port)], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline, said = time.time() + 120, ""
        while time.time() < deadline and "serving on" not in said:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            said += line
        assert f"serving on http://127.0.0.1:{port}/ (loopback only" in said, said[-2000:]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
            assert page.status == 200 and b"siVAE explorer" in page.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class _OneDimensionalModel:
    """A stand-in with the fitted SiVAE interface and a single latent dimension."""

    n_features_in_ = 4
    components_ = np.array([[1.0, -2.0, 0.5, 0.0]])
    feature_awareness_ = np.array([0.1, 0.4, 0.2, -0.1])
    mean_ = np.zeros(4)
    history_ = {"loss": [2.0, 1.0], "beta": [0.5, 1.0], "phase": ["joint", "joint"]}

    def transform(self, X):
        return np.asarray(X)[:, :1] * 2.0

    def inverse_transform(self, Z):
        return np.asarray(Z) @ self.components_

    def get_params(self, deep=False):
        return {"n_components": 1}


def test_a_single_latent_dimension_still_has_a_view():
    X = np.arange(24, dtype=float).reshape(6, 4)
    data = prepare({"one": _OneDimensionalModel()}, X, labels=list("aabbcc"), image_shape=(2, 2))
    fig = _figures.embedding_figure(data, "one", "latent", 3)
    assert len(fig.data) == 3 and sum(len(t.customdata) for t in fig.data) == 6  # z1 against the sample index
    values, lo, hi = _sliders.slider_settings(data, "one", 2, "class")
    assert values == [16.0] and lo[0] <= 16.0 <= hi[0]
    decoded = _figures.decoded_figure(data, "one", [1.5])
    np.testing.assert_allclose(np.asarray(decoded.data[0].z), (1.5 * _OneDimensionalModel.components_).reshape(2, 2))


# ------------------------------------------------------------ colour images
def test_colour_images_decoded_in_rgb_and_loadings_summed_over_channels():
    from sivae_sklearn.datasets import make_colour_shapes

    X, y, shape = make_colour_shapes(80, size=8, random_state=0)
    model = SiVAE(n_components=2, likelihood="bernoulli", hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
    data = prepare(model, X, labels=y, image_shape=shape)
    decoded = _figures.decoded_figure(data, "model", [0.5, -0.5])
    picture = np.asarray(decoded.data[0].z)
    assert decoded.data[0].type == "image" and picture.shape == (8, 8, 3) and picture.dtype == np.uint8
    x = model.inverse_transform([[0.5, -0.5]])[0].reshape(8, 8, 3)
    expected = np.round(255 * (x - X.min()) / (X.max() - X.min()))  # the data's range maps to [0, 255]
    np.testing.assert_allclose(picture, expected, atol=1)
    loadings = _figures.loadings_figure(data, "model", 1)
    np.testing.assert_allclose(
        np.asarray(loadings.data[0].z), model.components_[1].reshape(8, 8, 3).sum(axis=2), rtol=1e-6
    )
    awareness = _figures.awareness_figure(data, "model")
    np.testing.assert_allclose(
        np.asarray(awareness.data[0].z), model.feature_awareness_.reshape(8, 8, 3).sum(axis=2), rtol=1e-6
    )
    with pytest.raises(ExplorerInputError, match="height \\* width \\* channels must equal 192"):
        prepare(model, X, image_shape=(8, 8, 2))


# ------------------------------------------------------------ names and layout
def test_dimensions_are_named_as_get_feature_names_out(data, model):
    names = list(model.get_feature_names_out())
    assert data.models["model"].dim_names == names == ["sivae0", "sivae1", "sivae2"]
    layout = _figures.embedding_figure(data, "model", "latent", 3).to_dict()["layout"]
    titles = {v["title"]["text"] for k, v in layout.items() if k.startswith(("xaxis", "yaxis")) and "title" in v}
    assert titles == {"sivae0", "sivae1", "sivae2"}  # the bottom row's x axes and the first column's y axes


def test_titles_sit_below_the_toolbar_and_legends_outside_the_plot(data, model):
    figures = [
        _figures.embedding_figure(data, "model", "latent", 3),
        _figures.decoded_figure(data, "model", [0.1, 0.2, 0.3]),
        _figures.loadings_figure(data, "model", 0),
        _figures.awareness_figure(data, "model"),
        _figures.history_figure(model.history_),
    ]
    no_images = prepare(model, data.X, labels=data.labels)
    figures += [_figures.decoded_figure(no_images, "model", [0.1] * 3), _figures.loadings_figure(no_images, "model", 1)]
    for fig in figures:
        title = fig.layout.title
        # anchored at the top of the graph, pushed below the modebar's row, inside the top margin
        assert title.yref == "container" and title.yanchor == "top" and title.y == 1
        assert title.pad.t >= _figures._MODEBAR_HEIGHT
        n_lines = title.text.count("<br>") + 1
        assert fig.layout.margin.t >= title.pad.t + n_lines * 16
    long = _figures.decoded_figure(no_images, "model", [0.123456] * 3)
    assert long.layout.title.text.count("<br>") == 1  # the note on its own line
    for fig in (figures[0], figures[4]):
        assert fig.layout.legend.x >= 1 and fig.layout.legend.xanchor == "left"


def test_history_legend_lists_only_the_terms_the_model_has(model):
    assert model.classifier_weight == 0
    absent = [k for k, v in model.history_.items() if k != "phase" and not np.any(np.nan_to_num(v))]
    assert any("class" in k for k in absent)  # a model without a classifier records its term as zeros
    names = [t.name for t in _figures.history_figure(model.history_).data]
    assert "loss" in names and "val_loss" in names
    assert not any("class" in n for n in names)
    assert not set(absent) & set(names)
