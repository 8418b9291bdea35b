"""Bad input gets a clear error before any training starts: the cases found by hand.

Generated bad input at every entry point is tested in test_bad_inputs.py.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from sivae_sklearn import SiVAE, TrainingDivergedError
from sivae_sklearn._estimator.parameters import PARAMETERS
from tests.presets import TINY


@pytest.fixture
def X(small_X):
    """The data of the shared ``small_model`` (a fresh copy for each test)."""
    return small_X.copy()


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0], [0.0, 1.0]]), "NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0], [0.0, 1.0]]), "infinity"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "X holds strings"),
        (np.zeros((0, 3)), "0 sample"),
        (np.ones((1, 3)), "1 sample"),
        (np.ones((5, 1)), "n_features=1"),
        (np.ma.masked_array(np.ones((4, 3)), mask=np.eye(4, 3)), "masked array"),
        (np.array([["1.5", "2"], ["3", "4"], ["5", "6"]]), "holds strings"),
        (np.full((4, 3), 1e300), "float32 range"),
    ],
)
def test_bad_training_data(bad, match):
    with pytest.raises(ValueError, match=match):
        SiVAE(**TINY).fit(bad)


def test_wrong_width_at_transform(X, small_model):
    model = small_model
    with pytest.raises(ValueError, match="5 features"):
        model.transform(X[:, :3])
    with pytest.raises(ValueError, match="n_components=2"):
        model.inverse_transform(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 0},
        {"learning_rate": -1.0},
        {"likelihood": "cauchy"},
        {"batch_size": 0},
        {"validation_fraction": 1.0},
        {"feature_input": "magic"},
        {"schedule": "sometimes"},
        {"feature_kl_weight": "sum"},
        {"feature_kl_weight": -1.0},
        {"feature_kl_weight": True},
        {"feature_noise": 1.5},
        {"feature_noise": -0.1},
        {"interpretability_moves_embedding": "no"},
    ],
)
def test_impossible_parameters(params, X):
    with pytest.raises(ValueError):
        SiVAE(**{**TINY, **params}).fit(X)


def test_bad_hidden_layer_sizes(X):
    with pytest.raises(ValueError, match="positive integers"):
        SiVAE(**{**TINY, "hidden_layer_sizes": (8, 0)}).fit(X)


def test_bernoulli_needs_unit_interval(X):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SiVAE(**{**TINY, "likelihood": "bernoulli"}).fit(X)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SiVAE().transform(np.zeros((2, 3)))


def test_diverging_run_raises_naming_the_cause():
    X = np.random.RandomState(0).normal(size=(40, 6)) * 1e18
    with pytest.raises(TrainingDivergedError, match="learning rate is too high"):
        SiVAE(**{**TINY, "learning_rate": 10.0}).fit(X)


# ------------------------------------------------------------- the cases found
def test_a_zero_width_classifier_layer_is_refused_before_the_network_exists(X):
    """A width of 0 used to abort the whole process inside oneDNN."""
    with pytest.raises(ValueError, match="'classifier_layer_sizes' parameter"):
        SiVAE(**{**TINY, "classifier_weight": 1.0, "classifier_layer_sizes": (0,)}).fit(X, np.arange(30) % 2)


@pytest.mark.parametrize("name", ["hidden_layer_sizes", "feature_hidden_layer_sizes", "classifier_layer_sizes"])
def test_a_network_beyond_memory_names_the_parameter(X, name):
    from sivae_sklearn._estimator.validation import memory_limit

    params = {**TINY, "classifier_weight": 1.0, name: (memory_limit(),)}
    with pytest.raises(ValueError, match=f"{name}=.*more than this machine's .* of memory"):
        SiVAE(**params).fit(X, np.arange(30) % 2)


def test_non_finite_results_are_never_returned_quietly(X, small_model):
    """Valid input far outside the training range could overflow the network: an error, never NaN."""
    from unittest import mock

    from sivae_sklearn._engine.inference import CompiledModel

    model = small_model
    nan = np.full((30, 2), np.nan, np.float32)
    with mock.patch.object(CompiledModel, "embed", return_value=(nan, nan)):
        with pytest.raises(ValueError, match="transform gave non-finite values: X holds values so far outside"):
            model.transform(X)
    with mock.patch.object(CompiledModel, "decode", return_value=np.full((2, 5), np.inf)):
        with pytest.raises(ValueError, match="inverse_transform gave non-finite values"):
            model.inverse_transform(np.zeros((2, 2)))
    with mock.patch.object(CompiledModel, "elbo", return_value=np.full(30, -np.inf)):
        with pytest.raises(ValueError, match="score_samples gave non-finite values"):
            model.score_samples(X)


def test_a_refused_refit_leaves_the_fitted_model_as_it_was(X):
    model = SiVAE(**TINY).fit(X)
    before = model.transform(X)
    with pytest.raises(ValueError, match="holds strings"):
        model.fit(X[:, :3].astype(str))
    assert model.n_features_in_ == 5
    np.testing.assert_array_equal(model.transform(X), before)


def test_a_validation_fraction_that_holds_out_no_row_says_so(X):
    with pytest.warns(UserWarning, match=r"validation_fraction=0.01 of 30 samples holds out no row"):
        model = SiVAE(**{**TINY, "validation_fraction": 0.01}).fit(X)
    assert "val_loss" not in model.history_ or not model.history_["val_loss"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", FutureWarning)  # the presets still name the deprecated kl_warmup_steps
        SiVAE(**{**TINY, "validation_fraction": 0.0}).fit(X)  # no validation set asked for: silent
        SiVAE(**{**TINY, "validation_fraction": 0.01, "early_stopping": False}).fit(X)


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("value", [0.0, 1.0])
def test_an_all_zero_or_constant_matrix_fits(value, sparse):
    import scipy.sparse as sp

    X = np.full((40, 80), value)  # wider than the feature input's PCA: ARPACK cannot run on it
    X = sp.csr_matrix(X) if sparse else X
    model = SiVAE(**{**TINY, "max_epochs": 1}).fit(X)
    assert np.all(np.isfinite(model.transform(X)))
    assert np.all(np.isfinite(model.components_))


@pytest.mark.parametrize("rank", [0, 1, 3])
def test_feature_inputs_of_a_matrix_of_low_rank_have_the_requested_width(rank):
    import scipy.sparse as sp

    from sivae_sklearn._arrays.feature_inputs import make_feature_inputs

    rng = np.random.RandomState(0)
    X = sp.csr_matrix(rng.rand(40, rank) @ rng.rand(rank, 80))  # rank below the 20 axes asked for
    inputs = make_feature_inputs(X, "pca", 20, np.random.RandomState(0))
    assert inputs.shape == (80, 20) and np.all(np.isfinite(inputs))
    assert np.linalg.matrix_rank(inputs, tol=1e-3) == rank  # the axes beyond the rank carry nothing


def test_mixed_type_categories_are_refused(X):
    mixed = np.array([1, "1"] * 15, dtype=object)
    with pytest.raises(ValueError, match=r"y mixes numbers and strings \(e.g. 1 and '1'\)"):
        SiVAE(**{**TINY, "classifier_weight": 1.0}).fit(X, mixed)
    with pytest.raises(ValueError, match="condition mixes numbers and strings"):
        SiVAE(**{**TINY, "conditional": True}).fit(X, condition=mixed)


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros(30), "single class"),
        (np.linspace(0, 1, 30), "'continuous'"),
        (np.c_[np.arange(30) % 2] * [1, 1], "1-D"),
    ],
)
def test_classifier_labels_are_checked_as_scikit_learn_checks_them(X, y, match):
    with pytest.raises(ValueError, match=match):
        SiVAE(**{**TINY, "classifier_weight": 1.0}).fit(X, y)


@pytest.mark.parametrize("value", [True, 8.0, np.bool_(True)])
def test_bools_and_floats_are_not_widths_or_counts(X, value):
    for name in ("hidden_layer_sizes", "classifier_layer_sizes"):
        with pytest.raises(ValueError, match=f"'{name}' parameter"):
            SiVAE(**{**TINY, name: (value,)}).fit(X)
    if isinstance(value, (bool, np.bool_)):
        with pytest.raises(ValueError, match="'batch_size' parameter .*not a bool"):
            SiVAE(**{**TINY, "batch_size": value}).fit(X)


@pytest.mark.parametrize(
    "column, expected",
    [
        (["True", "False", "true", "FALSE"], [True, False, True, False]),
        ([1, 0, 1, 0], [True, False, True, False]),
        ([True, None, False, True], [True, False, False, True]),
    ],
)
def test_string_booleans_are_read_never_cast(column, expected):
    import pandas as pd

    from sivae_sklearn._estimator.validation import check_boolean_column

    assert check_boolean_column(pd.Series(column, dtype=object), "mask").tolist() == expected


def test_a_boolean_column_with_other_values_is_refused():
    import pandas as pd

    from sivae_sklearn._estimator.validation import check_boolean_column

    for bad in (["True", "maybe"], [0, 2]):
        with pytest.raises(ValueError, match="mask must be boolean"):
            check_boolean_column(pd.Series(bad), "mask")


# ------------------------------------------------- parameters beyond float32
FLOAT_PARAMETERS = sorted(
    name for name, p in PARAMETERS.items() if any(getattr(c, "kind", None) == "float" for c in p.allowed)
)


def test_every_real_parameter_is_checked_for_float32_range():
    assert {"beta", "interpretability_weight", "l2_penalty", "learning_rate", "classifier_weight"} <= set(
        FLOAT_PARAMETERS
    )


@pytest.mark.parametrize("name", FLOAT_PARAMETERS)
@pytest.mark.parametrize("value", [1e39, 3.5e38, np.float64(1e300)])
def test_a_real_parameter_beyond_float32_is_refused_before_training(X, name, value):
    from unittest import mock

    from sivae_sklearn._estimator import sivae as estimator_module

    model = SiVAE(**TINY).set_params(**{name: value})
    with mock.patch.object(estimator_module, "train", side_effect=AssertionError("trained")):
        with pytest.raises(ValueError, match=rf"'{name}' parameter of SiVAE .*within float32 range"):
            model.fit(X)
    assert not hasattr(model, "n_features_in_")


def test_the_command_line_refuses_the_same_values():
    with pytest.raises(ValueError, match="within float32 range"):
        PARAMETERS["beta"].parse("1e39")
    assert PARAMETERS["beta"].parse("3e38") == 3e38


# ------------------------------------------------------------- wrong types
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X: np.array(X.tolist(), dtype=object) + np.eye(30, 5, dtype=object) * 1j, "X holds complex numbers"),
        (lambda X: X + 0j, "Complex data not supported"),
        (np.asmatrix, r"numpy.matrix.*np.asarray\(X\)"),
        (lambda X: X.astype(np.int64).astype("datetime64[D]"), "X holds dates or times"),
        (
            lambda X: pd.DataFrame(X).assign(t=pd.date_range("2020", periods=30)),
            r"X holds dates or times \(column 't'\)",
        ),
    ],
)
def test_wrong_types_are_a_type_error_from_our_validation(X, small_model, make, match):
    from sivae_sklearn import DataTypeError

    bad = make(X)
    with pytest.raises(DataTypeError, match=match) as info:
        SiVAE(**TINY).fit(bad)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    if np.shape(bad)[1] == 5:  # the same error after fit
        with pytest.raises(DataTypeError, match=match):
            small_model.transform(bad)


# ------------------------------------------------------------ lazy inputs
def test_a_dask_array_with_unknown_chunk_sizes_says_to_compute_them(X, small_model):
    da = pytest.importorskip("dask.array")
    from unittest import mock

    from sivae_sklearn._estimator import sivae as estimator_module

    lazy = da.from_array(X, chunks=10)
    masked = lazy[lazy[:, 0] > -10]  # a dask mask: the row count is unknown until computed
    assert np.isnan(masked.shape[0])
    with mock.patch.object(estimator_module, "train", side_effect=AssertionError("trained")):
        with pytest.raises(ValueError, match=r"X is a dask array with chunks of unknown size.*compute_chunk_sizes\(\)"):
            SiVAE(**TINY).fit(masked)
    model = small_model
    for method in (model.transform, model.score_samples):
        with pytest.raises(ValueError, match=r"compute_chunk_sizes\(\)"):
            method(masked)
    np.testing.assert_allclose(model.transform(masked.compute_chunk_sizes()), model.transform(X), rtol=1e-5)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_a_backed_h5ad_with_a_corrupt_gzip_chunk_names_the_file_and_x(tmp_path, layout):
    anndata = pytest.importorskip("anndata")
    h5py = pytest.importorskip("h5py")
    from unittest import mock

    import scipy.sparse as sp

    from sivae_sklearn import DataFileError
    from sivae_sklearn._estimator import sivae as estimator_module

    counts = np.random.RandomState(0).poisson(2.0, size=(200, 30)).astype(np.float32)
    path = tmp_path / f"{layout}.h5ad"
    anndata.AnnData(counts if layout == "dense" else sp.csr_matrix(counts)).write_h5ad(path, compression="gzip")
    with h5py.File(path, "r") as f:
        dataset = f["X"] if layout == "dense" else f["X/data"]
        assert dataset.compression == "gzip"
        chunk = dataset.id.get_chunk_info(0)
    with open(path, "r+b") as fh:  # damage the middle of the first compressed chunk
        fh.seek(chunk.byte_offset + chunk.size // 2)
        fh.write(b"\xff" * 16)
    model = SiVAE(**{**TINY, "likelihood": "poisson"}).fit(counts)
    backed = anndata.read_h5ad(path, backed="r")
    try:
        match = rf"Cannot read rows 0:\d+ of X from '/X' in '{re.escape(str(path))}'.*damaged"
        with mock.patch.object(estimator_module, "train", side_effect=AssertionError("trained")):
            with pytest.raises(DataFileError, match=match) as info:
                SiVAE(**{**TINY, "likelihood": "poisson"}).fit(backed.X)
        assert isinstance(info.value, OSError) and isinstance(info.value, ValueError)
        assert isinstance(info.value.__cause__, OSError)
        with pytest.raises(DataFileError, match=match):
            model.transform(backed.X)
    finally:
        backed.file.close()


# ------------------------------------------------------------ output sizes
def _memory(n_bytes):
    """This machine's memory, as the size checks see it, set to ``n_bytes``."""
    from unittest import mock

    from sivae_sklearn._estimator import validation

    return mock.patch.object(validation, "memory_limit", return_value=n_bytes)


def test_inverse_transform_and_transform_check_the_output_size_before_computing(X, small_model):
    from unittest import mock

    from sivae_sklearn._engine.inference import CompiledModel

    model = small_model
    Z = np.zeros((4_000, 2))
    with _memory(4_000 * 5 * 8 - 1), mock.patch.object(CompiledModel, "decode", side_effect=AssertionError("ran")):
        with pytest.raises(ValueError, match=r"inverse_transform of X with 4,000 latent points \(x 5 features\) asks"):
            model.inverse_transform(Z)
    with _memory(4_000 * 5 * 8):
        assert model.inverse_transform(Z).shape == (4_000, 5)  # exactly at the limit: allowed
    rows = np.zeros((1_000, 5))
    with _memory(2 * 1_000 * 2 * 8 - 1), mock.patch.object(CompiledModel, "embed", side_effect=AssertionError("ran")):
        with pytest.raises(ValueError, match=r"transform of X with 1,000 rows .* in slices of rows"):
            model.transform(rows)
    with _memory(1_000 * 5 * 8 - 1), mock.patch.object(CompiledModel, "level_fits", side_effect=AssertionError("ran")):
        with pytest.raises(ValueError, match=r"feature_awareness\(X, per_sample=True\) of X \(1000, 5\) asks"):
            model.feature_awareness(rows, per_sample=True)


def test_the_explorer_refuses_to_densify_a_sparse_h5ad_beyond_memory(tmp_path):
    anndata = pytest.importorskip("anndata")
    import scipy.sparse as sp

    from sivae_sklearn.explorer import ExplorerInputError, load_data

    path = tmp_path / "cells.h5ad"
    anndata.AnnData(sp.random(300, 40, density=0.05, format="csr", random_state=0, dtype=np.float32)).write_h5ad(path)
    with _memory(300 * 40 * 8 - 1), pytest.raises(ExplorerInputError, match=r"densifies .*cells.h5ad.* 300 cells x 40"):
        load_data(path)
    with _memory(300 * 40 * 8):
        X, _, names = load_data(path)
    assert X.shape == (300, 40) and names.shape == (40,)


def test_the_explorer_refuses_to_densify_sparse_x_beyond_memory(X, small_model):
    import scipy.sparse as sp

    from sivae_sklearn.explorer import ExplorerInputError, prepare

    model = small_model
    with _memory(30 * 5 * 8 - 1), pytest.raises(ExplorerInputError, match=r"densifies X of 30 cells x 5 genes"):
        prepare(model, sp.csr_matrix(X))


# ------------------------------------------------------- feature awareness
@pytest.mark.parametrize("scale", [1e19, 1e20, 1e30])
def test_feature_awareness_of_huge_inputs_is_computed_in_float64_never_inf(X, small_model, scale):
    """Float32 squares overflow from about 1.8e19; the network's values are squared in float64."""
    from sivae_sklearn._engine.inference import CompiledModel

    model = small_model
    big = X * scale
    awareness = model.feature_awareness(big)
    per_sample = model.feature_awareness(big, per_sample=True)
    assert np.all(np.isfinite(awareness)) and np.all(np.isfinite(per_sample))
    x_in, fits = CompiledModel.level_fits(model._compiled, big.astype(np.float32))
    x_in, fit = x_in.astype(np.float64), fits[-1].astype(np.float64)
    expected = np.square(x_in - model.mean_) - np.square(x_in - fit)
    np.testing.assert_allclose(per_sample, expected, rtol=1e-12)
    np.testing.assert_allclose(awareness, expected.mean(axis=0), rtol=1e-9)


def test_feature_awareness_refuses_to_return_inf_when_the_network_overflows(X, small_model):
    from unittest import mock

    from sivae_sklearn._engine.inference import CompiledModel

    model = small_model
    n_levels = model._network_config.n_levels
    overflowed = (np.ones((30, 5), np.float32), [np.full((30, 5), np.inf, np.float32)] * n_levels)
    with mock.patch.object(CompiledModel, "level_fits", return_value=overflowed):
        with pytest.raises(ValueError, match="feature_awareness gave non-finite values: X holds values so far"):
            model.feature_awareness(X)


# ------------------------------------------------------ columns by name
def test_dataframe_columns_are_matched_by_name_and_mismatches_named(X):
    frame = pd.DataFrame(X, columns=list("abcde"))
    model = SiVAE(**TINY).fit(frame)
    np.testing.assert_array_equal(model.transform(frame[list("ecabd")]), model.transform(frame))
    with pytest.raises(ValueError, match=r"1 feature\(s\) of the model are not in the columns of X: \['e'\]"):
        model.transform(frame[list("abcd")])
    with pytest.raises(
        ValueError, match=r"X has 1 column\(s\) the model was not fitted on: \['f'\].*feature_names_in_"
    ):
        model.transform(frame.assign(f=1.0))
    with pytest.raises(ValueError, match=r"X has repeated column names \['a'\]"):
        model.transform(pd.DataFrame(np.c_[X, X[:, :1]], columns=[*"abcde", "a"]))
    with pytest.warns(UserWarning, match="does not have valid feature names"):  # no names: by position
        np.testing.assert_array_equal(model.transform(X), model.transform(frame))
