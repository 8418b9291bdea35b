"""Pickling and the single-file save format, including hostile files.

Edited files are generated with hypothesis from the committed format-1 file: changes of the
description (JSON) and of the arrays that no valid file can have must be refused with one
ModelFileError before any network is built; damaged bytes must load as the original or raise it.
"""

import contextlib
import json
import pickle
import tracemalloc
import zipfile
from pathlib import Path
from unittest import mock

import joblib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sivae_sklearn import ModelFileError, SiVAE, load
from sivae_sklearn._engine.likelihoods import LIKELIHOODS
from sivae_sklearn._engine.network import NetworkConfig, SiVAENetwork, weight_shapes
from sivae_sklearn._estimator import persistence
from sivae_sklearn._estimator.validation import memory_limit
from sivae_sklearn._modelfile.format import FORMAT_VERSION
from tests.presets import TINY


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
    np.testing.assert_array_equal(loaded.components_std_, model.components_std_)
    np.testing.assert_array_equal(loaded.inverse_transform(np.zeros((1, 2))), model.inverse_transform(np.zeros((1, 2))))
    assert loaded.get_params() == model.get_params()
    # the objective's parameters are saved (a file that lacks them means the original objective)
    SiVAE(**{**model.get_params(), "feature_kl_weight": 0.3, "feature_noise": 0.5}).fit(X).save(path)
    assert {k: load(path).get_params()[k] for k in ("feature_kl_weight", "feature_noise")} == {
        "feature_kl_weight": 0.3,
        "feature_noise": 0.5,
    }
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
    # written before the objective's parameters existed: it was trained with, and reports, the original objective
    from sivae_sklearn._engine.objective import ORIGINAL_OBJECTIVE

    params = model.get_params()
    assert {key: params[key] for key in ORIGINAL_OBJECTIVE} == ORIGINAL_OBJECTIVE
    assert params["feature_kl_weight"] != SiVAE().get_params()["feature_kl_weight"]  # not the present default
    np.testing.assert_array_equal(model.components_std_, model._compiled.feature_embedding()[1].T)
    # format 1 did not hold the feature reducer: the model loads, and what needs the reducer says why it cannot
    assert not hasattr(model, "feature_reducer_")
    with pytest.raises(AttributeError, match="no fitted feature reducer.*format 1.*refit"):
        model._feature_reducer()


# ------------------------------------------------------------------ edited files
FORMAT1 = Path(__file__).resolve().parent / "data" / "model_format1.sivae"


def read_members(path):
    """The description (a dict) and the arrays of a model file, read the plain NumPy way."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    return json.loads(bytes(arrays.pop("__meta__")).decode()), arrays


def write_members(path, meta, arrays, allow_pickle=False):
    members = {"__meta__": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays}
    with open(path, "wb") as fh:
        np.savez(fh, allow_pickle=allow_pickle, **members)


def edited_copy(path, change_meta=None, change_arrays=None, allow_pickle=False):
    """Write the committed format-1 file to ``path`` with its description and arrays changed in place."""
    meta, arrays = read_members(FORMAT1)
    for change, target in ((change_meta, meta), (change_arrays, arrays)):
        if change is not None:
            change(target)
    write_members(path, meta, arrays, allow_pickle=allow_pickle)
    return path


@contextlib.contextmanager
def never_built():
    """Fail if a network is built (the file must be refused before anything is allocated)."""
    with mock.patch.object(persistence, "SiVAENetwork", side_effect=AssertionError("a network was built")):
        yield


def assert_refused_file(path, match=None):
    with never_built(), pytest.raises(ModelFileError, match=match) as info:
        load(path)
    assert "pickle=" not in str(info.value) and str(path) in str(info.value)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("edited")


JSON_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False), st.text(max_size=5)
) | st.lists(st.integers(-5, 10**7), max_size=3)
IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
CONFIG_FIELDS = ["n_features", "n_feature_inputs", "n_components", "n_conditions", "n_classes"]


@st.composite
def meta_edit(draw):
    """A change of the description that no valid model file can have."""
    kind = draw(
        st.sampled_from(
            [
                "drop_top",
                "drop_config",
                "drop_attribute",
                "unknown_key",
                "config_type",
                "config_size",
                "config_layers",
                "structural_param",
                "likelihood",
                "inject_attribute",
                "attribute_count",
                "format",
                "object_attribute",
            ]
        )
    )
    if kind == "drop_top":
        key = draw(st.sampled_from(["format_version", "class", "params", "network_config", "attributes"]))
        return kind, lambda m: m.pop(key)
    if kind == "drop_config":
        key = draw(st.sampled_from(CONFIG_FIELDS + ["hidden_layer_sizes", "input_transform"]))
        return kind, lambda m: m["network_config"].pop(key)
    if kind == "drop_attribute":
        key = draw(st.sampled_from(["n_features_in_", "n_iter_", "n_components_", "history_"]))
        return kind, lambda m: m["attributes"].pop(key)
    if kind == "unknown_key":
        where = draw(st.sampled_from([None, "params", "network_config", "attributes", "private_attributes"]))
        name = draw(
            IDENTIFIERS.filter(lambda n: n not in persistence.FITTED_ATTRIBUTES and n not in SiVAE().get_params())
        )
        value = draw(JSON_VALUES)
        return kind, lambda m: (m if where is None else m[where]).update({f"x{name}": value})
    if kind == "config_type":
        key = draw(st.sampled_from(CONFIG_FIELDS + ["hidden_layer_sizes", "classifier_layer_sizes", "input_transform"]))
        value = draw(st.one_of(st.text(max_size=3), st.floats(0.5, 3.5), st.none(), st.just({"a": 1}), st.just([True])))
        return kind, lambda m: m["network_config"].update({key: value})
    if kind == "config_size":
        key = draw(st.sampled_from(CONFIG_FIELDS))
        delta = draw(st.integers(-3, 10**7).filter(lambda d: d != 0))
        return kind, lambda m: m["network_config"].update({key: m["network_config"][key] + delta})
    if kind == "config_layers":
        key = draw(st.sampled_from(["hidden_layer_sizes", "classifier_layer_sizes"]))
        current = {"hidden_layer_sizes": [8], "classifier_layer_sizes": [4]}[key]
        sizes = draw(st.lists(st.integers(1, 3 * 10**6), max_size=3).filter(lambda s: s != current))
        return kind, lambda m: m["network_config"].update({key: sizes})
    if kind == "structural_param":
        key, value = draw(
            st.sampled_from(
                [
                    ("n_components", 3),
                    ("hidden_layer_sizes", [9]),
                    ("hidden_layer_sizes", []),
                    ("classifier_layer_sizes", [5]),
                    ("conditional", False),
                    ("classifier_weight", 0.0),
                    ("feature_input_size", 2),
                    ("n_components", True),
                    ("hidden_layer_sizes", [8.0]),
                    ("batch_size", -1),
                ]
            )
        )
        return kind, lambda m: m["params"].update({key: value})
    if kind == "likelihood":
        value = draw(st.sampled_from(["nb", "poisson"]) | st.text(max_size=8).filter(lambda t: t not in LIKELIHOODS))
        return kind, lambda m: m["params"].update(likelihood=value)
    if kind == "inject_attribute":
        name = draw(st.sampled_from(["transform", "fit", "__class__", "_compiled", "_network"]) | IDENTIFIERS)
        name = name if name not in persistence.FITTED_ATTRIBUTES else f"{name}x"
        where = draw(st.sampled_from(["attributes", "private_attributes"]))
        value = draw(JSON_VALUES)
        return kind, lambda m: m[where].update({name: value})
    if kind == "attribute_count":
        key = draw(st.sampled_from(["n_features_in_", "n_components_", "n_iter_"]))
        bad = [-1, "6", 6.0, True, None] + ([] if key == "n_iter_" else [0, 7, 10**9])
        value = draw(st.sampled_from(bad))
        return kind, lambda m: m["attributes"].update({key: value})
    if kind == "format":
        key, value = draw(
            st.sampled_from([("format", "other"), ("format", None), ("format_version", 0), ("format_version", "1")])
        )
        return kind, lambda m: m.update({key: value})
    name = draw(st.sampled_from(["components_", "n_iter_", "missing_"]))
    return kind, lambda m: m["object_attributes"].append(name)


@settings(max_examples=150)
@given(meta_edit())
def test_an_edited_description_is_refused_before_anything_is_built(workdir, edit):
    kind, change = edit
    assert_refused_file(edited_copy(workdir / "edited_meta.sivae", change_meta=change))


def test_a_newer_format_version_asks_for_an_upgrade(workdir):
    newer = FORMAT_VERSION + 1
    path = edited_copy(workdir / "newer.sivae", change_meta=lambda m: m.update(format_version=newer))
    assert_refused_file(path, match=f"format {newer}.*Upgrade sivae_sklearn")


@st.composite
def array_edit(draw):
    """A change of the arrays that no valid model file can have."""
    _, arrays = read_members(FORMAT1)
    floats = sorted(k for k, v in arrays.items() if v.dtype.kind == "f")
    key = draw(st.sampled_from(floats))
    kind = draw(st.sampled_from(["nonfinite", "dtype", "shape", "drop", "extra", "objects"]))
    if kind == "nonfinite":
        index = draw(st.integers(0, arrays[key].size - 1))
        value = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return kind, lambda a: np.put(a[key], index, value)  # in place, whatever the memory order
    if kind == "dtype":
        dtype = draw(
            st.sampled_from(
                [np.int64, np.complex64, np.bool_, "S3"] + ([np.float64] if key.startswith("weights/") else [])
            )
        )
        return kind, lambda a: a.update({key: a[key].astype(dtype)})
    if kind == "shape":
        axis_change = draw(st.sampled_from(["add_row", "drop_row", "flatten_2d", "add_axis"]))

        def reshape(a):
            v = a[key]
            if axis_change == "add_row":
                a[key] = np.concatenate([v, v[:1]])
            elif axis_change == "drop_row" and v.shape[0] > 1:
                a[key] = v[1:]
            elif v.ndim == 2 and axis_change == "flatten_2d":
                a[key] = v.reshape(-1)
            else:
                a[key] = v[..., None]

        return kind, reshape
    if kind == "drop":
        return kind, lambda a: a.pop(key)
    if kind == "extra":
        name = draw(
            st.sampled_from(["weights/extra_kernel", "attr/transform", "attr/_model", "other/thing", "weights/../x"])
        )
        return kind, lambda a: a.update({name: np.zeros(3, np.float32)})
    return kind, lambda a: a.update({key: np.array([{"payload": 1}], dtype=object)})


@settings(max_examples=100)
@given(array_edit())
def test_edited_arrays_are_refused_before_anything_is_built(workdir, edit):
    kind, change = edit
    path = edited_copy(workdir / "edited_arrays.sivae", change_arrays=change, allow_pickle=kind == "objects")
    assert_refused_file(path)


class Payload:
    """Records whether unpickling ever ran."""

    unpickled = False

    def __reduce__(self):
        return (_mark_unpickled, ())


def _mark_unpickled():
    Payload.unpickled = True
    return "payload"


def test_a_pickled_payload_inside_a_model_file_never_runs(workdir):
    payload = {"attr/classes_": np.array([Payload()], dtype=object)}
    path = edited_copy(workdir / "payload.sivae", change_arrays=lambda a: a.update(payload), allow_pickle=True)
    assert_refused_file(path, match="object values, which a model file never holds")
    assert not Payload.unpickled


@settings(max_examples=60)
@given(st.data())
def test_damaged_bytes_load_as_the_original_or_raise_model_file_error(workdir, data):
    original = FORMAT1.read_bytes()
    damaged = bytearray(original)
    if data.draw(st.booleans(), label="truncate"):
        damaged = damaged[: data.draw(st.integers(0, len(original) - 1), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 4), label="flips")):
            position = data.draw(st.integers(0, len(original) - 1), label="position")
            damaged[position] ^= data.draw(st.integers(1, 255), label="mask")
    path = workdir / "damaged.sivae"
    path.write_bytes(bytes(damaged))
    try:
        model = load(path)
    except ModelFileError as exc:
        assert "pickle=" not in str(exc)
        return
    reference = load(FORMAT1)  # a flip in a date or a name the format ignores may leave a valid file
    np.testing.assert_array_equal(model.components_, reference.components_)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: np.save(p, np.ones(3)), "a single NumPy array"),
        (lambda p: p.write_bytes(pickle.dumps({"a": 1})), "looks like a Python pickle, which load.. never reads"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: zipfile.ZipFile(p, "w").writestr("notes.txt", "hello"), "no model description"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b'{"format": "other"}', np.uint8)), "format is 'other'"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b"[1, 2]", np.uint8)), "not a JSON object"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b"[" * 100000, np.uint8)), "corrupt JSON .nested too deeply"),
        (lambda p: np.savez(p, __meta__=np.frombuffer(b"\xff\xfe", np.uint8)), "corrupt JSON"),
        (lambda p: p.mkdir(), "it is a folder"),
    ],
)
def test_files_that_are_not_models_get_one_clear_error(tmp_path, make, match):
    path = tmp_path / "thing.sivae"
    make(path)
    if not path.exists():  # np.save and np.savez append their own extension
        path = next(tmp_path.glob("thing*"))
    assert_refused_file(path, match=match)


def set_hidden_layer_sizes(meta, sizes):
    """Edit the layer sizes consistently: in the parameters and in the network configuration."""
    meta["params"]["hidden_layer_sizes"] = meta["network_config"]["hidden_layer_sizes"] = sizes


def test_edited_sizes_allocate_nothing_before_the_error(workdir):
    """A 10 KB file whose sizes were edited (consistently) is refused after reading its headers only."""
    path = edited_copy(workdir / "big.sivae", change_meta=lambda m: set_hidden_layer_sizes(m, [20_000]))
    tracemalloc.start()
    try:
        assert_refused_file(path, match="weight '.*' has shape|more than this machine's")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # the network described would take 20,000 x 20,000 floats (1.6 GB)


def test_a_file_describing_a_network_beyond_memory_names_the_parameter(workdir):
    path = edited_copy(workdir / "huge.sivae", change_meta=lambda m: set_hidden_layer_sizes(m, [memory_limit()]))
    assert_refused_file(path, match="hidden_layer_sizes=.*more than this machine's")


@settings(max_examples=40)
@given(
    st.builds(
        NetworkConfig,
        n_features=st.integers(1, 6),
        n_feature_inputs=st.integers(1, 4),
        n_components=st.integers(1, 3),
        hidden_layer_sizes=st.lists(st.integers(1, 5), max_size=3).map(tuple),
        n_conditions=st.integers(0, 3),
        n_classes=st.integers(0, 3),
        classifier_layer_sizes=st.lists(st.integers(1, 4), max_size=2).map(tuple),
        feature_hidden_layer_sizes=st.none() | st.lists(st.integers(1, 5), max_size=3).map(tuple),
    )
)
def test_weight_shapes_are_those_of_the_built_network(config):
    built = {name: value.shape for name, value in SiVAENetwork(config, seed=0).get_weights().items()}
    assert weight_shapes(config) == built


def test_every_fitted_attribute_is_in_the_file_schema():
    import pandas as pd

    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(40, 4)), columns=list("abcd"))
    y = np.repeat(["u", "v"], 20)
    model = SiVAE(**{**TINY, "max_epochs": 1, "conditional": True, "classifier_weight": 1.0}).fit(X, y)
    fitted = {name for name in vars(model) if name.endswith("_") and not name.startswith("_")}
    # the feature reducer is stored apart, as the description's feature_reducer and reducer/ arrays
    embedding = set(persistence.EMBEDDING_ATTRIBUTES)  # only with external feature embeddings
    programs = {"program_support_"}  # only with feature_programs
    assert fitted == set(persistence.FITTED_ATTRIBUTES) - embedding - programs | {"feature_reducer_"}
    with_programs = SiVAE(**{**TINY, "max_epochs": 1, "n_components": 2, "feature_programs": {"ab": ["a", "b"]}}).fit(X)
    assert programs <= set(vars(with_programs)) and "dimension_names_" in vars(with_programs)
    external = SiVAE(**{**TINY, "max_epochs": 1, "feature_input": rng.normal(size=(4, 2))}).fit(X)
    fitted = {name for name in vars(external) if name.endswith("_") and not name.startswith("_")}
    assert embedding <= fitted <= set(persistence.FITTED_ATTRIBUTES)


# ------------------------------------------------------------------ the feature reducer
def assert_same_reducer(a, b):
    for name in ("method", "size", "width_", "n_samples_fit_", "scale_"):
        assert getattr(a, name) == getattr(b, name), name
    np.testing.assert_array_equal(a.rows_, b.rows_)
    if a.axes_ is None:
        assert b.axes_ is None
    else:
        np.testing.assert_array_equal(a.axes_, b.axes_)


@pytest.fixture(scope="module", params=["pca", "subsample"])
def saved_reducer(request, tmp_path_factory):
    X = np.random.RandomState(1).normal(size=(40, 5))
    model = SiVAE(**{**TINY, "max_epochs": 1, "feature_input": request.param, "feature_input_size": 4}).fit(X)
    path = tmp_path_factory.mktemp("reducer") / f"{request.param}.sivae"
    model.save(path)
    return model, X, path


def test_the_feature_reducer_survives_save_load_and_pickle(saved_reducer):
    model, X, path = saved_reducer
    new_column = X[:, :2] * 2.0 - 1.0
    for clone in (load(path), pickle.loads(pickle.dumps(model))):
        assert_same_reducer(clone._feature_reducer(), model.feature_reducer_)
        np.testing.assert_array_equal(
            clone._feature_reducer().transform(new_column), model.feature_reducer_.transform(new_column)
        )
    meta, arrays = read_members(path)
    assert meta["format_version"] == FORMAT_VERSION and meta["feature_reducer"]["method"] == model.feature_input
    assert {k for k in arrays if k.startswith("reducer/")} == {"reducer/rows"} | (
        {"reducer/axes"} if model.feature_input == "pca" else set()
    )


REDUCER_EDITS = {
    "width": lambda m, a: m["feature_reducer"].update(width=m["feature_reducer"]["width"] + 1),
    "size": lambda m, a: m["feature_reducer"].update(size=99),
    "method": lambda m, a: m["feature_reducer"].update(method="tsne"),
    "scale_zero": lambda m, a: m["feature_reducer"].update(scale=0.0),
    "scale_text": lambda m, a: m["feature_reducer"].update(scale="1"),
    "samples_bool": lambda m, a: m["feature_reducer"].update(n_samples_fit=True),
    "no_reducer_but_arrays": lambda m, a: m.update(feature_reducer=None),
    "extra_value": lambda m, a: m["feature_reducer"].update(extra=1),
    "drop_rows": lambda m, a: a.pop("reducer/rows"),
    "rows_2d": lambda m, a: a.update({"reducer/rows": a["reducer/rows"][:, None]}),
    "rows_float": lambda m, a: a.update({"reducer/rows": a["reducer/rows"].astype(np.float64)}),
    "rows_too_many": lambda m, a: a.update({"reducer/rows": np.arange(m["feature_reducer"]["n_samples_fit"] + 1)}),
    "rows_object": lambda m, a: a.update({"reducer/rows": a["reducer/rows"].astype(object)}),
    "reducer_not_a_dict": lambda m, a: m.update(feature_reducer=[1]),
    "lacks_reducer_key": lambda m, a: m.pop("feature_reducer"),
}
REDUCER_VALUE_EDITS = {  # only visible once the arrays are read
    "rows_beyond_the_fit": lambda m, a: np.put(a["reducer/rows"], -1, m["feature_reducer"]["n_samples_fit"]),
    "rows_unsorted": lambda m, a: a.update({"reducer/rows": a["reducer/rows"][::-1].copy()}),
    "rows_negative": lambda m, a: np.put(a["reducer/rows"], 0, -1),
}


def _edit_reducer_file(path, out, edit, allow_pickle=False):
    meta, arrays = read_members(path)
    edit(meta, arrays)
    write_members(out, meta, arrays, allow_pickle=allow_pickle)
    return out


@pytest.mark.parametrize("edit", sorted(REDUCER_EDITS))
def test_an_edited_feature_reducer_is_refused_before_anything_is_built(saved_reducer, tmp_path, edit):
    _, _, path = saved_reducer
    out = _edit_reducer_file(path, tmp_path / "edited.sivae", REDUCER_EDITS[edit], allow_pickle=edit == "rows_object")
    assert_refused_file(out)


@pytest.mark.parametrize("edit", sorted(REDUCER_VALUE_EDITS))
def test_feature_reducer_rows_outside_the_fit_are_refused(saved_reducer, tmp_path, edit):
    _, _, path = saved_reducer
    out = _edit_reducer_file(path, tmp_path / "edited.sivae", REDUCER_VALUE_EDITS[edit])
    with never_built(), pytest.raises(ModelFileError, match="rows must be sorted") as info:
        load(out)
    assert str(out) in str(info.value)


def test_edited_pca_axes_are_refused(saved_reducer, tmp_path):
    model, _, path = saved_reducer
    if model.feature_input != "pca":
        pytest.skip("only the PCA keeps axes")
    for name, edit in {
        "shape": lambda m, a: a.update({"reducer/axes": a["reducer/axes"][1:]}),
        "nonfinite": lambda m, a: np.put(a["reducer/axes"], 3, np.nan),
        "int": lambda m, a: a.update({"reducer/axes": a["reducer/axes"].astype(np.int64)}),
        "drop": lambda m, a: a.pop("reducer/axes"),
    }.items():
        assert_refused_file(_edit_reducer_file(path, tmp_path / f"{name}.sivae", edit))
