"""Feature programs (gene sets) as priors on the loadings: resolution, refusals, the soft mask, support,
names, persistence, the GMT reader and tl.sivae(programs=)."""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sivae_sklearn import SiVAE, load, read_gmt
from sivae_sklearn._estimator.programs import MIN_PROGRAM_FEATURES, resolve_programs

FAST = dict(hidden_layer_sizes=(), max_epochs=40, kl_warmup_epochs=5, batch_size=32, learning_rate=3e-3, random_state=0)


def _module_data(n=300, seed=0):
    """g0..g7 share one factor (a module); g8..g19 are independent noise."""
    rng = np.random.RandomState(seed)
    factor = rng.normal(size=(n, 1))
    X = np.hstack([factor @ np.ones((1, 8)) + 0.5 * rng.normal(size=(n, 8)), rng.normal(size=(n, 12))])
    return pd.DataFrame(X, columns=[f"g{i}" for i in range(20)])


@pytest.fixture(scope="module")
def fitted():
    X = _module_data()
    programs = {"module": ["g0", "g1", "g2", "g3", "absent1"], "noise": ["g10", "g11", "g12", "g13", "absent2"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = SiVAE(n_components=3, feature_programs=programs, program_weight=0.1, **FAST).fit(X)
    return X, model, [w for w in caught if "feature_programs" in str(w.message)]


def test_absent_names_are_one_warning(fitted):
    _, _, caught = fitted
    assert len(caught) == 1
    assert "'module': 1" in str(caught[0].message) and "'noise': 1" in str(caught[0].message)


def test_dimension_names_are_programs_then_free(fitted):
    _, model, _ = fitted
    assert model.dimension_names_.tolist() == ["module", "noise", "sivae2"]
    assert model.get_feature_names_out().tolist() == model.dimension_names_.tolist()
    frame = model.set_output(transform="pandas").transform(fitted[0])
    model.set_output(transform="default")
    assert list(frame.columns) == ["module", "noise", "sivae2"]
    assert model.resolve_dimension("noise") == 1


def test_support_tells_a_real_module_from_noise(fitted):
    _, model, _ = fitted
    module, noise = model.program_support_
    assert module > 0.3
    assert noise < 0.2
    assert module > 2 * noise


def test_members_outrank_non_members_on_their_dimension(fitted):
    _, model, _ = fitted
    loadings = np.abs(model.components_[0])
    # the module's other members (g4..g7, not in the program) share its variation; the noise features do not
    assert loadings[4:8].min() > np.median(loadings[8:])
    assert loadings[4:8].mean() > 2 * loadings[8:].mean()
    assert "programs" in model.history_ and model.history_["programs"][-1] >= 0


def test_the_soft_mask_lowers_non_members_loadings():
    X = _module_data(seed=1)
    programs = {"module": ["g0", "g1", "g2", "g3"]}
    weak = SiVAE(n_components=3, feature_programs=programs, program_weight=0.0, **FAST).fit(X)
    strong = SiVAE(n_components=3, feature_programs=programs, program_weight=10.0, **FAST).fit(X)
    noise = slice(8, 20)
    assert np.abs(strong.components_[0, noise]).mean() < np.abs(weak.components_[0, noise]).mean()
    assert weak.history_["programs"][-1] > strong.history_["programs"][-1]


def test_without_programs_names_stay_sivae_k():
    X = _module_data(n=80)
    model = SiVAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
    assert model.get_feature_names_out().tolist() == ["sivae0", "sivae1"]
    assert not hasattr(model, "program_support_")
    assert "programs" not in model.history_ or all(v == 0 for v in model.history_["programs"])


def test_indices_without_names():
    X = _module_data(n=80).to_numpy()
    names, mask = resolve_programs({"a": [0, 1], "b": [1, 2, 3]}, None, 20, 3)
    assert names == ["a", "b"] and mask.sum(axis=0).tolist() == [2, 3] and mask[1].tolist() == [1, 1]
    model = SiVAE(n_components=3, feature_programs={"a": [0, 1, 2]}, hidden_layer_sizes=(8,), max_epochs=2)
    assert model.fit(X).program_support_.shape == (1,)


@pytest.mark.parametrize(
    ("programs", "n_components", "match"),
    [
        ({"a": ["g0", "g1"], "b": ["g2", "g3"], "c": ["g4", "g5"]}, 2, "3 programs but n_components=2"),
        ({"a": ["g0", "nope"]}, 2, "1 feature\\(s\\) present"),
        ({"a": "g0g1"}, 2, "must be a list"),
        ({"a": [0, 99]}, 2, "outside"),
        ({"a": [0.5, 1]}, 2, "members are feature names or indices"),
        ({"": [0, 1]}, 2, "non-empty strings"),
    ],
)
def test_refusals_before_training(programs, n_components, match):
    X = _module_data(n=60)
    model = SiVAE(n_components=n_components, feature_programs=programs, max_epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=match):
            model.fit(X)
    assert not hasattr(model, "components_")


def test_names_need_column_names():
    with pytest.raises(ValueError, match="X has no column names"):
        SiVAE(feature_programs={"a": ["g0", "g1"]}, max_epochs=1).fit(np.zeros((30, 4)) + np.arange(4))


def test_minimum_is_two():
    assert MIN_PROGRAM_FEATURES == 2


def test_saved_loaded_pickled_cloned(fitted, tmp_path):
    X, model, _ = fitted
    path = tmp_path / "m.sivae"
    model.save(path)
    loaded = load(path)
    assert loaded.get_feature_names_out().tolist() == model.get_feature_names_out().tolist()
    np.testing.assert_allclose(loaded.program_support_, model.program_support_)
    np.testing.assert_allclose(loaded.transform(X), model.transform(X), rtol=1e-5, atol=1e-6)
    assert loaded.feature_programs == model.feature_programs
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.program_support_, model.program_support_)
    assert clone(model).feature_programs == model.feature_programs


def test_read_gmt(tmp_path):
    path = tmp_path / "sets.gmt"
    path.write_text("# comment\nB\tmarkers\tMS4A1\tCD79A\tCD79A\t\n\nNK\thttp://x\tGNLY\tNKG7\n", encoding="utf-8")
    assert read_gmt(path) == {"B": ["MS4A1", "CD79A"], "NK": ["GNLY", "NKG7"]}
    bad = tmp_path / "bad.gmt"
    bad.write_text("B\tm\tX\nB\tm\tY\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2, repeats"):
        read_gmt(bad)
    notab = tmp_path / "notab.gmt"
    notab.write_text("just a line\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        read_gmt(notab)
    empty = tmp_path / "empty.gmt"
    empty.write_text("\n# nothing\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no gene set"):
        read_gmt(empty)
    with pytest.raises(FileNotFoundError):
        read_gmt(tmp_path / "missing.gmt")
    with pytest.raises((ValueError, OSError), match="not a regular file"):
        read_gmt(tmp_path)  # a folder


def test_tl_programs_from_gmt(tmp_path):
    ad = pytest.importorskip("anndata")
    from sivae_sklearn import pl, tl

    X = _module_data(n=200)
    adata = ad.AnnData(X.to_numpy().astype(np.float32))
    adata.var_names = list(X.columns)
    adata.var["highly_variable"] = [i != 5 for i in range(20)]  # g5 is left out by the mask
    path = tmp_path / "sets.gmt"
    path.write_text("module\tdesc\tg0\tg1\tg2\tg5\tGHOST\n", encoding="utf-8")
    with pytest.warns(UserWarning, match="'module': 2") as record:
        model = tl.sivae(adata, 3, programs=os.fspath(path), **FAST)
    assert sum("programs name genes" in str(w.message) for w in record) == 1
    assert model.feature_programs == {"module": ["g0", "g1", "g2"]}
    uns = adata.uns["sivae"]
    assert list(uns["dimension_names"]) == ["module", "sivae1", "sivae2"]
    assert list(uns["programs"]["module"]) == ["g0", "g1", "g2"]
    assert uns["program_support"].shape == (1,)
    results = pl._adata_results(adata, "sivae")
    assert results.dim_names == ["module", "sivae1", "sivae2"]
    adata.write_h5ad(tmp_path / "out.h5ad")  # what tl records can be stored
    with pytest.raises(ValueError, match="not both"):
        tl.sivae(adata, 3, programs={"m": ["g0", "g1"]}, feature_programs={"m": [0, 1]}, overwrite=True)


# ------------------------------------------------ the embedding coupling (program_embedding_weight)
def test_coupling_is_zero_when_the_dimension_follows_its_members_and_pulls_by_shared_variance():
    import tensorflow as tf

    from sivae_sklearn._engine.objective import program_coupling

    rng = np.random.RandomState(0)
    n = 2000
    factor = rng.normal(size=(n, 1))
    module = factor + 0.3 * rng.normal(size=(n, 4))  # 4 members sharing most of their variance
    noise = rng.normal(size=(n, 4))  # 4 independent features
    x = tf.constant(np.hstack([module, noise]), tf.float32)
    mask = np.zeros((8, 2), np.float32)
    mask[:4, 0] = mask[4:, 1] = 1.0
    follows = tf.constant(np.c_[module.mean(1), noise.mean(1)], tf.float32)
    assert float(program_coupling(x, follows, mask)) == pytest.approx(0.0, abs=1e-3)
    # a z unrelated to the members costs m_k var(s_k): about m for a coherent module, about 1 for noise
    unrelated = tf.constant(rng.normal(size=(n, 2)), tf.float32)
    per_program = [float(program_coupling(x, unrelated[:, k : k + 1], mask[:, k : k + 1])) for k in (0, 1)]
    assert 3.0 < per_program[0] < 4.1
    assert 0.8 < per_program[1] < 1.2
    # the opposite orientation costs twice m_k var(s_k): the dimension is oriented (high where the members are high)
    shared = 4 * ((module - module.mean(0)) / module.std(0)).mean(axis=1).var()
    assert float(program_coupling(x, -follows[:, :1], mask[:, :1])) == pytest.approx(2 * shared, rel=1e-3)
    # its gradient reaches z, nothing of the data
    z = tf.Variable(unrelated)
    with tf.GradientTape() as tape:
        value = program_coupling(x, z, mask)
    assert float(tf.reduce_sum(tf.abs(tape.gradient(value, z)))) > 0


def test_coupling_has_no_effect_without_programs():
    X = _module_data(n=120)
    base = dict(FAST, hidden_layer_sizes=(8,), max_epochs=3)
    plain = SiVAE(n_components=2, **base).fit(X)
    coupled = SiVAE(n_components=2, program_embedding_weight=50.0, **base).fit(X)
    np.testing.assert_array_equal(plain.transform(X), coupled.transform(X))
    np.testing.assert_array_equal(plain.components_, coupled.components_)


def test_coupling_weight_is_validated_before_training():
    X = _module_data(n=60)
    model = SiVAE(n_components=2, feature_programs={"m": ["g0", "g1"]}, program_embedding_weight=-1.0, max_epochs=1)
    with pytest.raises(ValueError, match="program_embedding_weight"):
        model.fit(X)
    assert not hasattr(model, "components_")


@pytest.fixture(scope="module")
def coupled():
    """Half of the module and four noise features as programs, a non-linear decoder and two free dimensions,
    with the soft mask alone and with the embedding coupling."""
    X = _module_data()
    programs = {"module": ["g0", "g1", "g2", "g3"], "noise": ["g10", "g11", "g12", "g13"]}
    base = dict(FAST, hidden_layer_sizes=(16,), program_weight=0.1)
    fits = {
        w: SiVAE(n_components=4, feature_programs=programs, program_embedding_weight=w, **base).fit(X)
        for w in (0.0, 10.0)
    }
    return X, fits


def test_coupling_makes_the_program_dimension_follow_its_module(coupled):
    X, fits = coupled
    signal = X.to_numpy()[:, :8].mean(axis=1)  # the whole module, its unlisted half included
    corr = {w: np.corrcoef(model.transform(X)[:, 0], signal)[0, 1] for w, model in fits.items()}
    assert corr[10.0] > 0.9  # oriented: high where the members are high
    assert corr[10.0] > abs(corr[0.0]) + 0.2
    assert fits[10.0].program_support_[0] > 0.5 > fits[0.0].program_support_[0]
    # the unlisted members now load on the program's dimension above every noise feature
    loadings = np.abs(fits[10.0].components_[0])
    assert loadings[4:8].min() > loadings[8:].max()


def test_coupling_does_not_make_a_noise_program_supported(coupled):
    X, fits = coupled
    model = fits[10.0]
    module, noise = model.program_support_
    n = int(round(X.shape[0] * (1 - model.validation_fraction)))
    null_level = (1 + np.sqrt(4 / n)) ** 2 / 4  # the most one dimension can carry of 4 independent features
    assert noise < null_level
    assert module > 2.5 * noise


def test_the_coupling_is_on_by_default_with_programs_only():
    from sivae_sklearn._engine.training import TrainingConfig

    params = SiVAE().get_params()
    assert (params["program_weight"], params["program_embedding_weight"]) == (0.1, 10.0)
    mask = np.ones((4, 1), np.float32)
    weights = TrainingConfig.from_params(params, 100, n_features=4, program_mask=mask).loss_weights
    assert weights["program_embedding_weight"] == 10.0 and weights["program_mask"] is mask
    plain = TrainingConfig.from_params(params, 100, n_features=4).loss_weights
    assert "program_embedding_weight" not in plain and "program_mask" not in plain


def test_tl_programs_with_embed_all_genes_and_feature_input_survive_h5ad(tmp_path):
    """Programs, embedded genes and an external gene embedding together, as examples/pbmc_programs.py uses them."""
    ad = pytest.importorskip("anndata")
    from sivae_sklearn import tl

    X = _module_data(n=120)
    adata = ad.AnnData(X.to_numpy().astype(np.float32))
    adata.var_names = list(X.columns)
    adata.var["highly_variable"] = [i not in (3, 15) for i in range(20)]  # g3 (a module member) and g15 left out
    E = pd.DataFrame(np.random.RandomState(1).normal(size=(20, 4)), index=adata.var_names[::-1])  # aligned by name
    with pytest.warns(UserWarning, match="'module': 1"):
        model = tl.sivae(
            adata, 3, programs={"module": ["g0", "g1", "g2", "g3"]}, embed_all_genes=True, feature_input=E, **FAST
        )
    uns = adata.uns["sivae"]
    assert "feature_programs" not in uns["params"]  # recorded once, as uns["programs"]
    assert uns["params"]["feature_input"] == "external"
    assert list(uns["programs"]["module"]) == ["g0", "g1", "g2"]
    embedded = adata.var["sivae_embedded"].to_numpy()
    assert adata.var_names[embedded].tolist() == ["g3", "g15"]
    loadings = adata.varm["sivae_loadings"]
    assert np.all(np.abs(loadings[embedded]).sum(axis=1) > 0)  # embedded, not zero rows
    expected = model.embed_features(embedding=E.loc[["g3", "g15"]].to_numpy()).T
    np.testing.assert_allclose(loadings[embedded], expected, rtol=1e-5, atol=1e-6)
    adata.write_h5ad(tmp_path / "out.h5ad")
    back = ad.read_h5ad(tmp_path / "out.h5ad")
    assert list(back.uns["sivae"]["programs"]["module"]) == ["g0", "g1", "g2"]
    assert list(back.uns["sivae"]["dimension_names"]) == ["module", "sivae1", "sivae2"]
    assert back.var["sivae_embedded"].sum() == 2


def test_tl_refuses_a_program_name_that_h5ad_would_split_before_training():
    ad = pytest.importorskip("anndata")
    from sivae_sklearn import tl

    adata = ad.AnnData(_module_data(n=40).to_numpy().astype(np.float32))
    adata.var_names = [f"g{i}" for i in range(20)]
    with pytest.raises(ValueError, match=r"'T/NK' contains '/'.*'T_NK'"):
        tl.sivae(adata, 2, programs={"T/NK": ["g0", "g1"]}, max_epochs=1)
    assert "X_sivae" not in adata.obsm
