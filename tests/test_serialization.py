"""Pickling and the single-file save format, including hostile files."""

import json
import pickle
import zipfile

import joblib
import numpy as np
import pytest
from conftest import TINY

from sivae_sklearn import ModelFileError, SiVAE, load


@pytest.fixture(scope="module")
def fitted():
    X = np.random.RandomState(0).normal(size=(50, 6))
    return SiVAE(**TINY).fit(X), X


def test_pickle_roundtrip(fitted):
    model, X = fitted
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.transform(X), model.transform(X))
    np.testing.assert_array_equal(clone.score_samples(X), model.score_samples(X))
    assert hasattr(model, "_network")  # pickling must not strip the original


def test_joblib_memmap_roundtrip(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "m.joblib"
    joblib.dump(model, path)
    clone = joblib.load(path, mmap_mode="r")
    np.testing.assert_array_equal(clone.transform(X), model.transform(X))


def test_save_load_roundtrip(fitted, tmp_path):
    model, X = fitted
    path = tmp_path / "model.sivae"
    model.save(path)
    loaded = load(path)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    np.testing.assert_array_equal(loaded.components_, model.components_)
    np.testing.assert_array_equal(loaded.inverse_transform(np.zeros((1, 2))), model.inverse_transform(np.zeros((1, 2))))
    assert loaded.get_params() == model.get_params()
    assert loaded.history_["loss"] == model.history_["loss"]
    # The file is readable without pickle.
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(bytes(archive["__meta__"]).decode())
    assert meta["format"] == "sivae_sklearn" and "package_version" in meta


def test_feature_names_survive(tmp_path):
    import pandas as pd

    X = pd.DataFrame(np.random.RandomState(0).normal(size=(30, 4)), columns=list("abcd"))
    model = SiVAE(**TINY).fit(X)
    model.save(tmp_path / "m.sivae")
    loaded = load(tmp_path / "m.sivae")
    assert list(loaded.feature_names_in_) == list("abcd")
    assert loaded.feature_names_in_.dtype == object


def test_truncated_file(fitted, tmp_path):
    model, _ = fitted
    path = tmp_path / "m.sivae"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a valid sivae_sklearn model file: it is not a zip archive"):
        load(path)


def test_foreign_files(tmp_path):
    garbage = tmp_path / "garbage.sivae"
    garbage.write_bytes(b"\x00\x01not a model at all")
    with pytest.raises(ValueError, match="not a valid sivae_sklearn model file"):
        load(garbage)
    other_npz = tmp_path / "other.npz"
    np.savez(other_npz, a=np.arange(3))
    with pytest.raises(ValueError, match="not a valid sivae_sklearn model file: the archive has no model description"):
        load(other_npz)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.sivae")


def test_pickled_object_in_archive_is_never_unpickled(tmp_path):
    path = tmp_path / "evil.sivae"
    np.savez(path, __meta__=np.array([{"format": "sivae_sklearn"}], dtype=object))
    with pytest.raises(ValueError, match="not a valid sivae_sklearn model file"):
        load(str(path) + ".npz" if not path.exists() else path)


def _rewrite_meta(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "__meta__.npy":
                import io

                arr = np.load(io.BytesIO(data))
                meta = json.loads(bytes(arr).decode())
                change(meta)
                buf = io.BytesIO()
                np.save(buf, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
                data = buf.getvalue()
            zout.writestr(item, data)


def test_newer_format_version_says_why(fitted, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "m.sivae")
    _rewrite_meta(tmp_path / "m.sivae", tmp_path / "new.sivae", lambda m: m.update(format_version=99))
    with pytest.raises(ValueError, match="format 99.*Upgrade"):
        load(tmp_path / "new.sivae")


def test_unknown_parameter_says_which_version(fitted, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "m.sivae")
    _rewrite_meta(tmp_path / "m.sivae", tmp_path / "odd.sivae", lambda m: m["params"].update(future_knob=3))
    with pytest.raises(ValueError, match="future_knob"):
        load(tmp_path / "odd.sivae")


def test_corrupt_weights_shape(fitted, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "m.sivae")
    _rewrite_meta(tmp_path / "m.sivae", tmp_path / "bad.sivae", lambda m: m["network_config"].update(n_features=99))
    with pytest.raises(ValueError, match="inconsistent|shape"):
        load(tmp_path / "bad.sivae")


def test_random_state_instance_is_not_dropped_silently(tmp_path):
    X = np.random.RandomState(0).normal(size=(30, 4))
    model = SiVAE(**{**TINY, "random_state": np.random.RandomState(3)}).fit(X)
    with pytest.warns(UserWarning, match="RandomState instance"):
        model.save(tmp_path / "m.sivae")
    loaded = load(tmp_path / "m.sivae")
    assert loaded.random_state is None
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_committed_format1_file_loads_and_answers_as_recorded():
    """Backward compatibility: a model file written by the first release of the format."""
    from pathlib import Path

    data = Path(__file__).resolve().parent / "data"
    model = load(data / "model_format1.sivae")
    with np.load(data / "model_format1_expected.npz", allow_pickle=False) as archive:
        expected = {key: archive[key] for key in archive.files}
    import pandas as pd

    X = pd.DataFrame(expected["X"], columns=expected["feature_names_in_"])
    y = expected["y"]
    # float rounding may differ from the recording machine; the weights themselves are exact
    close = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.components_, expected["components_"])
    np.testing.assert_allclose(model.transform(X), expected["transform"], **close)
    np.testing.assert_allclose(model.score_samples(X, condition=y), expected["score_samples"], **close)
    points = np.array([[0.0, 0.0], [1.0, -0.5], [-2.0, 0.3]])
    np.testing.assert_allclose(model.inverse_transform(points, condition="b"), expected["inverse_transform_b"], **close)
    np.testing.assert_allclose(model.predict_proba(X), expected["predict_proba"], **close)
    assert list(model.feature_names_in_) == expected["feature_names_in_"].tolist()
    assert list(model.condition_categories_) == ["a", "b", "c"] and list(model.classes_) == ["a", "b", "c"]
