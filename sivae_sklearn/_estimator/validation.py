"""Every check of user input, in one place: bad input gets a clear error before any work starts.

Every public entry point calls these functions and none checks arrays on its
own: ``fit``, ``transform``, ``fit_transform``, ``inverse_transform``,
``score_samples``, ``score``, ``sample``, ``feature_awareness``,
``attribution_loadings``, ``predict`` / ``predict_proba``, the generation
functions, the metrics that take a model, ``tl.sivae`` and the explorer. The
rules are the same at fit time and after it:

* **data** is a 2-D numeric matrix (dense or scipy.sparse): a masked array, a
  ``numpy.matrix``, a string (even one that reads as a number, such as
  ``"1.5"``), a complex number or a date is refused; every value is finite, within float32 range (the network
  computes in float32) and within the likelihood's support (Bernoulli: [0, 1];
  counts: non-negative);
* **sparse data** has index arrays that describe a matrix of its shape
  (:func:`check_sparse_structure`: bounds and a non-decreasing ``indptr``,
  checked in O(nnz), never densified), and duplicate entries are summed, on a
  copy, before the range and support checks; chunks read from disk are
  checked the same way as they are read;
* **latent points** follow the same rules, with ``n_components`` columns;
* **parameters** (real ones within float32 range) are declared in the table of parameters
  (:mod:`~sivae_sklearn._parameters`), whose constraints become the classes
  defined here (:class:`Numbers`, :class:`LayerSizes`: never a bool where a
  number is meant) in ``SiVAE._parameter_constraints``, checked by
  scikit-learn's ``_fit_context``; a network too large for this machine's
  memory is refused naming the parameter, before anything is allocated;
* **categories** (conditions, class labels) hold one kind of value, numbers or
  strings, never both (``1`` and ``"1"`` would silently become one category);
  class labels of the classifier head are binary or multiclass with at least
  two classes, as scikit-learn's classifiers require.

* **sizes**: an output allocated in proportion to the input or an argument
  fits in memory (:func:`check_output_size`), checked before allocating.

Errors are ``ValueError`` (scikit-learn's ``InvalidParameterError`` for
parameters) with a message that names the argument; wrong types of data are
:class:`~sivae_sklearn.DataTypeError`, a ``TypeError`` that is also a
``ValueError``.
"""

from __future__ import annotations

import math
import os
import warnings
from contextlib import contextmanager
from functools import partial
from numbers import Integral, Number, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval, Options
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._arrays.checks import check_sparse_structure
from .._arrays.feature_embeddings import METHODS, data_method, external_width, is_external
from .._arrays.rows import as_disk_rows, as_rows, is_lazy
from .._engine.likelihoods import count_likelihoods, get_likelihood
from .._engine.network import NetworkConfig, weight_spec
from .._errors import DataTypeError

FLOAT32_MAX = float(np.finfo(np.float32).max)

BYTES_PER_WEIGHT = 32
"""Memory of one network weight while training: float32 value, gradient and two Adam moments,
a float64 copy for exact scores and the float64 draw of its initial value."""


# ------------------------------------------------------------------ parameters
def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


class Numbers(Interval):
    """scikit-learn's ``Interval`` that refuses booleans: ``True`` is not a count, a width or a weight.

    >>> Numbers(Integral, 1, None, closed="left").is_satisfied_by(True)
    False
    """

    def is_satisfied_by(self, val):
        return not _is_bool(val) and super().is_satisfied_by(val)

    def __str__(self):
        return f"{super().__str__()} (not a bool)"


class Float32Numbers(Numbers):
    """:class:`Numbers` (reals) that also lie within float32 range: the network computes in float32.

    A weight such as ``beta=1e39`` would become inf in the network and training would diverge;
    it is refused by the parameter's constraint instead, before anything is computed.

    >>> Float32Numbers(Real, 0, None, closed="left").is_satisfied_by(1e39)
    False
    >>> Float32Numbers(Real, 0, None, closed="left").is_satisfied_by(3e38)
    True
    """

    def is_satisfied_by(self, val):
        return super().is_satisfied_by(val) and abs(float(val)) <= FLOAT32_MAX

    def __str__(self):
        return f"{super().__str__()[: -len(' (not a bool)')]} (not a bool, within float32 range: about 3.4e38)"


class LayerSizes(Options):
    """A tuple or list of positive integers (layer widths; empty for none), booleans refused.

    A subclass of scikit-learn's ``Options`` only because ``_parameter_constraints``
    takes no other constraint classes; the test is its own.

    >>> LayerSizes().is_satisfied_by((512, 128)), LayerSizes().is_satisfied_by((8, 0))
    (True, False)
    >>> LayerSizes().is_satisfied_by((True,)), LayerSizes().is_satisfied_by((8.0,))
    (False, False)
    """

    def __init__(self):
        super().__init__(tuple, set())

    def is_satisfied_by(self, val):
        return isinstance(val, (tuple, list)) and all(
            isinstance(h, Integral) and not _is_bool(h) and h >= 1 for h in val
        )

    def __str__(self):
        return "a tuple of positive integers (layer widths, () for none; not bools or floats)"


class FeatureEmbeddings(Options):
    """External feature embeddings: a 2-D array or DataFrame, or a non-empty list or tuple of them.

    Only the form is checked here (an object with a 2-D ``shape``); ``fit``
    checks the values and aligns the rows
    (:func:`~sivae_sklearn._arrays.feature_embeddings.align_embeddings`).

    >>> FeatureEmbeddings().is_satisfied_by(np.zeros((3, 2))), FeatureEmbeddings().is_satisfied_by("pca")
    (True, False)
    >>> FeatureEmbeddings().is_satisfied_by([np.zeros((3, 2)), np.ones((3, 1))])
    True
    >>> FeatureEmbeddings().is_satisfied_by([])
    False
    >>> FeatureEmbeddings().is_satisfied_by(["pca", np.zeros((3, 2))]), FeatureEmbeddings().is_satisfied_by(["pca"])
    (True, False)
    """

    def __init__(self):
        super().__init__(object, set())

    def is_satisfied_by(self, val):
        blocks = list(val) if isinstance(val, (list, tuple)) else [val]
        methods = [b for b in blocks if isinstance(b, str)]
        arrays = [b for b in blocks if not isinstance(b, str)]
        return (
            bool(arrays)
            and all(len(getattr(b, "shape", ())) == 2 for b in arrays)
            and (not methods or (len(methods) == 1 and methods[0] in METHODS))
        )

    def __str__(self):
        return (
            "an array or DataFrame of feature embeddings (n_features, d), or a list of them (which may also name "
            "one data-derived input, e.g. ['pca', E])"
        )


def memory_limit() -> int:
    """This machine's physical memory in bytes (1 TiB where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 2**40


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.3g} GiB"


def check_network_memory(config: NetworkConfig, sizes: dict[str, object], where: str = "") -> None:
    """Raise a ValueError naming the responsible parameter when the network of ``config`` cannot fit in memory.

    The estimate counts :data:`BYTES_PER_WEIGHT` bytes per weight, from the
    shapes of :func:`~sivae_sklearn._engine.network.weight_spec` (nothing is allocated);
    each weight counts towards the parameter that sizes it (``Weight.owner``).

    Parameters
    ----------
    config : NetworkConfig
        The network's sizes.
    sizes : dict
        The parameters behind the sizes, for the message: ``hidden_layer_sizes``,
        ``feature_hidden_layer_sizes``, ``classifier_layer_sizes`` and ``feature_input_size``.
    where : str
        Prefix of the message (e.g. the model file's name).
    """
    by_parameter = dict.fromkeys(
        ("hidden_layer_sizes", "feature_hidden_layer_sizes", "classifier_layer_sizes", "feature_input_size"), 0
    )
    for weight in weight_spec(config):
        by_parameter[weight.owner] += math.prod(weight.shape)
    n_weights = sum(by_parameter.values())
    needed, limit = n_weights * BYTES_PER_WEIGHT, memory_limit()
    if needed > limit:
        culprit = max(by_parameter, key=by_parameter.get)
        raise ValueError(
            f"{where}{culprit}={sizes.get(culprit)!r} makes a network of {n_weights:,} weights "
            f"({config.n_features} features), about {_gib(needed)} with gradients and optimiser state: more "
            f"than this machine's {_gib(limit)} of memory. Choose smaller {culprit}."
        )


def check_output_size(n_values: int, what: str, *, itemsize: int = 8, advice: str = "Ask for fewer.") -> None:
    """Raise a ValueError when an array of ``n_values`` values of ``itemsize`` bytes cannot fit in memory.

    Every method that allocates an output in proportion to its input or its
    arguments calls it before allocating: ``sample``, ``inverse_transform``,
    ``transform``, the generation functions, one-hot conditions and the
    explorer's densified data.

    Parameters
    ----------
    n_values : int
        Values of the array.
    what : str
        What asks for it, naming the argument, e.g. ``"n_samples=10**9 (x 64 features)"``.
    itemsize : int, default=8
        Bytes per value (float64).
    advice : str
        What to pass instead.

    >>> check_output_size(10**30, "n_samples=10**27 (x 1000 features)")
    Traceback (most recent call last):
    ...
    ValueError: n_samples=10**27 (x 1000 features) asks for an array of 1,000,...
    """
    needed, limit = int(n_values) * int(itemsize), memory_limit()
    if needed > limit:
        raise ValueError(
            f"{what} asks for an array of {int(n_values):,} values ({_gib(needed)}), more than this "
            f"machine's {_gib(limit)} of memory. {advice}"
        )


def check_positive_int(value, name: str) -> int:
    """``value`` as an int; a ValueError unless it is a positive integer (a bool is not)."""
    if not isinstance(value, Integral) or _is_bool(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_finite_number(value, name: str, *, positive: bool = False) -> float:
    """``value`` as a float; a ValueError unless it is a finite real number (and > 0 when ``positive``)."""
    if not isinstance(value, Real) or _is_bool(value) or not math.isfinite(value) or (positive and not value > 0):
        kind = "a finite positive number" if positive else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}.")
    return float(value)


# ------------------------------------------------------------------------ data
def _string_example(values):
    """The first str or bytes among ``values``, or None."""
    for v in values:
        if isinstance(v, (str, bytes)):
            return v
    return None


def _wrong_value_kind(values):
    """``(kind, example)`` of the first complex number, date or other non-number among ``values``, or None.

    Strings are found by :func:`_string_example`; ``None`` is left to ``check_array`` (it reads as NaN).
    """
    for v in values:
        if v is None or isinstance(v, (str, bytes)) or _is_bool(v):
            continue
        if isinstance(v, (complex, np.complexfloating)):
            return "complex numbers", v
        if isinstance(v, (np.datetime64, np.timedelta64)) or hasattr(v, "isoformat") or hasattr(v, "total_seconds"):
            return "dates or times", v
        if not isinstance(v, Real):
            return f"{type(v).__name__} objects", v
    return None


def _type_message(name: str, kind: str, example, where: str = "") -> str:
    if kind == "complex numbers":
        advice = f"pass real numbers (e.g. {name}.real or abs({name}) if that is what you mean)"
    elif kind == "dates or times":
        advice = (
            "convert them to numbers first (e.g. seconds since a reference time: (t - t0) / np.timedelta64(1, 's')) "
            "or drop them"
        )
    else:
        # In the words of float()'s own refusal, which scikit-learn's checks and users' handlers look for.
        refusal = f"float() argument must be a string or a real number, not {type(example).__name__!r}"
        return f"{name} holds {kind}{where}, e.g. {example!r}; SiVAE needs real numbers ({refusal}): pass numbers."
    return f"{name} holds {kind}{where}, e.g. {example!r}; SiVAE needs real numbers: {advice}."


def check_array_like(X, name: str = "X") -> None:
    """Refuse what scikit-learn's ``check_array`` would take the wrong way, naming ``name``.

    Wrong types raise :class:`~sivae_sklearn.DataTypeError` (a ``TypeError`` and a ``ValueError``):

    * ``numpy.matrix`` (pass ``np.asarray(X)``);
    * strings, even numeric ones (``"1.5"``): they would be parsed as numbers;
    * complex numbers (a complex dtype, or complex objects in an object array);
    * dates and times (``datetime64``/``timedelta64`` arrays and columns, ``datetime`` objects):
      numpy would silently turn them into days since 1970, or fail to promote them.

    Wrong values raise a ``ValueError``:

    * a masked array (``numpy.ma``): its mask would be ignored;
    * arrays of more than two dimensions;
    * a sparse matrix whose index arrays are corrupt (:func:`check_sparse_structure`).

    Arrays of Python objects that hold real numbers are accepted (scikit-learn's
    convention); anything else is left to ``check_array``.

    >>> check_array_like(np.array([[1 + 2j, 1.0]], dtype=object))
    Traceback (most recent call last):
    ...
    sivae_sklearn._errors.DataTypeError: X holds complex numbers, e.g. (1+2j); SiVAE needs real numbers: ...
    """
    if isinstance(X, np.matrix):
        raise DataTypeError(
            f"{name} is a numpy.matrix, which SiVAE does not take (numpy deprecates it); pass a 2-D array: "
            f"np.asarray({name})."
        )
    if sp.issparse(X):
        check_sparse_structure(X, name)
    if isinstance(X, np.ma.MaskedArray):
        raise ValueError(
            f"{name} is a masked array (numpy.ma); SiVAE cannot honour its mask. Fill the masked entries "
            f"({name}.filled(value)) or drop those rows, and pass a plain array."
        )
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # a pandas DataFrame: one dtype per column
        for column, dtype in X.dtypes.items():
            where = f" (column {column!r})"
            kind = getattr(dtype, "kind", "O")
            if kind in "Mm":
                raise DataTypeError(_type_message(name, "dates or times", X[column].iloc[0], where))
            if kind == "c":
                raise DataTypeError(_type_message(name, "complex numbers", X[column].iloc[0], where))
            if kind in "OUS" or str(dtype) in ("string", "category"):
                values = X[column].to_numpy()
                example = _string_example(values)
                if example is not None:
                    raise DataTypeError(_strings_message(name, example, where))
                wrong = _wrong_value_kind(values)
                if wrong is not None:
                    raise DataTypeError(_type_message(name, *wrong, where))
        return
    values = X
    if not hasattr(values, "dtype"):
        try:
            values = np.asarray(values)
        except (TypeError, ValueError):
            return  # ragged or odd input: check_array says what is wrong
    kind = values.dtype.kind
    example = None if sp.issparse(values) or not values.size else values.flat[0]
    if kind in "US":
        raise DataTypeError(_strings_message(name, "" if example is None else example, ""))
    if kind == "O" and not sp.issparse(values):
        string = _string_example(values.flat)
        if string is not None:
            raise DataTypeError(_strings_message(name, string, ""))
        wrong = _wrong_value_kind(values.flat)
        if wrong is not None:
            raise DataTypeError(_type_message(name, *wrong))
    if kind == "c":
        raise DataTypeError(
            f"Complex data not supported: {name} holds complex numbers; SiVAE needs real numbers: pass "
            f"{name}.real or abs({name}) if that is what you mean."
        )
    if kind in "Mm":
        raise DataTypeError(_type_message(name, "dates or times", example))
    if getattr(values, "ndim", 2) > 2:
        raise ValueError(f"{name} must be a 2-D matrix (n_samples, n_features), got an array of shape {values.shape}.")


def _is_canonical(X) -> bool:
    """Whether the CSR or CSC ``X`` stores every entry once, indices sorted within each row (column).

    Computed from the index arrays (O(nnz)), never from scipy's cached flag.
    """
    nnz = int(X.indptr[-1])
    if X.indices.shape[0] != nnz or X.data.shape[0] != nnz:
        return False
    if nnz < 2:
        return True
    indices = np.asarray(X.indices)
    starts = np.zeros(nnz, dtype=bool)
    firsts = np.asarray(X.indptr[:-1])
    starts[firsts[firsts < nnz]] = True
    return bool(np.all((indices[1:] > indices[:-1]) | starts[1:]))


def sum_duplicates(X):
    """``X`` with duplicate entries summed: ``X`` itself when it has none, else a summed copy (never in place).

    Range and support checks then see each entry's value, as every
    computation does (scipy adds duplicates whenever it densifies).

    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix((np.array([0.5, 0.7]), np.array([0, 0]), np.array([0, 2])), shape=(1, 2))
    >>> sum_duplicates(X).toarray().tolist(), X.nnz
    ([[1.2, 0.0]], 2)
    """
    if not sp.issparse(X) or X.format not in ("csr", "csc") or _is_canonical(X):
        return X
    X = X.copy()
    X.has_canonical_format = False
    X.sum_duplicates()
    return X


def check_sparse_input(X_given, X, name: str = "X"):
    """The matrix ``X`` that ``check_array`` made of ``X_given``: structure checked if it is new, duplicates summed."""
    if not sp.issparse(X):
        return X
    if X is not X_given:
        check_sparse_structure(X, name)
    return sum_duplicates(X)


def _strings_message(name: str, example, where: str) -> str:
    return (
        f"{name} holds strings{where}, e.g. {example!r}; SiVAE needs numbers. Strings are refused even when "
        f"they read as numbers: convert the data first (e.g. {name}.astype(float)) if that is what they are."
    )


def _check_shape(X, min_samples: int, name: str) -> None:
    """At least ``min_samples`` rows and one column (scikit-learn's own message does not name the argument)."""
    if X.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {X.shape[0]} sample(s) (shape={X.shape}) while a minimum of {min_samples} is required."
        )
    if X.shape[1] < 1:
        raise ValueError(f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required.")


def check_float32_range(X, name: str = "X") -> None:
    """Raise when a value of the dense or sparse ``X`` does not fit in float32 (the network computes in float32)."""
    if X.dtype == np.float32:
        return  # finite float32 values fit by definition
    values = X.data if sp.issparse(X) else X
    biggest = float(max(values.max(), -values.min())) if values.size else 0.0
    if biggest > FLOAT32_MAX:
        raise ValueError(
            f"{name} holds values up to {biggest:.3g}, beyond float32 range (about 3.4e38); SiVAE computes in "
            f"float32. Rescale the data (e.g. StandardScaler)."
        )


def check_data_values(X, likelihood: str, name: str = "X", *, stacklevel: int = 3) -> None:
    """The float32 range and the likelihood's support of a numeric dense or sparse ``X``."""
    check_float32_range(X, name)
    get_likelihood(likelihood).check_support(X, name, stacklevel=stacklevel + 1)


def check_data(X, name: str = "X", *, likelihood: str | None = None, accept_sparse: bool = True, stacklevel: int = 2):
    """Validate a data matrix given to a function that is not an estimator method (generation, explorer).

    Returns
    -------
    X : numeric ndarray (its dtype as given) or CSR matrix
    """
    check_array_like(X, name)
    given = X
    X = check_array(
        X,
        accept_sparse=("csr", "csc") if accept_sparse else False,
        dtype="numeric",  # no copy of numeric data (tl.sivae checks whole AnnData matrices with it)
        ensure_min_samples=0,
        ensure_min_features=0,
        input_name=name,
    )
    X = check_sparse_input(given, X, name)
    _check_shape(X, 1, name)
    if likelihood is None:
        check_float32_range(X, name)
    else:
        check_data_values(X, likelihood, name, stacklevel=stacklevel + 1)
    return as_rows(X)


@contextmanager
def unchanged_if_refused(estimator):
    """Put back the estimator's attributes as they were when the block raises: a failed ``fit`` leaves no trace.

    ``fit`` runs whole inside this block, so it is one transaction: scikit-learn's
    ``validate_data`` sets ``n_features_in_`` before later checks can refuse the
    data, and training sets the network, history and fitted attributes one by one.
    On any exception (``BaseException``, so ``KeyboardInterrupt`` too) every
    attribute is put back, so the previous fitted state, or an unfitted one, is
    exactly as it was. The new state is built from new objects, never by changing
    the old ones in place, so restoring the attribute dict restores the old model.
    """
    before = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(before)
        raise


def _validate_matrix(estimator, X, name: str, *, reset: bool, min_samples: int):
    """scikit-learn's ``validate_data`` (width, names, NaN/inf, numbers) after :func:`check_array_like`, then shape."""
    check_array_like(X, name)
    given = X
    X = validate_data(
        estimator,
        X,
        accept_sparse=("csr", "csc"),
        dtype=(np.float64, np.float32),
        ensure_min_samples=0,
        ensure_min_features=0,
        reset=reset,
    )
    X = check_sparse_input(given, X, name)
    _check_shape(X, min_samples, name)
    return X


def check_training_data(estimator, X):
    """Validate the training data of ``estimator.fit`` and return it ready for training.

    Checks what scikit-learn's ``validate_data`` checks (NaN and inf,
    non-numeric values, too few samples; it sets ``n_features_in_`` and
    ``feature_names_in_``) after :func:`check_array_like` (masked arrays,
    strings), then ``n_components <= n_features``, that the network fits in
    memory, the float32 range and the likelihood's support.

    Returns
    -------
    X : C-contiguous float32 ndarray or float32 CSR matrix
    """
    X = _validate_matrix(estimator, X, "X", reset=True, min_samples=2)
    check_training_shape(estimator, *X.shape)
    check_data_values(X, estimator.likelihood, "X", stacklevel=4)
    if sp.issparse(X):
        return X.tocsr().astype(np.float32, copy=False)
    return np.ascontiguousarray(X, dtype=np.float32)


def check_training_shape(estimator, n_samples: int, n_features: int) -> None:
    """Raise unless ``n_components <= n_features`` and the network of ``n_features`` fits in memory."""
    if estimator.n_components > n_features:
        raise ValueError(
            f"n_components={estimator.n_components} must be <= the number of features of X "
            f"(n_features={n_features}): the latent space cannot have more dimensions than the data."
        )
    # Before the labels are read: a classifier head counts with the fewest classes it can have (2),
    # a conditional decoder without its condition columns; ``fit`` checks the exact network again.
    check_network_memory(
        NetworkConfig.from_params(
            estimator.get_params(deep=False),
            n_features=n_features,
            n_feature_inputs=(
                (external_width(estimator.feature_input) if is_external(estimator.feature_input) else 0)
                + (min(estimator.feature_input_size, n_samples) if data_method(estimator.feature_input) else 0)
            ),
            n_classes=2 if estimator.classifier_weight > 0 else 0,
        ),
        estimator.get_params(deep=False),
    )


def check_validation_rows(n_validation: int, n_samples: int, validation_fraction: float) -> None:
    """Warn when early stopping was asked for a validation set but the split holds out no row."""
    if n_validation == 0 and validation_fraction > 0:
        warnings.warn(
            f"validation_fraction={validation_fraction} of {n_samples} samples holds out no row (at least one "
            f"row must be held out and two kept for training), so there is no validation set and early "
            f"stopping watches the training loss. Raise validation_fraction, or set it to 0 to train "
            f"without a validation set and silence this warning.",
            UserWarning,
            stacklevel=3,
        )


def check_fitted_data(estimator, X, name: str = "X"):
    """Validate data given to a fitted estimator: width, names, values, the likelihood's support; CSR when sparse.

    The rules of :func:`check_training_data` (bar the number of samples) hold here too.

    Returns
    -------
    X : ndarray (float32 or float64, as given) or CSR matrix
    """
    check_is_fitted(estimator)
    X = match_columns_by_name(estimator, X, name)
    X = _validate_matrix(estimator, X, name, reset=False, min_samples=1)
    check_data_values(X, estimator.likelihood, name, stacklevel=4)
    return as_rows(X)


def missing_features_message(missing, what: str, where: str) -> str:
    """``"3 gene(s) of the model are not in adata.var_names: ['a', 'b', 'c']"``, the first 5 and the count."""
    shown = [str(name) for name in missing[:5]]
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    return f"{len(missing)} {what}(s) of the model are not in {where}: {shown}{more}"


def match_columns_by_name(estimator, X, name: str = "X"):
    """Reorder the columns of a DataFrame ``X`` to ``feature_names_in_`` when they are the same names in another order.

    A DataFrame of string column names that lacks some of the fitted features,
    has columns the model was not fitted on, or repeats a name is refused with a
    ValueError naming the columns. Anything else (no names on either side,
    column names that are not all strings) is left to scikit-learn's own check
    of the feature names, which warns and takes the columns by position.
    """
    names = getattr(estimator, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if names is None or columns is None or not hasattr(X, "iloc"):
        return X
    columns = list(columns)
    if not all(isinstance(c, str) for c in columns):
        return X
    if columns == list(names):
        return X
    seen, repeated = set(), []
    for c in columns:
        if c in seen and c not in repeated:
            repeated.append(c)
        seen.add(c)
    if repeated:
        raise ValueError(
            f"{name} has repeated column names {repeated[:5]}; each feature must be one column, so that "
            f"columns can be matched to the model's features by name."
        )
    missing = [n for n in names if n not in seen]
    if missing:
        raise ValueError(missing_features_message(missing, "feature", f"the columns of {name}") + ".")
    fitted = set(names)
    extra = [c for c in columns if c not in fitted]
    if extra:
        raise ValueError(
            f"{name} has {len(extra)} column(s) the model was not fitted on: {extra[:5]}"
            f"{' and more' if len(extra) > 5 else ''}; pass only the model's features: "
            f"{name}[model.feature_names_in_]."
        )
    return X[list(names)]


def check_latent_points(estimator, Z, name: str = "X") -> np.ndarray:
    """Validate latent coordinates given to a fitted estimator (one column per latent dimension)."""
    check_is_fitted(estimator)
    check_array_like(Z, name)
    Z = check_array(Z, dtype=(np.float64, np.float32), ensure_min_samples=0, ensure_min_features=0, input_name=name)
    _check_shape(Z, 1, name)
    if Z.shape[1] != estimator.n_components_:
        raise ValueError(
            f"{name} has {Z.shape[1]} features, but inverse_transform expects "
            f"n_components={estimator.n_components_} latent coordinates per row."
        )
    check_float32_range(Z, name)
    return Z


def check_latent_vector(z, n_components: int, name: str) -> np.ndarray:
    """One latent point: ``n_components`` finite numbers within float32 range, as a float64 vector."""
    check_array_like(z, name)
    point = check_array(np.reshape(np.asarray(z), (1, -1)), dtype=np.float64, ensure_min_features=0, input_name=name)
    if point.shape != (1, n_components):
        raise ValueError(f"{name} must be a latent point of {n_components} coordinates, got shape {np.shape(z)}.")
    check_float32_range(point, name)
    return point[0]


def check_finite_result(values: np.ndarray, method: str, name: str = "X") -> np.ndarray:
    """Raise when a computation on valid input still gave NaN or inf (input far outside the training range)."""
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{method} gave non-finite values: {name} holds values so far outside the range the model was "
            f"trained on that the network overflows. Scale {name} as the training data were scaled."
        )
    return values


def check_library_size(likelihood: str, library_size, n_samples: int) -> np.ndarray:
    """One non-negative total count per row (a number is broadcast), for the count likelihoods only."""
    if not get_likelihood(likelihood).needs_library_size:
        raise ValueError(
            f"library_size only applies to the count likelihoods {count_likelihoods()}; "
            f"this model uses likelihood={likelihood!r}."
        )
    check_array_like(np.atleast_1d(library_size), "library_size")
    try:
        library = np.asarray(library_size, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"library_size must be numbers (total counts per sample), got {library_size!r}.") from None
    if library.ndim == 0:
        library = np.full(n_samples, float(library))
    library = library.reshape(-1)
    if library.shape[0] != n_samples:
        raise ValueError(
            f"library_size must be a number or have one entry per row of X ({n_samples}), "
            f"got {library.shape[0]} entries."
        )
    if not np.all(np.isfinite(library)) or np.any(library < 0) or np.any(library > FLOAT32_MAX):
        raise ValueError(
            "library_size must be finite, non-negative and within float32 range (total counts per sample)."
        )
    return library


def check_image_shape(image_shape, n_features: int) -> tuple[int, ...] | None:
    """``image_shape`` as ``(height, width)`` or ``(height, width, channels)`` holding ``n_features``; None stays None.

    >>> check_image_shape((8, 8), 64), check_image_shape((4, 4, 3), 48)
    ((8, 8), (4, 4, 3))
    """
    if image_shape is None:
        return None
    problem = (
        f"image_shape must be two positive integers (height, width) or three (height, width, channels), "
        f"got {image_shape!r}."
    )
    if isinstance(image_shape, str):
        raise ValueError(problem)
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(problem) from None
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(problem)
    size = int(np.prod(shape))
    if size != n_features:
        what, unit = ("height * width", "pixels") if len(shape) == 2 else ("height * width * channels", "values")
        raise ValueError(
            f"image_shape={shape} holds {size} {unit} but the data have {n_features} features; "
            f"{what} must equal {n_features}."
        )
    return shape


# ------------------------------------------------- data on disk, chunk by chunk
def check_training_input(estimator, X):
    """:func:`check_training_data` for data in memory; for data on disk, the same rules chunk by chunk.

    Data on disk or computed lazily (dask arrays, zarr and h5py arrays,
    anndata's backed matrices: see :func:`~sivae_sklearn._arrays.rows.is_lazy`) is
    not read here: it comes back as :class:`~sivae_sklearn._arrays.rows.DiskRows`
    whose every chunk goes through :func:`check_training_data` when it is read
    (``fit`` reads every chunk once before training starts). The shape (rows,
    ``n_components`` against the features, the network's memory) is checked
    now, before any read.

    Returns
    -------
    X : float32 ndarray, float32 CSR matrix or DiskRows
    """
    if not is_lazy(X):
        return check_training_data(estimator, X)
    rows = as_disk_rows(X, check=partial(check_training_chunk, estimator))
    n_samples, n_features = rows.shape
    if n_samples < 2:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={rows.shape}) while a minimum of 2 is required "
            f"by {type(estimator).__name__}."
        )
    check_training_shape(estimator, n_samples, n_features)
    estimator.n_features_in_ = n_features
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_  # arrays on disk carry no column names
    return rows


def check_training_chunk(estimator, block):
    """One chunk of on-disk training data, checked and converted by :func:`check_training_data`."""
    if block.shape[0] == 1:  # the rules ask for two rows; a one-row chunk is checked twice over
        pair = sp.vstack([block, block], format="csr") if sp.issparse(block) else np.concatenate([block, block])
        return check_training_data(estimator, pair)[:1]
    return check_training_data(estimator, block)


def check_fitted_input(estimator, X):
    """:func:`check_fitted_data` for data in memory; for data on disk, the width now and every chunk as it is read.

    Returns
    -------
    X : ndarray, CSR matrix or DiskRows
    """
    if not is_lazy(X):
        return check_fitted_data(estimator, X)
    check_is_fitted(estimator)
    rows = as_disk_rows(X, check=partial(check_fitted_data, estimator))
    if rows.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {rows.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return rows


# ------------------------------------------------------------------ categories
def _value_kind(value) -> str:
    if _is_bool(value):
        return "booleans"
    if isinstance(value, Number):
        return "numbers"
    if isinstance(value, (str, bytes)):
        return "strings"
    return type(value).__name__


def check_categories(values, name: str) -> np.ndarray:
    """One category per sample as a 1-D array; refuses masks, missing values and mixed kinds of value.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        Numbers or strings (a pandas Series or Categorical too), never both:
        ``1`` and ``"1"`` would otherwise become one category.
    name : str
        The argument's name, for the messages.

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> check_categories(["a", "b"], "y").tolist()
    ['a', 'b']
    >>> check_categories(np.array([1, "1"], dtype=object), "y")
    Traceback (most recent call last):
    ...
    ValueError: y mixes numbers and strings (e.g. 1 and '1'); give every category the same type, ...
    """
    if isinstance(values, np.ma.MaskedArray):
        raise ValueError(f"{name} is a masked array (numpy.ma); give every sample a category in a plain array.")
    if hasattr(values, "to_numpy"):  # pandas Series / Categorical
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one category per sample (1-D), got an array of shape {arr.shape}.")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; every sample needs a category.")
    if arr.dtype == object:
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in arr):
            raise ValueError(f"{name} contains missing values (None or NaN); every sample needs a category.")
        first = {}
        for v in arr:
            first.setdefault(_value_kind(v), v)
            if len(first) > 1:
                (kind_a, a), (kind_b, b) = first.items()
                raise ValueError(
                    f"{name} mixes {kind_a} and {kind_b} (e.g. {a!r} and {b!r}); give every category the same "
                    f"type, or 1 and '1' would be taken for one category."
                )
    return arr


def check_class_labels(y, n_samples: int) -> np.ndarray:
    """Class labels of the classifier head: binary or multiclass with at least two classes, as in scikit-learn."""
    arr = check_categories(y, "y")
    if arr.shape[0] != n_samples:
        raise ValueError(f"y has {arr.shape[0]} entries but X has {n_samples} rows; give one per sample.")
    target = type_of_target(arr, input_name="y")
    if target not in ("binary", "multiclass"):
        raise ValueError(
            f"y must be class labels for the classifier head (classifier_weight > 0), but it looks {target!r} "
            f"(sklearn.utils.multiclass.type_of_target); the head needs 'binary' or 'multiclass' labels."
        )
    classes = np.unique(arr.astype(str) if arr.dtype == object else arr)
    if classes.size < 2:
        raise ValueError(
            f"y holds a single class ({classes[0]!r}); the classifier head needs at least 2 classes "
            f"(or set classifier_weight=0)."
        )
    return arr


_TRUE_WORDS = {"true", "1", "yes"}
_FALSE_WORDS = {"false", "0", "no"}


def check_boolean_column(column, name: str) -> np.ndarray:
    """A boolean mask from a column that may hold bools, 0/1 or the words ``"True"``/``"False"``.

    Missing values count as False. Any other value (``2``, ``"maybe"``) is
    refused: ``bool("False")`` is True, so words are read, never cast.

    >>> check_boolean_column(np.array(["True", "False", "true"]), "mask").tolist()
    [True, False, True]
    """
    missing = np.asarray(column.isna()) if hasattr(column, "isna") else None
    values = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
    if values.dtype == bool:
        return values
    if missing is None:
        missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values.ravel()], bool)
    mask = np.zeros(values.shape[0], dtype=bool)
    for i, v in enumerate(values):
        if missing[i]:
            continue
        if _is_bool(v) or (isinstance(v, Number) and v in (0, 1)):
            mask[i] = bool(v)
        elif isinstance(v, str) and v.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
            mask[i] = v.strip().lower() in _TRUE_WORDS
        else:
            raise ValueError(f"{name} must be boolean (True/False), but holds {v!r}.")
    return mask
