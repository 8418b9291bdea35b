"""The experiment store: many fitted models in one folder, filtered by parameters."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sivae_sklearn import SiVAE, experiments
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


def test_a_record_names_external_embeddings_by_shape_and_the_model_file_keeps_them(tmp_path, X):
    E = np.random.RandomState(1).normal(size=(5, 300))
    model = SiVAE(2, feature_input=["pca", E], **FITTED).fit(X)
    name = save_experiment(model, tmp_path, "both")
    record = json.loads((tmp_path / f"{name}.json").read_text())
    assert record["params"]["feature_input"] == ["pca", "external (5, 300)"]  # not 1,500 numbers
    loaded = load_experiment(tmp_path, name)
    np.testing.assert_allclose(loaded.feature_input[1], E, atol=1e-5)
    assert [r["name"] for r in list_experiments(tmp_path, where={"feature_input": ["pca", "external (5, 300)"]})] == [
        "both"
    ]


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


# ------------------------------------------------ names, listing and concurrency
NAMES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=12)


@settings(max_examples=200)
@given(name=NAMES)
def test_a_name_is_accepted_exactly_when_it_fully_matches_the_pattern(name):
    valid = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._=-]*", name) is not None
    try:
        experiments._check_name(name)
        accepted = True
    except ValueError:
        accepted = False
    assert accepted == valid
    assert "\n" not in name or not accepted


def test_a_trailing_newline_is_refused(tmp_path, X):
    model = SiVAE(**FITTED).fit(X)
    with pytest.raises(ValueError, match="experiment name"):
        save_experiment(model, tmp_path, "run\n")
    assert os.listdir(tmp_path) == []


BAD_RECORDS = {
    "deep.json": "[" * 100_000 + "]" * 100_000,
    "listname.json": json.dumps({"name": ["a"], "params": {}}),
    "othername.json": json.dumps({"name": "someone-else", "params": {}}),
    "badfile.json": json.dumps({"params": {}, "model_file": 3}),
    "noparams.json": json.dumps({"name": "noparams"}),
    "binary.json": b"\xff\xfe\x00",
    "empty.json": "",
}


def test_listing_skips_what_is_not_a_regular_file_or_not_a_record_with_a_warning(tmp_path):
    path = tmp_path / "store"
    path.mkdir()
    (path / "ok.json").write_text(json.dumps({"params": {"beta": 1.0}, "kind": "grid_candidate"}))
    for fname, content in BAD_RECORDS.items():
        (path / fname).write_bytes(content if isinstance(content, bytes) else content.encode())
    (path / "folder.json").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(path / "pipe.json")  # reading it with open() would block forever
    with pytest.warns(UserWarning) as caught:
        records = list_experiments(path)
    assert [r["name"] for r in records] == ["ok"]
    messages = " ".join(str(w.message) for w in caught)
    skipped = [*BAD_RECORDS, "folder.json"] + (["pipe.json"] if hasattr(os, "mkfifo") else [])
    assert all(fname in messages for fname in skipped), messages
    assert "named pipe" in messages or not hasattr(os, "mkfifo")


def test_a_failed_save_releases_its_name(tmp_path, X, monkeypatch):
    model = SiVAE(**FITTED).fit(X)

    def broken(path):
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        save_experiment(model, tmp_path, "taken")
    assert os.listdir(tmp_path) == []


CONCURRENT_RUNS = """
import sys
from sivae_sklearn import load
from sivae_sklearn.experiments import save_experiment

model = load(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # every process starts saving at once
names = [save_experiment(model, sys.argv[2]) for _ in range(3)]
try:
    names.append(save_experiment(model, sys.argv[2], "shared"))
except FileExistsError:
    names.append("refused")
print(" ".join(names), flush=True)
"""


@pytest.mark.slow
def test_concurrent_saves_get_distinct_ids_and_one_shared_name(tmp_path):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-c", CONCURRENT_RUNS, str(root / "tests/data/model_format1.sivae"), str(tmp_path)]
    processes = [
        subprocess.Popen(command, env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(3)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=300)[0].split() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    generated = [name for out in outputs for name in out[:3]]
    assert len(set(generated)) == 9  # distinct ids, though saved in the same second
    assert sorted(out[3] for out in outputs) == ["refused", "refused", "shared"]  # overwrite=False held
    records = list_experiments(tmp_path)
    assert sorted(r["name"] for r in records) == sorted([*generated, "shared"])
    assert len(load_experiments(tmp_path)) == 10
