"""The interpretation API of a fitted SiVAE, checked against ground truth and by hand."""

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from sivae_sklearn import SiVAE
from sivae_sklearn._arrays import feature_scores as _interpret
from sivae_sklearn.datasets import make_feature_modules, make_program_modules
from sivae_sklearn.metrics import module_recovery

N_MODULES = 4


@pytest.fixture(scope="module")
def modules_data():
    return make_feature_modules(300, N_MODULES, 8, 8, noise=0.3, random_state=0)


@pytest.fixture(scope="module")
def fitted(modules_data):
    X, _, _ = modules_data
    model = SiVAE(
        N_MODULES,
        hidden_layer_sizes=(32, 16),
        max_epochs=100,
        kl_warmup_steps=100,
        feature_input_size=20,
        early_stopping=False,
        random_state=0,
    )
    return model.fit(X)


def test_loadings_recover_the_modules(fitted, modules_data):
    X, modules, _ = modules_data
    signal = modules >= 0
    labels = KMeans(N_MODULES, n_init=10, random_state=0).fit_predict(fitted.components_.T[signal])
    assert adjusted_rand_score(modules[signal], labels) >= 0.9
    # with noise as one extra cluster, over all features
    labels_all = KMeans(N_MODULES + 1, n_init=10, random_state=0).fit_predict(fitted.components_.T)
    assert adjusted_rand_score(modules, labels_all) >= 0.9


def test_loadings_find_correlated_programs_where_pca_does_not():
    # Correlated programs, unequal modules, thresholded and non-monotone maps, heavy-tailed noise:
    # PCA's loadings merge modules (ARI 0.69 here). The default objective fits the loadings to an
    # embedding that carries the programs (0.97 here); the original objective (ORIGINAL_OBJECTIVE)
    # gives 0.75 on this instance. A smaller network than the default, fewer epochs, one seed.
    X, modules, _ = make_program_modules(1000, random_state=0)
    model = SiVAE(4, hidden_layer_sizes=(128, 32), max_epochs=150, kl_warmup_steps=500, early_stopping=False)
    model.set_params(random_state=0).fit(X)
    pca = module_recovery(PCA(4).fit(X).components_.T, modules)
    assert pca < 0.75
    assert module_recovery(model.components_.T, modules) >= pca + 0.2
    assert roc_auc_score(modules >= 0, model.feature_awareness_) >= 0.95


def test_noise_features_have_the_lowest_awareness(fitted, modules_data):
    _, modules, _ = modules_data
    assert roc_auc_score(modules >= 0, fitted.feature_awareness_) >= 0.95
    hubs = fitted.feature_hubs(8)
    assert np.all(modules[[fitted.resolve_feature(f) for f in hubs.index]] >= 0)


def test_feature_awareness_levels_and_summary(fitted, modules_data):
    X, _, _ = modules_data
    # no validation split, so the stored summary is over all of X
    np.testing.assert_allclose(fitted.feature_awareness(X), fitted.feature_awareness_, rtol=1e-5, atol=1e-6)
    stored = fitted.feature_awareness()  # without X: a copy of the stored summary
    stored[:] = 0.0
    assert np.all(fitted.feature_awareness_ != 0.0)
    per_sample = fitted.feature_awareness(X, layer=0, per_sample=True)
    assert per_sample.shape == X.shape
    # level 0 by hand: z V^T + b, the linear map of the interpretability term
    fit0 = fitted.transform(X) @ fitted.components_ + fitted._network.linear_bias.numpy()
    by_hand = np.square(X - fitted.mean_) - np.square(X - fit0)
    np.testing.assert_allclose(per_sample, by_hand, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(fitted.feature_awareness(X, layer=0), by_hand.mean(axis=0), atol=1e-3)
    n_levels = fitted._network_config.n_levels
    assert n_levels == 4
    # the last level is the model's reconstruction, inverse_transform(transform(X))
    reconstruction = fitted.inverse_transform(fitted.transform(X))
    by_hand = np.square(X - fitted.mean_) - np.square(X - reconstruction)
    np.testing.assert_allclose(fitted.feature_awareness(X, layer=n_levels - 1), by_hand.mean(axis=0), atol=1e-4)
    with pytest.raises(ValueError, match="not stored"):
        fitted.feature_awareness(layer=0)
    with pytest.raises(ValueError, match="layer=7 does not exist"):
        fitted.feature_awareness(X, layer=7)


def test_explained_variance_ranks_dimensions(fitted, modules_data):
    X, _, _ = modules_data
    ev, ratio = fitted.explained_variance_, fitted.explained_variance_ratio_
    assert ev.shape == ratio.shape == (N_MODULES,)
    # siVAE's dimensions are not orthogonal, so unlike PCA the ratios need not sum to <= 1
    assert np.all(ev > 0) and np.all(ratio > 0)
    Z = fitted.transform(X)
    for d in range(N_MODULES):  # variance of the rank-1 reconstruction z_d v_d^T
        rank1 = np.outer(Z[:, d], fitted.components_[d])
        assert ev[d] == pytest.approx(rank1.var(axis=0, ddof=1).sum(), rel=1e-4)
    np.testing.assert_allclose(ratio, ev / X.var(axis=0, ddof=1).sum(), rtol=1e-4)


def test_explained_variance_matches_pca():
    X = np.random.default_rng(0).normal(size=(100, 6)) @ np.diag([3, 2, 1, 1, 0.5, 0.1])
    pca = PCA(3).fit(X)
    ev = _interpret.explained_variance(pca.transform(X), pca.components_.T)
    np.testing.assert_allclose(ev, pca.explained_variance_, rtol=1e-10)


def test_neighbours_come_from_the_same_module(fitted, modules_data):
    _, modules, _ = modules_data
    first = int(np.flatnonzero(modules == 0)[0])
    near = fitted.feature_neighbors(first, n=5)
    assert isinstance(near, pd.Series) and near.is_monotonic_increasing
    assert f"x{first}" not in near.index
    assert np.all(modules[[fitted.resolve_feature(f) for f in near.index]] == 0)
    same = fitted.feature_neighbors(f"x{first}", n=5)
    pd.testing.assert_series_equal(near, same)


def test_labelled_loadings_and_top_features(modules_data):
    X, _, _ = modules_data
    names = [f"gene{i}" for i in range(X.shape[1])]
    model = SiVAE(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(pd.DataFrame(X, columns=names))
    table = model.get_feature_loadings()
    assert list(table.index) == names and list(table.columns) == ["sivae0", "sivae1"]
    np.testing.assert_array_equal(table.to_numpy(), model.components_.T)
    top = model.top_features("sivae1", n=3)
    assert list(top.columns) == ["positive", "positive_loading", "negative", "negative_loading"]
    assert top["positive_loading"].iloc[0] == model.components_[1].max()
    assert top["negative_loading"].iloc[0] == model.components_[1].min()
    assert top["positive"].iloc[0] == names[int(np.argmax(model.components_[1]))]
    assert model.feature_neighbors("gene3", n=2).index.isin(names).all()
    with pytest.raises(ValueError, match="Unknown feature 'nope'.*gene0"):
        model.feature_neighbors("nope")
    with pytest.raises(ValueError, match="out of range.*n_components=2"):
        model.top_features(2)
    with pytest.raises(ValueError, match="Unknown dimension 'pc1'"):
        model.top_features("pc1")
    with pytest.raises(ValueError, match="out of range"):
        model.feature_neighbors(X.shape[1])
    assert model.resolve_feature("gene4") == 4 and model.resolve_feature(-1) == X.shape[1] - 1
    assert model.resolve_dimension("sivae1") == 1 and model.resolve_dimension(-2) == 0
    with pytest.raises(ValueError, match="must be an integer or a dimension name"):
        model.resolve_dimension(True)
    assert list(model.get_feature_labels()) == names
    with pytest.raises(ValueError, match="not a hub score"):
        model.hub_scores("pagerank")


def test_hub_scores_match_their_definitions(fitted):
    norm = fitted.hub_scores("norm")
    np.testing.assert_allclose(norm.to_numpy(), -np.linalg.norm(fitted.components_, axis=0))
    rec = fitted.hub_scores()
    np.testing.assert_allclose(rec.to_numpy(), fitted.feature_awareness_ / fitted.feature_variance_)
    assert fitted.feature_hubs(3).to_numpy().tolist() == sorted(rec.to_numpy(), reverse=True)[:3]


def test_attribution_loadings_of_a_linear_decoder_are_the_loadings(modules_data):
    X, _, _ = modules_data
    model = SiVAE(3, hidden_layer_sizes=(), max_epochs=3, random_state=0).fit(X)
    unit = model.components_ / np.linalg.norm(model.components_, axis=1, keepdims=True)
    sal = model.attribution_loadings(X[:50], method="saliency")
    assert sal.shape == (3, X.shape[1])
    np.testing.assert_allclose(sal, unit, atol=1e-5)
    gxi = model.attribution_loadings(X[:50], method="gradient_x_input")
    np.testing.assert_allclose(np.abs(np.sum(gxi * unit, axis=1)), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="not an attribution method"):
        model.attribution_loadings(X[:5], method="deeplift")


def test_attribution_loadings_of_the_nonlinear_model_follow_the_decoders_slopes(fitted, modules_data):
    # Saliency loadings are the first principal axis of d x_hat / d z over the samples; the slopes are
    # measured here by central differences of the public inverse_transform, not by the model's Jacobian.
    X, _, _ = modules_data
    sal = fitted.attribution_loadings(X[:40])
    assert sal.shape == fitted.components_.shape
    Z, eps = fitted.transform(X[:40]), 1e-2
    for d in range(fitted.n_components):
        step = np.zeros_like(Z)
        step[:, d] = eps
        slopes = (fitted.inverse_transform(Z + step) - fitted.inverse_transform(Z - step)) / (2 * eps)
        centred = slopes - slopes.mean(axis=0)
        axis = np.linalg.svd(centred, full_matrices=False)[2][0]
        axis = axis if axis @ slopes.mean(axis=0) >= 0 else -axis
        assert sal[d] @ axis > 0.99, (d, sal[d] @ axis)


def test_asking_before_fit_names_the_fix():
    model = SiVAE()
    for call in (
        model.get_feature_loadings,
        lambda: model.top_features(0),
        lambda: model.feature_neighbors(0),
        model.hub_scores,
        lambda: model.feature_awareness(),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def test_interpretation_survives_save_and_load(tmp_path, fitted):
    from sivae_sklearn import load

    fitted.save(tmp_path / "m.sivae")
    again = load(tmp_path / "m.sivae")
    np.testing.assert_array_equal(again.explained_variance_ratio_, fitted.explained_variance_ratio_)
    pd.testing.assert_series_equal(again.hub_scores(), fitted.hub_scores())
