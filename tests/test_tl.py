"""sivae_sklearn.tl.sivae: AnnData in and out the scanpy way."""

import subprocess
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sivae_sklearn import SiVAE, tl
from sivae_sklearn.tl import result_keys
from tests.presets import BATCH_CORRECTION, GENOMICS, make_batched_cells, make_counts


def make_adata(n_cells=200, n_genes=50, sparse=True):
    counts, labels = make_counts(n_cells, n_genes, seed=0)
    X = np.log1p(1e4 * counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)).astype(np.float32)
    adata = ad.AnnData(
        X=sp.csr_matrix(X) if sparse else X,
        obs=pd.DataFrame({"cell_type": pd.Categorical(labels.astype(str))}, index=[f"c{i}" for i in range(n_cells)]),
        var=pd.DataFrame(index=[f"g{j}" for j in range(n_genes)]),
    )
    adata.layers["counts"] = sp.csr_matrix(counts) if sparse else counts
    return adata


def snapshot(adata):
    def dense(m):
        return m.toarray() if sp.issparse(m) else np.array(m)

    return dense(adata.X), {k: dense(v) for k, v in adata.layers.items()}


def test_writes_like_pca_and_returns_estimator():
    adata = make_adata()
    X_before, layers_before = snapshot(adata)
    model = tl.sivae(adata, 3, **GENOMICS)
    assert isinstance(model, SiVAE)
    assert adata.obsm["X_sivae"].shape == (200, 3)
    np.testing.assert_allclose(adata.obsm["X_sivae"], model.transform(adata.X), rtol=1e-6)
    np.testing.assert_array_equal(adata.varm["sivae_loadings"], model.components_.T.astype(np.float32))
    np.testing.assert_allclose(adata.var["sivae_feature_awareness"], model.feature_awareness_)
    uns = adata.uns["sivae"]
    assert uns["params"]["n_components"] == 3 and uns["params"]["max_epochs"] == 5
    assert "layer" not in uns["params"] and uns["params"]["use_highly_variable"] is False
    assert len(uns["history"]["loss"]) == model.n_iter_ == uns["n_iter"]
    # X and layers untouched
    X_after, layers_after = snapshot(adata)
    np.testing.assert_array_equal(X_after, X_before)
    for k in layers_before:
        np.testing.assert_array_equal(layers_after[k], layers_before[k])


def test_variance_explained_recorded_in_uns():
    adata = make_adata()
    model = tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=1))
    np.testing.assert_allclose(adata.uns["sivae"]["variance_ratio"], model.explained_variance_ratio_)
    np.testing.assert_allclose(adata.uns["sivae"]["variance"], model.explained_variance_)


def test_copy_returns_annotated_copy_and_leaves_input_alone():
    adata = make_adata()
    out = tl.sivae(adata, 2, copy=True, **dict(GENOMICS, max_epochs=2))
    assert isinstance(out, ad.AnnData) and out is not adata
    assert "X_sivae" in out.obsm and "X_sivae" not in adata.obsm
    assert "sivae" not in adata.uns and "sivae_feature_awareness" not in adata.var


def test_key_added_renames_everything_and_existing_keys_are_protected():
    adata = make_adata()
    tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=2))
    first = adata.obsm["X_sivae"].copy()
    with pytest.raises(ValueError, match="already exist"):
        tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=2))
    np.testing.assert_array_equal(adata.obsm["X_sivae"], first)  # not touched by the failed call
    tl.sivae(adata, 3, key_added="sivae3", **dict(GENOMICS, max_epochs=2))
    assert adata.obsm["X_sivae3"].shape == (200, 3) and adata.varm["sivae3_loadings"].shape == (50, 3)
    assert "sivae3_feature_awareness" in adata.var and "sivae3" in adata.uns
    np.testing.assert_array_equal(adata.obsm["X_sivae"], first)
    tl.sivae(adata, 2, overwrite=True, **dict(GENOMICS, max_epochs=2, random_state=1))
    assert not np.allclose(adata.obsm["X_sivae"], first)


def test_existing_key_from_another_tool_is_protected():
    adata = make_adata()
    adata.uns["sivae"] = {"mine": 1}
    with pytest.raises(ValueError, match=r"uns\['sivae'\]"):
        tl.sivae(adata, 2, **GENOMICS)
    assert adata.uns["sivae"] == {"mine": 1}


def test_highly_variable_mask():
    adata = make_adata()
    hv = np.zeros(50, bool)
    hv[::2] = True
    adata.var["highly_variable"] = hv
    model = tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=2))  # None: uses the column when present
    assert model.n_features_in_ == 25
    loadings = adata.varm["sivae_loadings"]
    assert np.all(loadings[~hv] == 0) and np.any(loadings[hv] != 0)
    fa = adata.var["sivae_feature_awareness"].to_numpy()
    assert np.all(np.isnan(fa[~hv])) and np.all(np.isfinite(fa[hv]))
    assert adata.uns["sivae"]["params"]["n_genes"] == 25
    model = tl.sivae(adata, 2, use_highly_variable=False, key_added="all", **dict(GENOMICS, max_epochs=2))
    assert model.n_features_in_ == 50


def test_mask_errors():
    adata = make_adata()
    with pytest.raises(ValueError, match="no 'highly_variable' column"):
        tl.sivae(adata, 2, use_highly_variable=True, **GENOMICS)
    adata.var["highly_variable"] = False
    with pytest.raises(ValueError, match="keeps no gene"):
        tl.sivae(adata, 2, **GENOMICS)
    adata.var["highly_variable"] = ["maybe"] * 50
    with pytest.raises(ValueError, match=r"adata.var\['highly_variable'\] must be boolean .* 'maybe'"):
        tl.sivae(adata, 2, **GENOMICS)


def test_highly_variable_stored_as_words_is_read_not_cast():
    """bool("False") is True: a column of the words "True"/"False" (a CSV round trip) must not keep every gene."""
    adata = make_adata()
    adata.var["highly_variable"] = np.where(np.arange(50) % 5 == 0, "True", "False")
    model = tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=1))
    assert model.n_features_in_ == 10 and adata.uns["sivae"]["params"]["n_genes"] == 10


def test_layer_counts_nb_and_bad_layer():
    adata = make_adata()
    model = tl.sivae(adata, 2, layer="counts", likelihood="nb", **dict(GENOMICS, max_epochs=2))
    assert model.likelihood == "nb" and adata.uns["sivae"]["params"]["layer"] == "counts"
    with pytest.raises(ValueError, match="Layer 'raw' not found.*counts"):
        tl.sivae(adata, 2, layer="raw", key_added="x", **GENOMICS)


def test_count_layer_checks_name_the_layer():
    adata = make_adata()
    # adata.X is log-normalised: non-integer -> warning naming adata.X
    with pytest.warns(UserWarning, match=r"adata\.X holds non-integer"):
        tl.sivae(adata, 2, likelihood="poisson", **dict(GENOMICS, max_epochs=1))
    adata.layers["scaled"] = sp.csr_matrix(adata.X.toarray() - 1.0)
    with pytest.raises(ValueError, match=r"adata\.layers\['scaled'\] holds negative"):
        tl.sivae(adata, 2, layer="scaled", likelihood="nb", key_added="n", **GENOMICS)
    assert "X_n" not in adata.obsm


def test_zero_variance_genes_and_empty_cells_warn_and_stay_finite():
    adata = make_adata(sparse=False)
    counts = adata.layers["counts"]
    counts[:, 0] = 0.0
    counts[:4] = 0.0
    with pytest.warns(UserWarning) as record:
        tl.sivae(adata, 2, layer="counts", likelihood="nb", **dict(GENOMICS, max_epochs=2))
    messages = " ".join(str(w.message) for w in record)
    assert "1 gene(s)" in messages and "constant" in messages
    assert "4 cell(s)" in messages and "zero total counts" in messages
    assert np.all(np.isfinite(adata.obsm["X_sivae"])) and np.all(np.isfinite(adata.varm["sivae_loadings"]))


def test_non_unique_var_names_and_bad_params():
    adata = make_adata()
    adata.var_names = ["g0"] * 2 + [f"g{j}" for j in range(2, 50)]
    with pytest.raises(ValueError, match="var_names_make_unique"):
        tl.sivae(adata, 2, **GENOMICS)
    adata = make_adata()
    with pytest.raises(ValueError, match="Unknown SiVAE parameter"):
        tl.sivae(adata, 2, n_epochs=3)
    with pytest.raises(TypeError, match="AnnData"):
        tl.sivae(np.zeros((5, 5)), 2)


def test_h5ad_round_trip(tmp_path):
    adata = make_adata()
    hv = np.ones(50, bool)
    hv[:5] = False
    adata.var["highly_variable"] = hv
    tl.sivae(adata, 2, **dict(GENOMICS, hidden_layer_sizes=(), max_epochs=2))  # () -> empty int array in uns
    path = tmp_path / "out.h5ad"
    adata.write_h5ad(path)
    back = ad.read_h5ad(path)
    keys = result_keys("sivae")
    np.testing.assert_array_equal(back.obsm[keys["obsm"]], adata.obsm[keys["obsm"]])
    np.testing.assert_array_equal(back.varm[keys["varm"]], adata.varm[keys["varm"]])
    np.testing.assert_array_equal(back.var[keys["var"]].to_numpy(), adata.var[keys["var"]].to_numpy())
    uns = back.uns["sivae"]
    assert list(uns["history"]["phase"]) == ["joint"] * len(uns["history"]["loss"])
    np.testing.assert_allclose(uns["history"]["loss"], adata.uns["sivae"]["history"]["loss"])
    assert uns["params"]["likelihood"] == "gaussian" and uns["params"]["random_state"] == 0
    tl.sivae(back, 2, key_added="u", **dict(GENOMICS, random_state=None, max_epochs=1))
    assert "random_state" not in back.uns["u"]["params"]  # None is left out: h5ad cannot store it
    back.write_h5ad(tmp_path / "again.h5ad")


@pytest.mark.slow
def test_scanpy_neighbors_and_umap_on_result():
    sc = pytest.importorskip("scanpy")
    adata = make_adata(n_cells=120)
    tl.sivae(adata, 3, **dict(GENOMICS, max_epochs=2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.pp.neighbors(adata, use_rep="X_sivae", n_neighbors=10)
        sc.tl.umap(adata, random_state=0)
    assert adata.obsp["connectivities"].shape == (120, 120)
    assert adata.uns["neighbors"]["params"]["use_rep"] == "X_sivae"
    assert adata.obsm["X_umap"].shape == (120, 2) and np.all(np.isfinite(adata.obsm["X_umap"]))


def test_package_import_does_not_import_scanpy():
    code = "import sys, sivae_sklearn, sivae_sklearn.tl, sivae_sklearn.cli; print('scanpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def _two_batches(seed=0):
    X, cell, batch = make_batched_cells(seed)
    adata = ad.AnnData(X.astype(np.float32))
    adata.obs["batch"] = pd.Categorical([f"b{b}" for b in batch])
    adata.obs["cell_type"] = cell
    return adata


@pytest.mark.slow
def test_batch_key_corrects_the_embedding_for_the_batch():
    from sivae_sklearn.metrics import knn_accuracy

    params = BATCH_CORRECTION
    adata = _two_batches()
    tl.sivae(adata, 2, key_added="plain", **params)
    model = tl.sivae(adata, 2, batch_key="batch", key_added="corrected", **params)
    assert list(model.condition_categories_) == ["b0", "b1"]
    assert adata.uns["corrected"]["params"]["batch_key"] == "batch"
    batch = adata.obs["batch"].to_numpy()
    plain, corrected = adata.obsm["X_plain"], adata.obsm["X_corrected"]
    assert knn_accuracy(plain, batch) > 0.9
    assert knn_accuracy(corrected, batch) < 0.8  # chance is 0.5
    assert knn_accuracy(corrected, adata.obs["cell_type"].to_numpy()) > 0.9


def test_batch_key_errors():
    adata = _two_batches()
    with pytest.raises(ValueError, match="not a column of adata.obs"):
        tl.sivae(adata, 2, batch_key="nope", **GENOMICS)
    adata.obs["gap"] = pd.Series([None] + ["a"] * (adata.n_obs - 1), index=adata.obs_names, dtype=object)
    with pytest.raises(ValueError, match="missing values"):
        tl.sivae(adata, 2, batch_key="gap", **GENOMICS)


def test_sivae_transform_writes_what_sivae_writes_without_training():
    adata = make_adata()
    hv = np.arange(50) % 3 != 0
    adata.var["highly_variable"] = hv
    model = tl.sivae(adata, 2, layer="counts", likelihood="nb", **dict(GENOMICS, max_epochs=2))
    history = {k: list(v) for k, v in model.history_.items()}
    out = tl.sivae_transform(adata, model, layer="counts", key_added="t", copy=True)
    assert "X_t" not in adata.obsm  # copy=True leaves the input alone
    np.testing.assert_allclose(out.obsm["X_t"], adata.obsm["X_sivae"], rtol=1e-6)
    np.testing.assert_array_equal(out.varm["t_loadings"], adata.varm["sivae_loadings"])
    np.testing.assert_array_equal(out.var["t_feature_awareness"], adata.var["sivae_feature_awareness"])
    assert out.uns["t"]["params"]["n_genes"] == hv.sum() and out.uns["t"]["params"]["layer"] == "counts"
    assert {k: list(v) for k, v in model.history_.items()} == history  # nothing trained
    # new cells: same genes, written in place
    new = make_adata(60)
    new.var["highly_variable"] = hv
    assert tl.sivae_transform(new, model, layer="counts") is None
    np.testing.assert_allclose(new.obsm["X_sivae"], model.transform(new.layers["counts"][:, hv]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="already exist"):
        tl.sivae_transform(new, model, layer="counts")
    # the model knows its 33 genes by name: the mask is reused even where the data has no mask column
    bare = make_adata(20)
    tl.sivae_transform(bare, model, layer="counts", key_added="x")
    np.testing.assert_allclose(bare.obsm["X_x"], model.transform(bare.layers["counts"][:, hv]), rtol=1e-5, atol=1e-6)
    # without names, the genes are taken by position and their number must match
    del model.feature_names_in_
    with pytest.raises(ValueError, match="fitted on 33 genes but adata.X has 50"):
        tl.sivae_transform(make_adata(20), model, key_added="x")


def test_constant_genes_advice_keeps_the_models_genes_at_transform():
    adata = make_adata(sparse=False)
    model = tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=1))
    new = make_adata(40, sparse=False)
    new.X[:, 3] = 0.0  # constant in the new cells
    with pytest.warns(UserWarning, match="constant over all cells") as record:
        tl.sivae_transform(new, model)
    warned = next(w for w in record if "constant" in str(w.message))
    # removing genes would break the match with the model's genes
    assert "filter_genes" not in str(warned.message) and "Keep them" in str(warned.message)
    assert warned.filename == __file__  # points at the caller
    fit_on = make_adata(sparse=False)
    fit_on.X[:, 3] = 0.0
    with pytest.warns(UserWarning, match="filter_genes"):  # before fitting, filtering them is right
        tl.sivae(fit_on, 2, **dict(GENOMICS, max_epochs=1))


@pytest.fixture(scope="module")
def frame_model():
    """A model fitted on a data frame of the genes by name, fitted once: the tests only read it."""
    frame = pd.DataFrame(make_adata(sparse=False).X, columns=[f"g{j}" for j in range(50)])
    return SiVAE(2, **dict(GENOMICS, max_epochs=2)).fit(frame)


def test_sivae_transform_matches_genes_by_name_when_the_model_knows_them(frame_model):
    adata = make_adata(sparse=False)
    frame = pd.DataFrame(adata.X, columns=adata.var_names)
    model = frame_model
    shuffled = adata[:, adata.var_names[::-1]].copy()
    tl.sivae_transform(shuffled, model)
    np.testing.assert_array_equal(shuffled.varm["sivae_loadings"][::-1], model.components_.T)
    np.testing.assert_allclose(shuffled.obsm["X_sivae"], model.transform(frame), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="not in adata.var_names"):
        tl.sivae_transform(adata[:, :40].copy(), model)


def test_sivae_records_the_gene_names_of_its_highly_variable_mask():
    adata = make_adata()
    hv = np.arange(50) % 4 != 1
    adata.var["highly_variable"] = hv
    model = tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=2))
    assert list(model.feature_names_in_) == list(adata.var_names[hv])
    top = model.top_features(0, n=5)
    assert set(top["positive"]) | set(top["negative"]) <= set(adata.var_names[hv])
    assert set(model.hub_scores().index) == set(adata.var_names[hv])


@pytest.mark.parametrize("sparse", [True, False])
def test_sivae_transform_gives_the_same_embedding_whatever_the_gene_order(sparse):
    adata = make_adata(sparse=sparse)
    adata.var["highly_variable"] = np.arange(50) % 3 != 0
    model = tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=2))
    order = np.random.RandomState(3).permutation(50)
    shuffled = adata[:, order].copy()
    tl.sivae_transform(shuffled, model, key_added="s")
    np.testing.assert_allclose(shuffled.obsm["X_s"], adata.obsm["X_sivae"], rtol=1e-5, atol=1e-6)
    # loadings and feature awareness are written against the right gene names
    loadings = pd.DataFrame(shuffled.varm["s_loadings"], index=shuffled.var_names).loc[adata.var_names]
    np.testing.assert_array_equal(loadings.to_numpy(), adata.varm["sivae_loadings"])
    awareness = shuffled.var["s_feature_awareness"].loc[adata.var_names]
    np.testing.assert_array_equal(awareness.to_numpy(), adata.var["sivae_feature_awareness"].to_numpy())


def test_sivae_transform_refuses_missing_genes_by_name_unless_told_to_count_them_as_zero():
    adata = make_adata(sparse=False)
    model = tl.sivae(adata, 2, **dict(GENOMICS, max_epochs=2))
    dropped = ["g3", "g7", "g11", "g12", "g20", "g21", "g40"]
    partial = adata[:, [g for g in adata.var_names if g not in dropped]].copy()
    with pytest.raises(
        ValueError,
        match=r"7 gene\(s\) of the model are not in adata.var_names: "
        r"\['g3', 'g7', 'g11', 'g12', 'g20'\] and 2 more.*missing_genes='zero'",
    ):
        tl.sivae_transform(partial, model, key_added="p")
    assert "X_p" not in partial.obsm
    with pytest.raises(ValueError, match="missing_genes must be"):
        tl.sivae_transform(partial, model, missing_genes="pad")
    zeroed = adata.X.copy()
    zeroed[:, [int(g[1:]) for g in dropped]] = 0
    for data in (partial, ad.AnnData(sp.csr_matrix(partial.X), var=partial.var)):
        with pytest.warns(UserWarning, match=r"7 gene\(s\).*counted as 0"):
            tl.sivae_transform(data, model, key_added="p", missing_genes="zero")
        np.testing.assert_allclose(data.obsm["X_p"], model.transform(zeroed), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(
            data.varm["p_loadings"], adata.varm["sivae_loadings"][partial.var_names.map(adata.var_names.get_loc)]
        )


def test_estimator_transform_reorders_a_data_frame_by_name(frame_model):
    adata = make_adata(sparse=False)
    frame = pd.DataFrame(adata.X, columns=adata.var_names)
    model = frame_model
    shuffled = frame[list(np.random.RandomState(0).permutation(frame.columns))]
    np.testing.assert_array_equal(model.transform(shuffled), model.transform(frame))
    np.testing.assert_array_equal(model.score_samples(shuffled), model.score_samples(frame))
    with pytest.raises(ValueError, match=r"2 feature\(s\) of the model are not in the columns of X: \['g5', 'g9'\]"):
        model.transform(frame.drop(columns=["g5", "g9"]))
