"""The table of parameters (``_estimator/parameters.py``) against everything that repeats it: the signature of
``SiVAE.__init__``, the numpydoc ``Parameters`` section, ``_parameter_constraints``, the registries of
names, the command line and the README's signature. Each check is first shown to catch a drift."""

import ast
import inspect
import re
from pathlib import Path

import pytest
from numpydoc.docscrape import ClassDoc
from sklearn.utils._param_validation import InvalidParameterError, make_constraint

from sivae_sklearn import SiVAE
from sivae_sklearn._arrays.feature_inputs import FEATURE_INPUT_METHODS
from sivae_sklearn._engine.likelihoods import LIKELIHOODS
from sivae_sklearn._engine.objective import FEATURE_KL_WEIGHTS
from sivae_sklearn._engine.training import SCHEDULES
from sivae_sklearn._estimator.parameters import PARAMETERS, Boolean, LayerWidths, Nothing, OneOf, Range, signature_text

ROOT = Path(__file__).resolve().parents[1]


def signature_drift(cls) -> list[str]:
    """How ``cls.__init__``'s keywords (names, order, defaults) differ from the table."""
    found = {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items() if n != "self"}
    table = {n: p.default for n, p in PARAMETERS.items()}
    problems = [] if list(found) == list(table) else [f"names/order {list(found)} != {list(table)}"]
    problems += [f"{n}: {found[n]!r} != {table[n]!r}" for n in found.keys() & table.keys() if found[n] != table[n]]
    return problems


def _plain(text: str) -> str:
    return " ".join(text.replace("``", "").split())


def docstring_drift(cls) -> list[str]:
    """How the numpydoc Parameters section of ``cls`` differs from the table: names, order, defaults, first words."""
    entries = ClassDoc(cls, config={"show_class_members": False})["Parameters"]
    names = [e.name for e in entries]
    problems = [] if names == list(PARAMETERS) else [f"names/order {names} != {list(PARAMETERS)}"]
    for entry in entries:
        p = PARAMETERS.get(entry.name)
        if p is None:
            continue
        default = re.search(r"default=(.*)$", entry.type)
        if default is None or ast.literal_eval(default.group(1)) != p.default:
            problems.append(f"{entry.name}: type line {entry.type!r} does not say default={p.default!r}")
        if not _plain(" ".join(entry.desc)).startswith(p.doc.rstrip(".")):
            problems.append(f"{entry.name}: the description does not start with {p.doc!r}")
    return problems


def test_the_signature_is_the_table():
    assert signature_drift(SiVAE) == []
    assert SiVAE().get_params() == {n: p.default for n, p in PARAMETERS.items()}


def test_a_signature_that_drifts_is_caught():
    class Drifted(SiVAE):
        def __init__(self, n_components=3, *, hidden_layer_sizes=(512, 128)):
            pass

    problems = signature_drift(Drifted)
    assert any("names/order" in p for p in problems) and "n_components: 3 != 2" in problems


def test_the_docstring_is_the_table():
    assert docstring_drift(SiVAE) == []


def test_a_docstring_that_drifts_is_caught():
    class Drifted(SiVAE):
        """Drifted.

        Parameters
        ----------
        hidden_layer_sizes : tuple of int, default=(512, 128)
            Widths of the encoder layers; decoders mirror them and end in a linear layer of width
            ``h = hidden_layer_sizes[0]``.
        n_components : int, default=3
            Something else.
        """

    problems = docstring_drift(Drifted)
    assert any("names/order" in p for p in problems)
    assert any(p.startswith("n_components: type line") for p in problems)
    assert any(p.startswith("n_components: the description") for p in problems)
    assert not any(p.startswith("hidden_layer_sizes") for p in problems)


def test_the_constraints_are_the_table():
    constraints = SiVAE._parameter_constraints
    assert list(constraints) == list(PARAMETERS)
    for name, p in PARAMETERS.items():
        assert [str(c) for c in constraints[name]] == [str(c.sklearn()) for c in p.allowed], name
        assert SiVAE(**{name: p.default}).set_params(**{name: p.default})._validate_params() is None


def test_the_names_a_parameter_takes_are_the_registries():
    names = {name: p.allowed[0].names for name, p in PARAMETERS.items() if isinstance(p.allowed[0], OneOf)}
    assert {k: set(v) for k, v in names.items()} == {
        "likelihood": set(LIKELIHOODS),
        "feature_kl_weight": set(FEATURE_KL_WEIGHTS),
        "feature_input": set(FEATURE_INPUT_METHODS),
        "schedule": set(SCHEDULES),
    }


@pytest.mark.parametrize(
    ("constraint", "inside", "outside"),
    [
        (Range("int", 1), [1, 7], [0, -3, True, 2.0]),
        (Range("float", 0, 1, "both"), [0, 0.5, 1], [-0.1, 1.5, False]),
        (Range("float", 0, 1, "left"), [0, 0.5], [1, 1.2]),
        (Range("float", 0, None, "neither"), [1e-9], [0, -1.0]),
        (LayerWidths(), [(), (8, 4), [3]], [(0,), (True,), (8.0,), 8]),
        (OneOf(("a", "b")), ["a"], ["c", 1]),
        (Boolean(), [True, False], [1, "yes"]),
        (Nothing(), [None], [0, "none"]),
    ],
)
def test_each_constraint_is_the_sklearn_check_it_builds(constraint, inside, outside):
    satisfied = make_constraint(constraint.sklearn()).is_satisfied_by  # "boolean", None: scikit-learn's own
    assert all(satisfied(v) for v in inside) and not any(satisfied(v) for v in outside)
    for value in inside:
        if isinstance(constraint, Range):  # and the command line takes the same numbers
            assert constraint.parse(str(value)) == value
    for value in outside:
        if isinstance(constraint, Range) and not isinstance(value, bool):
            with pytest.raises(ValueError):
                constraint.parse(str(value))


def test_a_value_the_table_refuses_is_refused_by_fit():
    with pytest.raises(InvalidParameterError, match="feature_batch_size"):
        SiVAE(feature_batch_size=0).fit([[0.0, 1.0], [1.0, 0.0]])


def test_the_readme_signature_is_the_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## The estimator\n\n```text\n(SiVAE\(.*?\n\))\n```", readme, flags=re.S)
    assert block is not None, "README.md's estimator section must open with the SiVAE(...) signature"
    assert block.group(1) == signature_text()
    assert "feature_batch_size=None" in signature_text() and signature_text().count("\n    *,\n") == 1


def test_the_table_module_imports_nothing_heavy():
    source = (ROOT / "sivae_sklearn" / "_estimator" / "parameters.py").read_text(encoding="utf-8")
    top = [n for n in ast.parse(source).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    modules = {n.module if isinstance(n, ast.ImportFrom) else n.names[0].name for n in top}
    assert modules <= {"__future__", "math", "dataclasses", "typing"}
