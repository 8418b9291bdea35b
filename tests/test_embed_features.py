"""SiVAE.embed_features: loadings for features that were not in training, and tl.sivae(embed_all_genes=True)."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sivae_sklearn import SiVAE, tl
from sivae_sklearn.datasets import make_feature_modules

SMALL = {"hidden_layer_sizes": (8,), "max_epochs": 3, "random_state": 0}
# The reducer reproduces a training column's input to float32 round-off; the encoder then
# amplifies it a little. Measured up to 1.1e-6 (oneDNN on and off, 1 and default threads): 1e-5 leaves room.
ATOL = 1e-5


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(0).normal(size=(80, 12))


@pytest.mark.parametrize("feature_input", ["pca", "subsample"])
@pytest.mark.parametrize("sparse", [False, True])
def test_own_column_gives_its_components(data, feature_input, sparse):
    X = data.copy()
    if sparse:
        X[np.abs(X) < 0.8] = 0.0
    fit_X = sp.csr_matrix(X) if sparse else X
    model = SiVAE(3, feature_input=feature_input, validation_fraction=0.2, **SMALL).fit(fit_X)
    columns = sp.csc_matrix(X[:, [4, 0, 7]]) if sparse else X[:, [4, 0, 7]]
    mean, std = model.embed_features(columns, return_std=True)
    assert mean.shape == std.shape == (3, 3)
    np.testing.assert_allclose(mean, model.components_[:, [4, 0, 7]], atol=ATOL)
    np.testing.assert_allclose(std, model.components_std_[:, [4, 0, 7]], atol=ATOL)
    np.testing.assert_allclose(model.embed_features(fit_X), model.components_, atol=ATOL)
    assert np.all(std > 0)


def test_embedding_survives_save_and_load(data, tmp_path):
    model = SiVAE(3, **SMALL).fit(data)
    path = tmp_path / "m.sivae"
    model.save(path)
    from sivae_sklearn import load

    np.testing.assert_allclose(load(path).embed_features(data[:, [2]]), model.components_[:, [2]], atol=ATOL)


def test_noisy_copy_of_a_module_feature_loads_like_its_module():
    X, modules, _ = make_feature_modules(300, 3, 8, 4, noise=0.3, random_state=0)
    model = SiVAE(
        3, hidden_layer_sizes=(32,), max_epochs=60, kl_warmup_steps=100, early_stopping=False, random_state=0
    ).fit(X)
    rng = np.random.RandomState(1)
    trained = model.components_.T
    centroids = np.stack([trained[modules == m].mean(axis=0) for m in range(3)])
    hits = 0
    for m in range(3):
        source = np.flatnonzero(modules == m)[0]
        copy = X[:, source] + 0.3 * rng.normal(size=X.shape[0])
        loading = model.embed_features(copy[:, None])[:, 0]
        distances = ((centroids - loading) ** 2).sum(axis=1)
        hits += int(np.argmin(distances) == m)
    assert hits == 3
    # a pure-noise column is not mistaken for a module feature: far from its nearest centroid
    noise = model.embed_features(rng.normal(size=(X.shape[0], 1)))[:, 0]
    spread = np.median(np.linalg.norm(trained[modules >= 0] - centroids[modules[modules >= 0]], axis=1))
    assert np.min(np.linalg.norm(centroids - noise, axis=1)) > spread


def test_bad_columns_are_refused_before_any_work(data):
    model = SiVAE(2, **SMALL).fit(data)
    with pytest.raises(ValueError, match="80 rows"):
        model.embed_features(data[:70, :2])
    bad = data[:, :2].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.embed_features(bad)
    with pytest.raises(ValueError, match="2D|2-D|Expected 2D"):
        model.embed_features(data[:, 0])
    with pytest.raises(ValueError):
        model.embed_features(np.zeros((80, 0)))
    table = pd.DataFrame(data[:, :2], columns=["a", "b"])
    assert model.embed_features(table).shape == (2, 2)


def test_count_likelihoods_are_refused_with_the_reason():
    counts = np.random.RandomState(0).poisson(2.0, size=(60, 8)).astype(np.float32)
    model = SiVAE(2, likelihood="nb", **SMALL).fit(counts)
    with pytest.raises(ValueError, match="library size"):
        model.embed_features(counts[:, :2])


def test_unfitted_model_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SiVAE(2).embed_features(np.zeros((5, 1)))


def test_tl_embed_all_genes_fills_masked_genes(data):
    adata = ad.AnnData(data.astype(np.float32))
    adata.var_names = [f"g{i}" for i in range(12)]
    hv = np.zeros(12, bool)
    hv[[0, 2, 3, 5, 6, 8, 9, 11]] = True
    adata.var["highly_variable"] = hv
    model = tl.sivae(adata, 2, embed_all_genes=True, **SMALL)
    loadings = adata.varm["sivae_loadings"]
    np.testing.assert_allclose(loadings[hv], model.components_.T, atol=1e-6)
    np.testing.assert_allclose(loadings[~hv], model.embed_features(data[:, ~hv]).T, atol=1e-6)
    assert np.all(np.abs(loadings[~hv]).sum(axis=1) > 0)
    np.testing.assert_array_equal(adata.var["sivae_embedded"].to_numpy(), ~hv)
    assert adata.uns["sivae"]["embedded_genes"] == 4
    assert np.all(np.isnan(adata.var["sivae_feature_awareness"].to_numpy()[~hv]))
    # without it, the masked genes keep zero rows and the stale column goes
    tl.sivae(adata, 2, overwrite=True, **SMALL)
    assert np.all(adata.varm["sivae_loadings"][~hv] == 0)
    assert "sivae_embedded" not in adata.var.columns


def test_tl_embed_all_genes_refuses_count_likelihoods():
    counts = np.random.RandomState(0).poisson(2.0, size=(40, 6)).astype(np.float32)
    adata = ad.AnnData(counts)
    adata.var["highly_variable"] = [True, True, True, True, False, False]
    with pytest.raises(ValueError, match="embed_all_genes"):
        tl.sivae(adata, 2, likelihood="nb", embed_all_genes=True, **SMALL)
    assert "sivae_loadings" not in adata.varm


def test_tl_embed_all_genes_on_backed_data(data, tmp_path):
    adata = ad.AnnData(sp.csr_matrix(np.where(np.abs(data) > 0.5, data, 0.0).astype(np.float32)))
    adata.var_names = [f"g{i}" for i in range(12)]
    hv = np.arange(12) % 3 != 0
    adata.var["highly_variable"] = hv
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    backed = ad.read_h5ad(path, backed="r")
    model = tl.sivae(backed, 2, embed_all_genes=True, **SMALL)
    dense = np.asarray(adata.X.toarray(), dtype=np.float64)
    np.testing.assert_allclose(backed.varm["sivae_loadings"][~hv], model.embed_features(dense[:, ~hv]).T, atol=1e-6)
    np.testing.assert_array_equal(backed.var["sivae_embedded"].to_numpy(), ~hv)
