"""Figures of a fitted SiVAE (Agg backend, nothing shown)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sivae_sklearn import SiVAE, pl, plotting  # noqa: E402
from sivae_sklearn.datasets import make_colour_shapes  # noqa: E402
from sivae_sklearn.generation import interpolate, manifold_grid, traverse  # noqa: E402


@pytest.fixture(scope="module")
def model(digits):
    X, _ = digits
    return SiVAE(
        3, hidden_layer_sizes=(16, 8), max_epochs=4, schedule="stepwise", pretrain_epochs=2, random_state=0
    ).fit(X)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_embedding_scatter_coloured_by_labels(model, digits):
    X, y = digits
    ax = plotting.plot_embedding(model, X, y, dims=("sivae0", 2))
    assert isinstance(ax, Axes)
    assert len(ax.collections) == len(np.unique(y))  # one group per class
    assert ax.get_xlabel() == "sivae0" and ax.get_ylabel() == "sivae2"
    Z = model.transform(X)
    np.testing.assert_allclose(
        np.vstack([c.get_offsets() for c in ax.collections])[:, 0].sum(), Z[:, 0].sum(), rtol=1e-5
    )
    with pytest.raises(ValueError, match="exactly two"):
        plotting.plot_embedding(model, X, dims=(0, 1, 2))
    with pytest.raises(ValueError, match="one per row"):
        plotting.plot_embedding(model, X, y[:5])


def test_loadings_as_images_centred_at_zero(model):
    fig = plotting.plot_loadings(model, image_shape=(8, 8))
    assert isinstance(fig, Figure)
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 3
    for d, im in enumerate(images):
        lo, hi = im.get_clim()
        assert lo == -hi and hi == pytest.approx(np.abs(model.components_).max())
        np.testing.assert_allclose(im.get_array(), model.components_[d].reshape(8, 8))


def test_loadings_heatmap_and_bars(model):
    ax = plotting.plot_loadings(model)
    assert isinstance(ax, Axes)
    np.testing.assert_allclose(ax.get_images()[0].get_array(), model.components_.T)
    fig = plotting.plot_loadings(model, dims=[1], kind="bar", n_top=4)
    bars = fig.axes[0].patches
    assert len(bars) == 8
    heights = sorted(b.get_width() for b in bars)
    assert heights[-1] == pytest.approx(model.components_[1].max())
    with pytest.raises(ValueError, match="expected 'heatmap' or 'bar'"):
        plotting.plot_loadings(model, kind="pie")


@pytest.mark.parametrize("shape", [(8, 7), (64,), "8x8"])
def test_wrong_image_shape_is_refused(model, digits, shape):
    with pytest.raises(ValueError, match="image_shape|height"):
        plotting.plot_loadings(model, image_shape=shape)
    with pytest.raises(ValueError, match="image_shape|height"):
        plotting.plot_feature_awareness(model, image_shape=shape)
    with pytest.raises(ValueError, match="image_shape|height"):
        plotting.plot_reconstructions(model, digits[0], image_shape=shape)


def test_feature_awareness_image_and_bars(model, digits):
    X, _ = digits
    ax = plotting.plot_feature_awareness(model, image_shape=(8, 8))
    np.testing.assert_allclose(ax.get_images()[0].get_array(), model.feature_awareness_.reshape(8, 8))
    ax = plotting.plot_feature_awareness(model, X, layer=0, n_top=5)
    assert len(ax.patches) == 5
    assert ax.patches[0].get_height() == pytest.approx(model.feature_awareness(X, layer=0).max(), rel=1e-6)


def test_history_has_every_term_and_the_pretraining_phases(model):
    fig = plotting.plot_history(model)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert "loss" in titles and "beta" in titles and "phase" not in titles
    loss_ax = fig.axes[titles.index("loss")]
    assert len(loss_ax.lines) == 2  # train and validation
    n_pretrain = sum(p != "joint" for p in model.history_["phase"])
    assert n_pretrain == 4 and len(loss_ax.patches) == n_pretrain
    with pytest.raises(ValueError, match="Unknown history terms"):
        plotting.plot_history(model, ["phase"])


def test_reconstructions_beside_originals(model, digits):
    X, _ = digits
    fig = plotting.plot_reconstructions(model, X, n=4, image_shape=(8, 8))
    images = [ax.get_images()[0].get_array() for ax in fig.axes]
    assert len(images) == 8
    np.testing.assert_allclose(images[0], X[0].reshape(8, 8))
    fig = plotting.plot_reconstructions(model, X, n=2)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2


def test_explained_variance_is_ranked(model):
    ax = plotting.plot_explained_variance(model)
    heights = [p.get_height() for p in ax.patches]
    assert heights == sorted(model.explained_variance_ratio_, reverse=True)


def test_plots_need_a_fitted_model(digits):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plotting.plot_loadings(SiVAE())


def test_traversal_interpolation_and_manifold_draw_the_decodings(model, digits):
    X, _ = digits
    fig = plotting.plot_traversal(model, X[0], image_shape=(8, 8), n_steps=5)
    assert isinstance(fig, Figure) and len(fig.axes) == 15  # 3 dimensions x 5 values
    trav = traverse(model, X[0], n_steps=5)
    np.testing.assert_allclose(fig.axes[5 + 2].get_images()[0].get_array(), trav.decoded[1, 2].reshape(8, 8))
    assert len(plotting.plot_traversal(model, X[0], dimensions=[1], values="quantiles", reference=X).axes) == 1
    fig = plotting.plot_interpolation(model, X[0], X[1], image_shape=(8, 8), n_steps=4)
    path = interpolate(model, X[0], X[1], n_steps=4)
    assert len(fig.axes) == 4
    np.testing.assert_allclose(fig.axes[3].get_images()[0].get_array(), path.decoded[3].reshape(8, 8))
    fig = plotting.plot_manifold(model, image_shape=(8, 8), n_per_side=5)
    canvas = fig.axes[0].get_images()[0].get_array()
    grid = manifold_grid(model, n_per_side=5)
    assert canvas.shape == (40, 40)
    np.testing.assert_allclose(canvas[32:, :8], grid.decoded[0, 0].reshape(8, 8))  # smallest b at the bottom
    with pytest.raises(ValueError, match="image_shape"):
        plotting.plot_manifold(model, image_shape=(2, 2))
    with pytest.raises(ValueError, match="image_shape"):
        plotting.plot_traversal(model, X[0], image_shape=(8, 7))


def test_pl_names_the_plotting_functions():
    assert pl.embedding is plotting.plot_embedding and pl.traversal is plotting.plot_traversal
    assert {name for name in dir(pl) if not name.startswith("_")} >= {
        "embedding",
        "loadings",
        "feature_awareness",
        "explained_variance",
        "history",
        "reconstructions",
        "traversal",
        "interpolation",
        "manifold",
    }


# ------------------------------------------------------------ colour images
@pytest.fixture(scope="module")
def rgb():
    """A small synthetic RGB set (8x8x3 coloured shapes) and a model fitted on it."""
    X, y, shape = make_colour_shapes(120, size=8, random_state=0)
    model = SiVAE(2, likelihood="bernoulli", hidden_layer_sizes=(16,), max_epochs=3, random_state=0).fit(X)
    return model, X, shape


@pytest.mark.parametrize(
    ("channels", "n_panels", "ndim"),
    [("sum", 2, 2), ("separate", 6, 2), ("rgb", 2, 3)],
)
def test_colour_loadings_by_channel_view(rgb, channels, n_panels, ndim):
    model, _, shape = rgb
    fig = plotting.plot_loadings(model, image_shape=shape, channels=channels)
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == n_panels and images[0].get_array().ndim == ndim
    loadings = model.components_.reshape(2, 8, 8, 3)
    if channels == "sum":
        np.testing.assert_allclose(images[1].get_array(), loadings[1].sum(axis=2))
        lo, hi = images[0].get_clim()
        assert lo == -hi and hi == pytest.approx(np.abs(loadings.sum(axis=3)).max())
    elif channels == "separate":
        np.testing.assert_allclose(images[4].get_array(), loadings[1][..., 1])  # sivae1, green
        assert [ax.get_title() for ax in fig.axes[:3]] == ["sivae0 R", "sivae0 G", "sivae0 B"]
    else:
        picture = images[0].get_array()
        assert picture.shape == (8, 8, 3) and picture.min() >= 0 and picture.max() <= 1
        signs = np.sign(picture - 0.5)[np.abs(loadings[0]) > 1e-3 * np.abs(loadings[0]).max()]
        np.testing.assert_array_equal(
            signs, np.sign(loadings[0])[np.abs(loadings[0]) > 1e-3 * np.abs(loadings[0]).max()]
        )


def test_colour_feature_awareness_summed_or_per_channel(rgb):
    model, _, shape = rgb
    ax = plotting.plot_feature_awareness(model, image_shape=shape)
    np.testing.assert_allclose(ax.get_images()[0].get_array(), model.feature_awareness_.reshape(8, 8, 3).sum(axis=2))
    fig = plotting.plot_feature_awareness(model, image_shape=shape, channels="separate")
    assert isinstance(fig, Figure) and len([a for a in fig.axes if a.get_images()]) == 3
    with pytest.raises(ValueError, match="channels='cmyk' is not supported"):
        plotting.plot_loadings(model, image_shape=shape, channels="cmyk")


def test_colour_reconstructions_are_rgb_in_the_unit_range(rgb):
    model, X, shape = rgb
    fig = plotting.plot_reconstructions(model, X, n=3, image_shape=shape, rescale="clip")
    pictures = [ax.get_images()[0].get_array() for ax in fig.axes]
    assert len(pictures) == 6 and all(p.shape == (8, 8, 3) for p in pictures)
    np.testing.assert_allclose(pictures[0], X[0].reshape(8, 8, 3))  # data in [0, 1]: shown as they are
    R = model.inverse_transform(model.transform(X[:3]))
    np.testing.assert_allclose(pictures[4], np.clip(R[1].reshape(8, 8, 3), 0, 1), rtol=1e-6)
    # minmax: one shared scale over originals and reconstructions, stretched to [0, 1]
    fig = plotting.plot_reconstructions(model, 0.25 + 0.5 * X, n=3, image_shape=shape)
    stretched = np.stack([ax.get_images()[0].get_array() for ax in fig.axes])
    assert stretched.min() == pytest.approx(0) and stretched.max() == pytest.approx(1)
    with pytest.raises(ValueError, match="rescale='log' is not supported"):
        plotting.plot_reconstructions(model, X, image_shape=shape, rescale="log")


def test_colour_traversal_interpolation_and_manifold(rgb):
    model, X, shape = rgb
    fig = plotting.plot_traversal(model, X[0], image_shape=shape, n_steps=3, rescale="clip")
    trav = traverse(model, X[0], n_steps=3)
    np.testing.assert_allclose(fig.axes[4].get_images()[0].get_array(), trav.decoded[1, 1].reshape(8, 8, 3), rtol=1e-6)
    fig = plotting.plot_interpolation(model, X[0], X[1], image_shape=shape, n_steps=3)
    assert all(ax.get_images()[0].get_array().shape == (8, 8, 3) for ax in fig.axes)
    fig = plotting.plot_manifold(model, image_shape=shape, n_per_side=4, rescale="clip")
    canvas = fig.axes[0].get_images()[0].get_array()
    grid = manifold_grid(model, n_per_side=4)
    assert canvas.shape == (32, 32, 3)
    np.testing.assert_allclose(canvas[24:, :8], grid.decoded[0, 0].reshape(8, 8, 3), rtol=1e-6)  # bottom left
    np.testing.assert_allclose(canvas[:8, 8:16], grid.decoded[3, 1].reshape(8, 8, 3), rtol=1e-6)  # top row


def test_other_channel_counts_are_drawn_as_their_mean(rgb):
    model, X, _ = rgb
    fig = plotting.plot_reconstructions(model, X, n=1, image_shape=(8, 4, 6))  # 192 features as 6 channels
    np.testing.assert_allclose(fig.axes[0].get_images()[0].get_array(), X[0].reshape(8, 4, 6).mean(axis=2))
    with pytest.raises(ValueError, match="needs three channels"):
        plotting.plot_loadings(model, image_shape=(8, 4, 6), channels="rgb")
    with pytest.raises(ValueError, match="height \\* width \\* channels must equal 192"):
        plotting.plot_loadings(model, image_shape=(8, 8, 2))


# ------------------------------------------------------------ AnnData form
@pytest.fixture(scope="module")
def annotated():
    """Cells annotated by tl.sivae (4 dimensions; 5 of 30 genes left out by a highly-variable mask)."""
    import anndata as ad
    import pandas as pd

    from sivae_sklearn import tl
    from tests.presets import SMALL, make_counts

    counts, labels = make_counts(150, 30, seed=0)
    adata = ad.AnnData(
        np.log1p(counts),
        obs=pd.DataFrame(
            {"cell_type": pd.Categorical([f"type{t}" for t in labels]), "depth": counts.sum(axis=1)},
            index=[f"c{i}" for i in range(150)],
        ),
        var=pd.DataFrame({"highly_variable": np.arange(30) >= 5}, index=[f"GENE{j}" for j in range(30)]),
    )
    tl.sivae(adata, 4, **SMALL)
    # a known ranking, so that the default dimensions are not (0, 1) by chance
    adata.uns["sivae"]["variance_ratio"] = np.array([0.1, 0.2, 0.05, 0.4])
    adata.uns["cell_type_colors"] = np.array(["#aa0000", "#00aa00", "#0000aa"], dtype=object)
    return adata


def _outside(fig, legend, axes) -> bool:
    """The legend's drawn box overlaps none of the axes' boxes."""
    fig.canvas.draw()
    box = legend.get_window_extent()
    return not any(box.overlaps(a.get_window_extent()) for a in axes)


def _offsets(ax) -> np.ndarray:
    return np.vstack([c.get_offsets() for c in ax.collections if len(c.get_offsets())])


def test_adata_embedding_delegates_to_scanpy_with_the_top_dimensions(annotated):
    pytest.importorskip("scanpy")
    adata = annotated.copy()
    ax = pl.embedding(adata, color="cell_type")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("sivae3", "sivae1")  # most variance explained first
    drawn = _offsets(ax)
    Z = adata.obsm["X_sivae"]
    np.testing.assert_allclose(np.sort(drawn[:, 0]), np.sort(Z[:, 3]), rtol=1e-6)
    np.testing.assert_allclose(np.sort(drawn[:, 1]), np.sort(Z[:, 1]), rtol=1e-6)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["type0", "type1", "type2"]
    assert _outside(ax.figure, legend, [ax])
    colours = [matplotlib.colors.to_hex(h.get_facecolor()[0]) for h in legend.legend_handles]
    assert colours == ["#aa0000", "#00aa00", "#0000aa"]  # adata.uns["cell_type_colors"]
    ax = pl.embedding(adata, color="GENE7", dims=("sivae0", 2))
    assert ax.get_xlabel() == "sivae0" and ax.get_ylabel() == "sivae2"


def test_adata_embedding_in_matplotlib_without_scanpy(annotated, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "scanpy", None)  # import scanpy now raises ImportError
    adata = annotated.copy()
    before = set(adata.uns)
    ax = pl.embedding(adata, color="cell_type")
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("sivae3", "sivae1")
    assert len(ax.collections) == 3  # one group per category
    first = adata.obs["cell_type"].to_numpy() == "type0"
    np.testing.assert_allclose(ax.collections[0].get_offsets(), adata.obsm["X_sivae"][first][:, [3, 1]], rtol=1e-6)
    assert matplotlib.colors.to_hex(ax.collections[1].get_facecolor()[0]) == "#00aa00"
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["type0", "type1", "type2"]
    assert _outside(ax.figure, legend, [ax])
    assert set(adata.uns) == before  # nothing written into adata
    ax = pl.embedding(adata, color="depth")  # numbers: a colour bar, no legend
    assert ax.get_legend() is None and len(ax.figure.axes) == 2
    np.testing.assert_allclose(np.sort(ax.collections[0].get_array()), np.sort(adata.obs["depth"]))
    axes = pl.embedding(adata, color=["cell_type", "GENE3"])
    assert len(axes) == 2 and axes[1].get_title() == "GENE3"


def test_adata_embedding_errors_name_the_fix(annotated):
    with pytest.raises(ValueError, match="neither a column of adata.obs"):
        pl.embedding(annotated, color="no_such_thing")
    with pytest.raises(ValueError, match="run sivae_sklearn.tl.sivae"):
        pl.embedding(annotated, key_added="other")
    with pytest.raises(ValueError, match="exactly two"):
        pl.embedding(annotated, dims=(0, 1, 2))
    with pytest.raises(ValueError, match="Unknown dimension"):
        pl.embedding(annotated, dims=("sivae0", "z1"))
    with pytest.raises(TypeError, match="labels="):
        pl.embedding(SiVAE(), np.zeros((2, 2)), color="x")


def test_adata_loadings_are_labelled_by_gene_and_ranked_by_variance(annotated):
    fig = pl.loadings(annotated, n_top=3)
    titles = [a.get_title() for a in fig.axes if a.get_visible()]
    assert titles == ["sivae3", "sivae1", "sivae0"]  # the three with the most variance explained
    loadings = annotated.varm["sivae_loadings"]
    for ax, d in zip(fig.axes, (3, 1, 0)):
        genes = [t.get_text() for t in ax.get_yticklabels()]
        widths = [p.get_width() for p in ax.patches]
        assert len(genes) == len(widths) <= 6
        assert all(g in annotated.var_names[5:] for g in genes)  # names, never the masked-out genes
        kept = loadings[5:, d]
        assert max(widths) == pytest.approx(kept.max()) and min(widths) == pytest.approx(kept.min())
        for gene, width in zip(genes, widths):
            assert width == pytest.approx(loadings[annotated.var_names.get_loc(gene), d])
    ax = pl.loadings(annotated, kind="heatmap")
    np.testing.assert_allclose(ax.get_images()[0].get_array(), loadings)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(annotated.var_names)


def test_adata_feature_awareness_and_variance_explained(annotated):
    ax = pl.feature_awareness(annotated, n_top=5)
    fa = annotated.var["sivae_feature_awareness"]
    genes = [t.get_text() for t in ax.get_xticklabels()]
    assert genes == list(fa.sort_values(ascending=False).index[:5])  # NaN (masked-out) genes never ranked
    np.testing.assert_allclose([p.get_height() for p in ax.patches], fa[genes])
    with pytest.raises(ValueError, match="estimator"):
        pl.feature_awareness(annotated, layer=0)
    ax = pl.variance_explained(annotated)
    assert [p.get_height() for p in ax.patches] == [0.4, 0.2, 0.1, 0.05]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sivae3", "sivae1", "sivae0", "sivae2"]
    assert pl.explained_variance is pl.variance_explained
    fig = pl.history(annotated)
    assert "loss" in [a.get_title() for a in fig.axes]


def test_estimator_defaults_pick_the_top_dimensions_and_put_legends_outside(model, digits):
    X, y = digits
    top = np.argsort(-model.explained_variance_ratio_, kind="stable")
    ax = pl.embedding(model, X, y)
    names = model.get_feature_names_out()
    assert (ax.get_xlabel(), ax.get_ylabel()) == (names[top[0]], names[top[1]])
    assert _outside(ax.figure, ax.get_legend(), [ax])
    fig = pl.loadings(model, kind="bar", n_top=2)
    assert [a.get_title() for a in fig.axes if a.get_visible()] == [names[i] for i in top[:3]]
    fig = pl.history(model)
    assert _outside(fig, fig.legends[0], [a for a in fig.axes if a.get_visible()])
    fig = pl.reconstructions(model, X, n=2)
    assert _outside(fig, fig.legends[0], fig.axes)
