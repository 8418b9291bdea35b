"""Generated bad input at every entry point: the right error, a message naming the argument, nothing computed.

Hypothesis draws bad inputs class by class: data (dense and sparse) at fit and after it, data outside
the likelihood's support, latent points, parameters, class labels and conditions, the arguments of the
generation functions, ``tl.sivae`` and the explorer. Every example must raise a ValueError whose
message names the argument, and nothing may be computed: ``fit`` never reaches the training loop (and
leaves no fitted attribute), a fitted model never evaluates its network.
"""

import contextlib
import re
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sivae_sklearn import SiVAE, generation, metrics, tl
from sivae_sklearn._engine.inference import CompiledModel
from sivae_sklearn._estimator import sivae as estimator_module
from sivae_sklearn._estimator.validation import memory_limit

FAST = dict(hidden_layer_sizes=(8,), max_epochs=1, kl_warmup_steps=1, batch_size=16, random_state=0)
N, G = 24, 5
_rng = np.random.RandomState(0)
VALID = {
    "gaussian": _rng.normal(size=(N, G)),
    "bernoulli": _rng.uniform(size=(N, G)),
    "nb": _rng.poisson(3.0, size=(N, G)).astype(np.float64),
}
LABELS = np.repeat([0, 1], N // 2)
COMPUTATIONS = ("embed", "decode", "elbo", "level_fits", "latent_jacobian", "class_probabilities")


@contextlib.contextmanager
def nothing_computed():
    """Fail if training starts or a fitted network is evaluated."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(estimator_module, "train", side_effect=AssertionError("trained")))
        for name in COMPUTATIONS:
            stack.enter_context(mock.patch.object(CompiledModel, name, side_effect=AssertionError(f"{name} ran")))
        yield


def names(message: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message) is not None


def assert_refused(call, name: str) -> None:
    with nothing_computed(), pytest.raises(ValueError) as info:
        call()
    assert names(str(info.value), name), f"the message does not name {name!r}: {info.value}"
    assert "allow_pickle" not in str(info.value)


def assert_fit_refused(params: dict, name: str, X=None, y=None, **fit_kwargs) -> None:
    model = SiVAE(**{**FAST, **params})
    assert_refused(lambda: model.fit(VALID["gaussian"] if X is None else X, y, **fit_kwargs), name)
    assert not [attr for attr in vars(model) if attr.endswith("_") and not attr.startswith("_")]


# ----------------------------------------------------------------- strategies
DENSE_DEFECTS = (
    "nan",
    "inf",
    "beyond_float32",
    "masked",
    "numeric_strings",
    "one_numeric_string",
    "list_of_strings",
    "dataframe_string_column",
    "complex",
    "three_dimensional",
    "no_features",
)


@st.composite
def defective(draw, base: np.ndarray, defects=DENSE_DEFECTS):
    """``base`` (a 2-D float array) with one defect, and the row holding it."""
    defect = draw(st.sampled_from(defects))
    i = draw(st.integers(0, base.shape[0] - 1))
    j = draw(st.integers(0, base.shape[1] - 1))
    X = base.copy()
    if defect == "nan":
        X[i, j] = np.nan
    elif defect == "inf":
        X[i, j] = draw(st.sampled_from([np.inf, -np.inf]))
    elif defect == "beyond_float32":
        X[i, j] = draw(st.floats(3.5e38, 1e308)) * draw(st.sampled_from([1.0, -1.0]))
    elif defect == "masked":
        mask = np.zeros(X.shape, bool)
        mask[i, j] = True
        X = np.ma.masked_array(X, mask=mask)
    elif defect == "numeric_strings":
        X = X.astype(str)
    elif defect == "one_numeric_string":
        X = X.astype(object)
        X[i, j] = str(X[i, j])
    elif defect == "list_of_strings":
        X = X.astype(str).tolist()
    elif defect == "dataframe_string_column":
        X = pd.DataFrame(X).astype({j: str})
    elif defect == "complex":
        X = X + 1j * draw(st.floats(0.5, 10))
    elif defect == "three_dimensional":
        X = X[:, :, None]
    elif defect == "no_features":
        X = X[:, :0]
    return X, i


@st.composite
def defective_sparse(draw, base: np.ndarray):
    """A CSR or CSC matrix holding NaN, inf or a value beyond float32."""
    X = base.copy()
    i, j = draw(st.integers(0, X.shape[0] - 1)), draw(st.integers(0, X.shape[1] - 1))
    X[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e39, -1e300]))
    return draw(st.sampled_from([sp.csr_matrix, sp.csc_matrix]))(X)


@st.composite
def out_of_support(draw):
    """``(likelihood, X)`` with one value the likelihood cannot produce, dense or sparse."""
    likelihood = draw(st.sampled_from(["bernoulli", "nb", "poisson"]))
    X = VALID["nb" if likelihood == "poisson" else likelihood].copy()
    i, j = draw(st.integers(0, N - 1)), draw(st.integers(0, G - 1))
    if likelihood == "bernoulli":
        X[i, j] = draw(st.one_of(st.floats(1.001, 1e30), st.floats(-1e30, -0.001)))
    else:
        X[i, j] = draw(st.floats(-1e30, -0.001))
    return likelihood, sp.csr_matrix(X) if draw(st.booleans()) else X


def _bad_numbers(low, *, open_low=False, high=None, integer=True):
    """Values outside ``[low, high)`` (or ``(low, high)``) or of the wrong type, bools included."""
    if integer:
        below = st.integers(max_value=low - 1)
    else:  # below a closed bound: strictly negative (-0.0 would pass as 0)
        below = st.floats(max_value=low) if open_low else st.floats(max_value=low - 1e-9)
    wrong = [st.booleans(), st.none(), st.text(max_size=3), st.just([1]), st.just(np.nan)]
    if integer:
        wrong += [st.floats(), st.just(np.float64(2.0))]
    else:
        wrong += [st.just(np.inf), st.just(-np.inf)]
    if high is not None:
        wrong.append(st.floats(min_value=high, allow_infinity=False))
    return st.one_of(below, *wrong)


INTEGER_PARAMETERS = {
    "n_components": 1,
    "kl_warmup_steps": 0,
    "feature_input_size": 1,
    "batch_size": 1,
    "max_epochs": 1,
    "pretrain_epochs": 0,
    "n_iter_no_change": 1,
}
REAL_PARAMETERS = {
    "beta": {},
    "interpretability_weight": {},
    "l2_penalty": {},
    "learning_rate": {"open_low": True},
    "validation_fraction": {"high": 1.0},
    "tol": {},
    "classifier_weight": {},
}
BAD_LAYER_SIZES = st.one_of(
    st.lists(st.integers(max_value=0), min_size=1, max_size=3).map(tuple),
    st.tuples(st.integers(1, 64), st.sampled_from([True, False, 8.0, 0.5, "8", None, -3])),
    st.sampled_from([8, "8,4", None, 8.0, {8: 4}, np.array([8])]),
)


@st.composite
def bad_parameter(draw):
    """``(name, value)`` of one impossible constructor parameter."""
    kind = draw(st.sampled_from(["integer", "real", "layers"]))
    if kind == "integer":
        name = draw(st.sampled_from(sorted(INTEGER_PARAMETERS)))
        return name, draw(_bad_numbers(INTEGER_PARAMETERS[name]))
    if kind == "real":
        name = draw(st.sampled_from(sorted(REAL_PARAMETERS)))
        return name, draw(_bad_numbers(0, integer=False, **REAL_PARAMETERS[name]))
    return draw(st.sampled_from(["hidden_layer_sizes", "classifier_layer_sizes"])), draw(BAD_LAYER_SIZES)


LABEL_DEFECTS = ("continuous", "single_class", "mixed_types", "length", "missing", "2d", "masked")
CATEGORY_DEFECTS = LABEL_DEFECTS[2:]
"""The defects of any categories; a single class and continuous values are still valid conditions."""


@st.composite
def bad_labels(draw, defects=LABEL_DEFECTS):
    """Class labels a classifier head cannot learn from, each a different defect."""
    defect = draw(st.sampled_from(defects))
    if defect == "continuous":
        return np.linspace(0, 1, N) + draw(st.floats(0.01, 0.4))
    if defect == "single_class":
        return np.repeat(draw(st.sampled_from([0, 1.0, "a", True])), N)
    if defect == "mixed_types":
        labels = np.array(LABELS, dtype=object)
        labels[draw(st.integers(0, N - 1))] = draw(st.sampled_from(["0", "1", "a"]))
        return labels
    if defect == "length":
        return LABELS[: draw(st.integers(0, N - 1))]
    if defect == "missing":
        labels = np.array(LABELS, dtype=object if draw(st.booleans()) else float)
        labels[draw(st.integers(0, N - 1))] = None if labels.dtype == object else np.nan
        return labels
    if defect == "2d":
        return np.c_[LABELS, LABELS]
    return np.ma.masked_array(LABELS, mask=LABELS == 0)


@st.composite
def bad_latent(draw, k: int = 2):
    """Latent points (rows of ``k`` coordinates) with one defect, and the row holding it."""
    defect = draw(st.sampled_from(["nan", "inf", "beyond_float32", "masked", "numeric_strings", "width", "no_rows"]))
    if defect == "width":
        return np.zeros((3, draw(st.sampled_from([0, k - 1, k + 1])))), 0
    if defect == "no_rows":
        return np.zeros((0, k)), None
    return draw(defective(np.zeros((3, k)), (defect,)))


WRONG_TYPES = ("matrix", "complex", "object_complex", "datetime64", "timedelta64", "frame_datetime", "frame_objects")


@st.composite
def wrongly_typed(draw, base: np.ndarray):
    """``(X, kind)``: ``base`` made into a matrix of the wrong type, the words its message must use."""
    kind = draw(st.sampled_from(WRONG_TYPES))
    i, j = draw(st.integers(0, base.shape[0] - 1)), draw(st.integers(0, base.shape[1] - 1))
    if kind == "matrix":
        return np.asmatrix(base), "np.asarray"
    if kind == "complex":
        return base + 1j * draw(st.floats(0.5, 10)), "complex"
    if kind == "object_complex":
        X = base.astype(object)
        X[i, j] = complex(draw(st.floats(-5, 5)), draw(st.floats(0.5, 5)))
        return X, "complex"
    if kind in ("datetime64", "timedelta64"):
        unit = draw(st.sampled_from(["s", "D", "ns"]))
        return (np.abs(base) * 100).astype(np.int64).astype(f"{kind}[{unit}]"), "dates or times"
    frame = pd.DataFrame(base, columns=[f"g{k}" for k in range(base.shape[1])])
    if kind == "frame_datetime":
        frame[f"g{j}"] = pd.date_range("2020-01-01", periods=base.shape[0], tz=draw(st.sampled_from([None, "UTC"])))
        return frame, "dates or times"
    column = frame[f"g{j}"].astype(object)
    column.iloc[i] = draw(st.sampled_from([{"a": 1}, pd.Timestamp("2021-01-01"), 2 + 1j]))
    frame[f"g{j}"] = column
    return frame, "column"


# ---------------------------------------------------------------------- fit
@settings(max_examples=120)
@given(defective(VALID["gaussian"]) | defective_sparse(VALID["gaussian"]).map(lambda X: (X, 0)))
def test_fit_refuses_bad_data(case):
    X, _ = case
    assert_fit_refused({}, "X", X)


@settings(max_examples=20)
@given(st.integers(0, 1), st.sampled_from(["fit", "fit_transform"]))
def test_fit_refuses_too_few_samples(n, method):
    model = SiVAE(**FAST)
    assert_refused(lambda: getattr(model, method)(VALID["gaussian"][:n]), "X")


@settings(max_examples=40)
@given(out_of_support())
def test_fit_refuses_data_outside_the_likelihoods_support(case):
    likelihood, X = case
    assert_fit_refused({"likelihood": likelihood}, "X", X)


@settings(max_examples=150)
@given(bad_parameter())
def test_fit_refuses_impossible_parameters(case):
    name, value = case
    assert_fit_refused(
        {name: value, "classifier_weight": 1.0} if name == "classifier_layer_sizes" else {name: value}, name, y=LABELS
    )


@settings(max_examples=20)
@given(st.sampled_from(["hidden_layer_sizes", "classifier_layer_sizes"]), st.integers(1, 100), st.integers(1, 3))
def test_a_network_beyond_memory_is_refused_before_allocation(name, factor, depth):
    width = factor * memory_limit()  # every layer of this width holds more weights than bytes of memory
    params = {name: (width,) * depth, "classifier_weight": 1.0}
    with mock.patch.object(estimator_module, "SiVAENetwork", side_effect=AssertionError("allocated")):
        assert_fit_refused(params, name, y=LABELS)


@settings(max_examples=40)
@given(bad_labels())
def test_fit_refuses_bad_class_labels(labels):
    assert_fit_refused({"classifier_weight": 1.0}, "y", y=labels)


@settings(max_examples=30)
@given(bad_labels(CATEGORY_DEFECTS), st.booleans())
def test_fit_refuses_bad_conditions(categories, through_y):
    if through_y:
        assert_fit_refused({"conditional": True}, "y", y=categories)
    else:
        assert_fit_refused({"conditional": True}, "condition", condition=categories)


# --------------------------------------------------------------- after fit
@pytest.fixture(scope="module")
def fitted():
    """One small fitted model per likelihood, and one with a classifier head (trained once per module)."""
    models = {name: SiVAE(likelihood=name, **FAST).fit(X) for name, X in VALID.items()}
    models["classifier"] = SiVAE(classifier_weight=1.0, **FAST).fit(VALID["gaussian"], LABELS)
    return models


DATA_ENTRY_POINTS = {
    "transform": lambda m, X: m.transform(X),
    "transform(return_std=True)": lambda m, X: m.transform(X, return_std=True),
    "score_samples": lambda m, X: m.score_samples(X),
    "score": lambda m, X: m.score(X),
    "feature_awareness": lambda m, X: m.feature_awareness(X, layer=0),
    "attribution_loadings": lambda m, X: m.attribution_loadings(X),
    "predict": lambda m, X: m.predict(X),
    "predict_proba": lambda m, X: m.predict_proba(X),
    "metrics.kl_per_dimension": lambda m, X: metrics.kl_per_dimension(m, X),
    "metrics.active_dimensions": lambda m, X: metrics.active_dimensions(m, X),
}


@settings(max_examples=120)
@given(
    st.sampled_from(sorted(DATA_ENTRY_POINTS)),
    defective(VALID["gaussian"]) | defective_sparse(VALID["gaussian"]).map(lambda X: (X, 0)),
)
def test_fitted_model_refuses_bad_data(fitted, method, case):
    X, _ = case
    assert_refused(lambda: DATA_ENTRY_POINTS[method](fitted["classifier"], X), "X")


@settings(max_examples=60)
@given(st.sampled_from(["fit", *sorted(DATA_ENTRY_POINTS)]), wrongly_typed(VALID["gaussian"]))
def test_data_of_the_wrong_type_is_a_type_error_that_says_what_to_pass(fitted, method, case):
    """Wrong types (np.matrix, complex, dates, objects) are our TypeError, never scikit-learn's or numpy's."""
    from sivae_sklearn import DataTypeError

    X, words = case
    if method == "fit":
        call = lambda: SiVAE(**FAST).fit(X)  # noqa: E731
    else:
        call = lambda: DATA_ENTRY_POINTS[method](fitted["classifier"], X)  # noqa: E731
    with nothing_computed(), pytest.raises(DataTypeError) as info:
        call()
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)
    assert names(str(info.value), "X") and words in str(info.value), str(info.value)


@settings(max_examples=30)
@given(st.sampled_from(sorted(DATA_ENTRY_POINTS)), st.sampled_from([G - 1, G + 1]), st.integers(0, 3))
def test_fitted_model_refuses_the_wrong_width_or_no_rows(fitted, method, width, n_rows):
    X = np.zeros((n_rows, width)) if n_rows else np.zeros((0, G))
    assert_refused(lambda: DATA_ENTRY_POINTS[method](fitted["classifier"], X), "X")


@settings(max_examples=40)
@given(
    st.sampled_from(["transform", "score_samples", "feature_awareness", "metrics.kl_per_dimension"]), out_of_support()
)
def test_fitted_model_refuses_data_outside_its_likelihoods_support(fitted, method, case):
    likelihood, X = case
    model = fitted["nb" if likelihood == "poisson" else likelihood]
    assert_refused(lambda: DATA_ENTRY_POINTS[method](model, X), "X")


@settings(max_examples=40)
@given(bad_latent())
def test_inverse_transform_refuses_bad_latent_points(fitted, case):
    Z, _ = case
    assert_refused(lambda: fitted["gaussian"].inverse_transform(Z), "X")


@settings(max_examples=20)
@given(
    st.one_of(
        st.just(np.nan),
        st.just(-1.0),
        st.just(1e39),
        st.just("100"),
        st.just(["1", "2", "3"]),
        st.lists(st.floats(0, 10), min_size=1, max_size=5).filter(lambda v: len(v) != 3),
    )
)
def test_inverse_transform_refuses_bad_library_sizes(fitted, library_size):
    assert_refused(lambda: fitted["nb"].inverse_transform(np.zeros((3, 2)), library_size=library_size), "library_size")


@settings(max_examples=20)
@given(
    st.one_of(st.booleans(), st.integers(max_value=0), st.floats(), st.text(max_size=2), st.just(50 * memory_limit()))
)
def test_sample_refuses_bad_counts(fitted, n_samples):
    assert_refused(lambda: fitted["gaussian"].sample(n_samples), "n_samples")


# --------------------------------------------------------------- generation
def _row(X, i):
    return X.iloc[i] if isinstance(X, pd.DataFrame) else X[i]


GENERATION_ARGUMENTS = {
    "start": lambda m, bad: generation.interpolate(m, bad, VALID["gaussian"][0]),
    "end": lambda m, bad: generation.interpolate(m, VALID["gaussian"][0], bad),
    "x": lambda m, bad: generation.traverse(m, bad, values="posterior"),
}


@settings(max_examples=40)
@given(st.sampled_from(sorted(GENERATION_ARGUMENTS)), defective(VALID["gaussian"], DENSE_DEFECTS[:7]))
def test_generation_refuses_bad_samples(fitted, argument, case):
    X, i = case
    assert_refused(lambda: GENERATION_ARGUMENTS[argument](fitted["gaussian"], _row(X, i)), argument)


@settings(max_examples=20)
@given(defective(VALID["gaussian"], ("nan", "inf", "beyond_float32", "masked", "numeric_strings")))
def test_traverse_refuses_a_bad_reference(fitted, case):
    X, _ = case
    assert_refused(lambda: generation.traverse(fitted["gaussian"], values="quantiles", reference=X), "reference")


LATENT_ARGUMENTS = {
    "start": lambda m, z: generation.interpolate(m, z, [0.0, 0.0], latent=True),
    "x": lambda m, z: generation.traverse(m, z, latent=True),
    "origin": lambda m, z: generation.manifold_grid(m, origin=z),
}


@settings(max_examples=30)
@given(st.sampled_from(sorted(LATENT_ARGUMENTS)), bad_latent())
def test_generation_refuses_bad_latent_points(fitted, argument, case):
    Z, i = case
    point = Z[i] if i is not None and Z.shape[1] == 2 else np.zeros(3)
    assert_refused(lambda: LATENT_ARGUMENTS[argument](fitted["gaussian"], point), argument)


BAD_STEPS = st.one_of(
    st.integers(max_value=1), st.floats(2.5, 9.5), st.text(max_size=2), st.none(), st.just(memory_limit())
)
STEP_ARGUMENTS = {
    "n_steps": lambda m, v: generation.interpolate(m, [0, 0], [1, 1], n_steps=v, latent=True),
    "n_per_side": lambda m, v: generation.manifold_grid(m, n_per_side=v),
    "span": lambda m, v: generation.traverse(m, span=v),
    "limits": lambda m, v: generation.manifold_grid(m, limits=v),
}


@settings(max_examples=40)
@given(
    st.sampled_from(sorted(STEP_ARGUMENTS)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            {
                "span": st.one_of(
                    st.floats(max_value=0), st.just(np.inf), st.just(np.nan), st.just("2"), st.booleans()
                ),
                "limits": st.one_of(
                    st.tuples(st.sampled_from([np.nan, np.inf, -np.inf, "1"]), st.just(1.0)),
                    st.floats(-5, 5).map(lambda v: (v, v)),
                    st.just((1.0,)),
                    st.just(3),
                ),
            }.get(name, BAD_STEPS),
        )
    )
)
def test_generation_refuses_bad_steps_spans_and_limits(fitted, case):
    name, value = case
    assert_refused(lambda: STEP_ARGUMENTS[name](fitted["gaussian"], value), name)


# ---------------------------------------------------------- tl and explorer
@settings(max_examples=15)
@given(defective(VALID["nb"], ("nan", "inf", "beyond_float32")))
def test_tl_sivae_refuses_bad_data_naming_the_matrix(case):
    import anndata as ad

    X, _ = case
    adata = ad.AnnData(X)
    assert_refused(lambda: tl.sivae(adata, 2, **FAST), "adata.X")
    assert "X_sivae" not in adata.obsm


@settings(max_examples=30)
@given(
    defective(VALID["gaussian"], DENSE_DEFECTS[:8]).map(lambda case: ("X", case[0]))
    | bad_labels(CATEGORY_DEFECTS).map(lambda y: ("labels", y))
)
def test_explorer_refuses_bad_data_and_labels(fitted, case):
    from sivae_sklearn.explorer import ExplorerInputError, prepare

    argument, bad = case
    X, labels = (bad, None) if argument == "X" else (VALID["gaussian"], bad)
    with nothing_computed(), pytest.raises(ExplorerInputError) as info:
        prepare(fitted["gaussian"], X, labels)
    assert names(str(info.value), argument)
