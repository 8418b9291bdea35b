"""SiVAE(feature_input=E): external feature embeddings as the input of the feature-wise encoder."""

import pickle

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from sivae_sklearn import ModelFileError, SiVAE, load, tl
from sivae_sklearn.cli import main
from tests.test_serialization import assert_refused_file, read_members, write_members

SMALL = {"hidden_layer_sizes": (8,), "max_epochs": 3, "random_state": 0}
ATOL = 1e-5  # the fused input of a training feature is reproduced exactly; the encoder runs in float32
NAMES = [f"g{i}" for i in range(8)]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 8)), rng.normal(size=(8, 3)), rng.normal(size=(8, 5))


@pytest.fixture(scope="module")
def fused(data):
    X, E, F = data
    frame = pd.DataFrame(X, columns=NAMES)
    first = pd.DataFrame(E, index=NAMES).iloc[::-1]  # reordered: aligned by name
    return SiVAE(2, feature_input=[first, F], **SMALL).fit(frame)


def test_an_embedding_replaces_the_data_derived_input(data):
    X, E, _ = data
    model = SiVAE(2, feature_input=E, **SMALL).fit(X)
    inputs = model._network.feature_inputs.numpy()
    assert inputs.shape == (8, 3) and not hasattr(model, "feature_reducer_")
    np.testing.assert_allclose(inputs, (E - E.mean(0)) / E.std(0), atol=1e-6)  # one block: standardised columns
    assert model.feature_input_widths_ == [3]
    # a training feature's own embedding row gives back its loadings; a new one gets loadings from its row alone
    np.testing.assert_allclose(model.embed_features(embedding=E), model.components_, atol=ATOL)
    new, std = model.embed_features(embedding=np.ones((2, 3)), return_std=True)
    assert new.shape == std.shape == (2, 2) and np.all(std > 0)


def test_a_dataframe_is_aligned_by_name_and_extra_rows_are_ignored(data):
    X, E, _ = data
    frame = pd.DataFrame(X, columns=NAMES)
    aligned = SiVAE(2, feature_input=E, **SMALL).fit(frame)
    shuffled = pd.DataFrame(E, index=NAMES).sample(frac=1.0, random_state=1)
    shuffled.loc["not_in_X"] = 99.0
    by_name = SiVAE(2, feature_input=shuffled, **SMALL).fit(frame)
    np.testing.assert_array_equal(by_name.components_, aligned.components_)


def test_a_missing_feature_is_refused_by_name_before_training(data):
    X, E, _ = data
    model = SiVAE(2, feature_input=pd.DataFrame(E[:6], index=NAMES[:6]), **SMALL)
    with pytest.raises(ValueError, match=r"no row for 2 of the 8 features \('g6', 'g7'\)"):
        model.fit(pd.DataFrame(X, columns=NAMES))
    assert not hasattr(model, "components_") and not hasattr(model, "n_features_in_")


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.zeros((7, 3)), "has 7 rows, but X has 8 features"),
        (np.full((8, 3), np.nan), "NaN or infinite"),
        (np.full((8, 3), np.inf), "NaN or infinite"),
        (np.array([["a"] * 3] * 8), "must be numeric"),
        (np.zeros((8, 0)), "no column"),
        (np.zeros((8, 3), dtype=bool), "must be numeric"),
        ([np.zeros((8, 3)), np.zeros((5, 2))], r"feature_input\[1\] has 5 rows"),
    ],
)
def test_a_bad_embedding_is_refused_naming_the_argument(data, value, match):
    with pytest.raises(ValueError, match=match):
        SiVAE(2, feature_input=value, **SMALL).fit(data[0])


@pytest.mark.parametrize(
    "value",
    [
        np.zeros(8),
        [],
        "magic",
        [np.zeros(8)],
        [np.zeros((8, 3)), "magic"],
        ["pca"],
        ["pca", "subsample", np.zeros((8, 3))],
        3,
    ],
)
def test_a_feature_input_of_no_accepted_form_is_an_invalid_parameter(data, value):
    with pytest.raises(InvalidParameterError, match="feature_input"):
        SiVAE(2, feature_input=value, **SMALL).fit(data[0])


def test_a_fused_list_gives_each_embedding_the_same_total_variance(fused, data):
    X, E, F = data
    inputs = fused._network.feature_inputs.numpy().astype(np.float64)
    assert inputs.shape == (8, 8) and fused.feature_input_widths_ == [3, 5]
    np.testing.assert_allclose(inputs.mean(0), 0, atol=1e-6)
    np.testing.assert_allclose([np.sum(inputs[:, :3] ** 2) / 8, np.sum(inputs[:, 3:] ** 2) / 8], [4.0, 4.0], rtol=1e-5)
    np.testing.assert_allclose(
        fused.embed_features(embedding=[E[[2, 5]], F[[2, 5]]]), fused.components_[:, [2, 5]], atol=ATOL
    )
    with pytest.raises(ValueError, match="has 1 block"):
        fused.embed_features(embedding=E)
    with pytest.raises(ValueError, match=r"embedding\[1\] has 4 columns, but the model's feature_input had 5"):
        fused.embed_features(embedding=[E[:1], F[:1, :4]])


@pytest.fixture(scope="module")
def beside(data):
    """The data-derived input and an embedding side by side, by name (``["pca", E]``)."""
    X, E, _ = data
    frame = pd.DataFrame(E, index=NAMES).iloc[::-1]
    return SiVAE(2, feature_input=["pca", frame], **SMALL).fit(pd.DataFrame(X, columns=NAMES))


def test_the_data_derived_input_and_an_embedding_are_read_side_by_side(beside, data):
    X, E, _ = data
    inputs = beside._network.feature_inputs.numpy()
    reduced = beside.feature_reducer_.width_
    assert inputs.shape == (8, reduced + 3) and beside.feature_input_widths_ == [3]
    # the reduced columns first, as the data-derived input alone gives them; then the standardised embedding
    plain = SiVAE(2, **SMALL).fit(X)
    np.testing.assert_allclose(inputs[:, :reduced], plain._network.feature_inputs.numpy(), atol=1e-6)
    np.testing.assert_allclose(inputs[:, reduced:], (E - E.mean(0)) / E.std(0), atol=1e-6)
    # new features need both their values and their embedding; a training feature's own gives its loadings
    np.testing.assert_allclose(
        beside.embed_features(X[:, [1, 6]], embedding=E[[1, 6]]), beside.components_[:, [1, 6]], atol=ATOL
    )
    with pytest.raises(ValueError, match=r"needs embedding=.*and X_columns"):
        beside.embed_features(X[:, :1])
    with pytest.raises(ValueError, match=r"needs X_columns.*and embedding="):
        beside.embed_features(embedding=E[:1])
    with pytest.raises(ValueError, match="X_columns has 2 columns but embedding has 1 rows"):
        beside.embed_features(X[:, :2], embedding=E[:1])


def test_save_load_and_pickle_keep_both_inputs(beside, data, tmp_path):
    X = pd.DataFrame(data[0], columns=NAMES)
    beside.save(tmp_path / "m.sivae")
    loaded = load(tmp_path / "m.sivae")
    method, frame = loaded.feature_input
    assert method == "pca" and list(frame.index) == NAMES
    np.testing.assert_allclose(frame.to_numpy(), data[1], atol=1e-5)
    np.testing.assert_array_equal(loaded.transform(X), beside.transform(X))
    np.testing.assert_allclose(
        loaded.embed_features(data[0][:, [3]], embedding=data[1][[3]]), beside.components_[:, [3]], atol=ATOL
    )
    again = pickle.loads(pickle.dumps(beside))
    np.testing.assert_array_equal(again.transform(X), beside.transform(X))
    np.testing.assert_allclose(SiVAE(**loaded.get_params()).fit(X).components_, beside.components_, atol=1e-5)
    # a file whose reducer was taken away is refused, naming what is missing
    meta, arrays = read_members(tmp_path / "m.sivae")
    meta["feature_reducer"] = None
    write_members(tmp_path / "edited.sivae", meta, {k: v for k, v in arrays.items() if not k.startswith("reducer/")})
    assert_refused_file(tmp_path / "edited.sivae", "no feature_reducer, but its feature_input reads 'pca'")
    # a file that says the embeddings stand alone but holds a reducer too is refused as well
    meta, arrays = read_members(tmp_path / "m.sivae")
    meta["params"]["feature_input"] = "external"
    write_members(tmp_path / "edited.sivae", meta, arrays)
    assert_refused_file(tmp_path / "edited.sivae", "holds a feature_reducer")


def test_columns_and_embeddings_are_each_refused_where_they_do_not_apply(data):
    X, E, _ = data
    external = SiVAE(2, feature_input=E, **SMALL).fit(X)
    with pytest.raises(ValueError, match="reads external embeddings"):
        external.embed_features(X[:, :2])
    with pytest.raises(ValueError, match="needs embedding="):
        external.embed_features()
    with pytest.raises(ValueError, match="NaN or infinite"):
        external.embed_features(embedding=np.full((1, 3), np.nan))
    plain = SiVAE(2, **SMALL).fit(X)
    with pytest.raises(ValueError, match="only for models fitted with external embeddings"):
        plain.embed_features(embedding=E)


def test_a_refit_switches_between_inputs_without_stale_attributes(data):
    X, E, _ = data
    model = SiVAE(2, feature_input=E, **SMALL).fit(X)
    model.set_params(feature_input="pca").fit(X)
    assert hasattr(model, "feature_reducer_") and not hasattr(model, "feature_input_center_")
    model.set_params(feature_input=E).fit(X)
    assert not hasattr(model, "feature_reducer_") and model.feature_input_widths_ == [3]


def test_clone_get_params_and_pickle_keep_the_embedding(fused, data):
    X = pd.DataFrame(data[0], columns=NAMES)
    params = clone(fused).get_params()
    assert isinstance(params["feature_input"], list) and len(params["feature_input"]) == 2
    np.testing.assert_array_equal(clone(fused).fit(X).components_, fused.components_)
    again = pickle.loads(pickle.dumps(fused))
    np.testing.assert_array_equal(again.transform(X), fused.transform(X))
    np.testing.assert_array_equal(again.embed_features(embedding=[data[1], data[2]]), fused.components_)


def test_save_and_load_restore_the_aligned_embeddings(fused, data, tmp_path):
    X = pd.DataFrame(data[0], columns=NAMES)
    fused.save(tmp_path / "m.sivae")
    loaded = load(tmp_path / "m.sivae")
    np.testing.assert_array_equal(loaded.transform(X), fused.transform(X))
    first, second = loaded.feature_input
    assert list(first.index) == NAMES  # aligned to feature_names_in_, as the fit used it
    np.testing.assert_allclose(first.to_numpy(), data[1], atol=1e-5)
    np.testing.assert_allclose(second.to_numpy(), data[2], atol=1e-5)
    np.testing.assert_allclose(loaded.embed_features(embedding=[data[1], data[2]]), fused.components_, atol=ATOL)
    # a refit of the loaded model's parameters is the same model
    np.testing.assert_allclose(SiVAE(**loaded.get_params()).fit(X).components_, fused.components_, atol=1e-5)


EDITS = {
    "center_short": lambda m, a: a.update({"attr/feature_input_center_": a["attr/feature_input_center_"][:-1]}),
    "scale_2d": lambda m, a: a.update({"attr/feature_input_scale_": a["attr/feature_input_scale_"][:, None]}),
    "scale_zero": lambda m, a: a.update({"attr/feature_input_scale_": 0 * a["attr/feature_input_scale_"]}),
    "widths_sum": lambda m, a: m["attributes"].update(feature_input_widths_=[3, 4]),
    "widths_text": lambda m, a: m["attributes"].update(feature_input_widths_="3,5"),
    "no_widths": lambda m, a: m["attributes"].pop("feature_input_widths_"),
    "not_external": lambda m, a: m["params"].update(feature_input="pca"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_embedding_file_is_refused(fused, tmp_path, edit):
    fused.save(tmp_path / "m.sivae")
    meta, arrays = read_members(tmp_path / "m.sivae")
    EDITS[edit](meta, arrays)
    write_members(tmp_path / "edited.sivae", meta, arrays)
    if edit == "scale_zero":  # a value only the read array shows
        with pytest.raises(ModelFileError, match="feature_input_scale_ positive"):
            load(tmp_path / "edited.sivae")
    else:
        assert_refused_file(tmp_path / "edited.sivae")


@pytest.fixture
def adata():
    rng = np.random.default_rng(0)
    adata = ad.AnnData(rng.poisson(2.0, size=(50, 10)).astype(np.float32))
    adata.var_names = [f"gene{i}" for i in range(10)]
    adata.var["highly_variable"] = np.arange(10) < 7
    adata.varm["emb"] = rng.normal(size=(10, 4))
    return adata


def test_tl_reads_varm_after_the_mask_and_embeds_every_gene(adata):
    model = tl.sivae(adata, 2, feature_input="varm:emb", likelihood="nb", embed_all_genes=True, **SMALL)
    np.testing.assert_array_equal(model.feature_input, adata.varm["emb"][:7])
    loadings = adata.varm["sivae_loadings"]
    # the genes outside the mask get loadings from their embedding rows, even under a count likelihood
    np.testing.assert_allclose(loadings[7:], model.embed_features(embedding=adata.varm["emb"][7:]).T)
    np.testing.assert_allclose(loadings[:7], model.components_.T)
    assert adata.uns["sivae"]["params"]["feature_input"] == "varm:emb"
    assert adata.var["sivae_embedded"].sum() == 3


def test_tl_aligns_a_dataframe_by_gene_name_and_refuses_an_unknown_key(adata):
    frame = pd.DataFrame(adata.varm["emb"], index=adata.var_names).iloc[::-1]
    model = tl.sivae(adata, 2, feature_input=[frame], **SMALL)
    np.testing.assert_array_equal(model.feature_input, adata.varm["emb"][:7])
    with pytest.raises(ValueError, match="adata.varm has no key 'nope'; available: \\['emb'"):
        tl.sivae(adata, 2, feature_input="varm:nope", overwrite=True, **SMALL)


def test_tl_reads_the_genes_values_beside_a_varm_embedding_and_embeds_every_gene(adata):
    adata.X = np.log1p(adata.X)
    model = tl.sivae(adata, 2, feature_input=["pca", "varm:emb"], embed_all_genes=True, **SMALL)
    method, rows = model.feature_input
    assert method == "pca" and hasattr(model, "feature_reducer_")
    np.testing.assert_array_equal(rows, adata.varm["emb"][:7])
    loadings = adata.varm["sivae_loadings"]
    # the genes outside the mask get loadings from their values and their embedding rows
    np.testing.assert_allclose(
        loadings[7:], model.embed_features(np.asarray(adata.X[:, 7:]), embedding=adata.varm["emb"][7:]).T, atol=1e-6
    )
    assert adata.uns["sivae"]["params"]["feature_input"].tolist() == ["pca", "varm:emb"]
    # their values need a gaussian likelihood, as for the data-derived input alone
    not_counts = pytest.warns(UserWarning, match="expects integer counts")
    with not_counts, pytest.raises(ValueError, match="embed_all_genes=True is not available for likelihood='nb'"):
        tl.sivae(adata, 2, feature_input=["pca", "varm:emb"], likelihood="nb", embed_all_genes=True, overwrite=True)


def test_the_command_line_refuses_an_unknown_varm_key_before_fitting(adata, tmp_path, capsys):
    adata.write_h5ad(tmp_path / "in.h5ad")
    status = main(["fit", str(tmp_path / "in.h5ad"), "-o", str(tmp_path / "o.h5ad"), "--feature-input", "varm:x"])
    assert status == 1 and "has no varm entry 'x'; its varm keys: ['emb']" in capsys.readouterr().err
    status = main(
        ["fit", str(tmp_path / "in.h5ad"), "-o", str(tmp_path / "o.h5ad"), "--feature-input", "varm:emb"]
        + ["--n-components", "2", "--max-epochs", "2", "--hidden-layer-sizes", "8", "--random-state", "0"]
    )
    assert status == 0
    assert ad.read_h5ad(tmp_path / "o.h5ad").uns["sivae"]["params"]["feature_input"] == "varm:emb"
    status = main(
        ["fit", str(tmp_path / "in.h5ad"), "-o", str(tmp_path / "both.h5ad"), "--feature-input", "pca+varm:nope"]
    )
    assert status == 1 and "--feature-input pca+varm:nope" in capsys.readouterr().err
    status = main(
        ["fit", str(tmp_path / "in.h5ad"), "-o", str(tmp_path / "both.h5ad"), "--feature-input", "pca+varm:emb"]
        + ["--n-components", "2", "--max-epochs", "2", "--hidden-layer-sizes", "8", "--random-state", "0"]
    )
    assert status == 0
    assert ad.read_h5ad(tmp_path / "both.h5ad").uns["sivae"]["params"]["feature_input"].tolist() == ["pca", "varm:emb"]
