"""The experiment store: many fitted models in one folder, filtered by parameters."""

import json

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sivae_sklearn import SiVAE
from sivae_sklearn.experiments import (
    list_experiments,
    load_experiment,
    load_experiments,
    save_experiment,
    save_grid_search,
)
from tests.presets import SMALL

FITTED = dict(SMALL, max_epochs=2)


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(40, 5))


@pytest.fixture(scope="module")
def folder(X, tmp_path_factory):
    path = tmp_path_factory.mktemp("runs")
    for k in (1, 2):
        for beta in (0.5, 1.0):
            model = SiVAE(k, beta=beta, **FITTED).fit(X)
            save_experiment(model, path, f"k{k}-beta{beta}", scores={"elbo": np.float32(model.score(X))})
    return path


def test_list_and_filter(folder):
    records = list_experiments(folder)
    assert [r["name"] for r in records] == ["k1-beta0.5", "k1-beta1.0", "k2-beta0.5", "k2-beta1.0"]
    assert isinstance(records[0]["scores"]["elbo"], float)
    assert records[0]["params"]["hidden_layer_sizes"] == [8]
    assert len(list_experiments(folder, where={"hidden_layer_sizes": (8,)})) == 4
    assert [r["name"] for r in list_experiments(folder, where={"beta": lambda b: b > 0.7})] == [
        "k1-beta1.0",
        "k2-beta1.0",
    ]


def test_load_matching_models(folder, X):
    runs = load_experiments(folder, where={"n_components": 2, "beta": 1.0})
    assert list(runs) == ["k2-beta1.0"]
    fresh = SiVAE(2, beta=1.0, **FITTED).fit(X)
    np.testing.assert_allclose(runs["k2-beta1.0"].transform(X), fresh.transform(X), rtol=1e-5)
    assert runs["k2-beta1.0"].history_["loss"] == pytest.approx(fresh.history_["loss"])
    assert load_experiments(folder, where={"n_components": 7}) == {}
    assert load_experiment(folder, "k1-beta0.5").n_components_ == 1


def test_corrupt_entries_are_skipped_with_a_warning(folder, tmp_path, X):
    path = tmp_path / "mixed"
    model = SiVAE(2, **FITTED).fit(X)
    save_experiment(model, path, "good")
    save_experiment(model, path, "broken-model")
    (path / "broken-model.sivae").write_bytes(b"not a zip file")
    (path / "broken-record.json").write_text("{ half a record")
    with pytest.warns(UserWarning) as caught:
        runs = load_experiments(path)
    assert list(runs) == ["good"]
    messages = " ".join(str(w.message) for w in caught)
    assert "broken-model" in messages and "broken-record.json" in messages
    with pytest.raises(ValueError, match="broken-model"):
        load_experiment(path, "broken-model")


def test_names_and_overwrite(tmp_path, X):
    model = SiVAE(**FITTED).fit(X)
    name = save_experiment(model, tmp_path)
    assert name.startswith("run-") and (tmp_path / f"{name}.sivae").exists()
    assert save_experiment(model, tmp_path) != name
    with pytest.raises(FileExistsError):
        save_experiment(model, tmp_path, name)
    save_experiment(model, tmp_path, name, overwrite=True)
    with pytest.raises(ValueError, match="experiment name"):
        save_experiment(model, tmp_path, "../escape")
    with pytest.raises(FileNotFoundError):
        list_experiments(tmp_path / "nowhere")


def test_save_grid_search(tmp_path, X):
    search = GridSearchCV(SiVAE(**FITTED), {"n_components": [1, 2]}, cv=2).fit(X)
    names = save_grid_search(search, tmp_path)
    assert names == ["grid-candidate-000", "grid-candidate-001", "grid-best"]
    candidates = list_experiments(tmp_path, where={"n_components": 2})
    kinds = {r["name"]: r["kind"] for r in candidates}
    assert kinds["grid-candidate-001"] == "grid_candidate"
    record = json.loads((tmp_path / "grid-candidate-001.json").read_text())
    assert record["params"]["max_epochs"] == 2  # the base estimator's parameters are kept
    assert record["scores"]["mean_test_score"] == pytest.approx(search.cv_results_["mean_test_score"][1])
    best = load_experiments(tmp_path)
    assert list(best) == ["grid-best"]
    assert best["grid-best"].n_components_ == search.best_params_["n_components"]
    np.testing.assert_allclose(best["grid-best"].transform(X), search.best_estimator_.transform(X), rtol=1e-5)


def test_save_grid_search_over_a_pipeline(tmp_path, X):
    pipe = make_pipeline(StandardScaler(), SiVAE(**FITTED))
    search = GridSearchCV(pipe, {"sivae__beta": [0.5, 2.0]}, cv=2).fit(X)
    save_grid_search(search, tmp_path, prefix="pipe")
    assert [r["name"] for r in list_experiments(tmp_path, where={"beta": 2.0}) if r["kind"] == "grid_candidate"] == [
        "pipe-candidate-001"
    ]
    assert "pipe-best" in load_experiments(tmp_path)
