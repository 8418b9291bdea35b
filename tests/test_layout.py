"""The package's layout rules, checked on its source: no import cycles, no reach-ins into other
modules' private members, likelihoods only through their registry, light namespaces, no history tags.

Each checker is first shown to catch a violation on a made-up example, so none of these tests
can pass by checking nothing.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sivae_sklearn"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


# ------------------------------------------------------------------ imports
def imports_of(name: str, source: str, known: set[str], is_package: bool = False) -> set[str]:
    """Package modules that module ``name`` imports anywhere (top level or inside functions)."""
    base = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
                target = f"{anchor}.{node.module}" if node.module else anchor
            else:
                target = node.module
            # ``from pkg import name``: the submodule ``pkg.name`` if there is one, else ``pkg`` itself
            targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in known)
    return found - {name}


def lazy_submodules(source: str, package: str) -> set[str]:
    """Submodules a package ``__init__`` loads on attribute access (its ``_SUBMODULES`` tuple)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_SUBMODULES" for t in node.targets):
            return {f"{package}.{elt.value}" for elt in node.value.elts}
    return set()


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def package_graph() -> dict[str, set[str]]:
    known = set(MODULES)
    graph = {
        name: imports_of(name, path.read_text(), known, is_package=path.name == "__init__.py")
        for name, path in MODULES.items()
    }
    graph["sivae_sklearn"] |= lazy_submodules(MODULES["sivae_sklearn"].read_text(), "sivae_sklearn")
    return graph


def test_cycle_finder_finds_a_cycle_hidden_in_a_function():
    known = {"pkg", "pkg.a", "pkg.b"}
    graph = {
        "pkg.a": imports_of("pkg.a", "from .b import f\n", known),
        "pkg.b": imports_of("pkg.b", "def g():\n    from . import a\n", known),
    }
    assert graph == {"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.a"]


def test_no_import_cycles_not_even_inside_functions():
    graph = package_graph()
    assert "sivae_sklearn._estimator.sivae" in graph["sivae_sklearn"] and "sivae_sklearn.tl" in graph["sivae_sklearn"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_no_module_imports_the_package_root():
    importers = sorted(name for name, targets in package_graph().items() if "sivae_sklearn" in targets)
    assert importers == []


FOUNDATION = {"sivae_sklearn._errors", "sivae_sklearn._io", "sivae_sklearn._plain", "sivae_sklearn._version"}
"""Modules every layer may import: errors, atomic file writes and safe reads, plain types, the version."""


def test_the_file_format_knows_nothing_of_the_estimator():
    graph = package_graph()
    for module in ("sivae_sklearn._modelfile.format", *sorted(FOUNDATION)):
        assert graph[module] <= FOUNDATION, module


# ------------------------------------------------------------------ layers
LAYERS = {  # sub-package: the package modules it may import, besides its own and the foundation
    "sivae_sklearn._arrays": set(),
    "sivae_sklearn._modelfile": set(),
    "sivae_sklearn._engine": {"sivae_sklearn._arrays"},
    "sivae_sklearn._estimator": {"sivae_sklearn._arrays", "sivae_sklearn._engine", "sivae_sklearn._modelfile"},
}


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports that go up or sideways between the layer sub-packages."""
    hits = []
    for layer, allowed in LAYERS.items():
        for module in (m for m in graph if m == layer or m.startswith(layer + ".")):
            for target in sorted(graph[module] - FOUNDATION):
                if not any(target == ok or target.startswith(ok + ".") for ok in (layer, *allowed)):
                    hits.append(f"{module} -> {target}")
    return hits


def test_layer_checker_catches_an_engine_that_imports_the_estimator():
    graph = {"sivae_sklearn._engine.model": {"sivae_sklearn._estimator.sivae", "sivae_sklearn._arrays.rows"}}
    assert layer_violations(graph) == ["sivae_sklearn._engine.model -> sivae_sklearn._estimator.sivae"]


def test_layers_import_only_downwards():
    graph = package_graph()
    assert {m.rsplit(".", 1)[0] for m in graph if m.count(".") == 2} >= set(LAYERS)
    assert layer_violations(graph) == []


def imports_tensorflow(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        if any(n == "tensorflow" or n.startswith(("tensorflow.", "keras")) for n in names):
            return True
    return False


def test_arrays_and_the_model_file_need_no_tensorflow():
    assert imports_tensorflow("def f():\n    import tensorflow as tf\n")
    light = [p for sub in ("_arrays", "_modelfile") for p in (PACKAGE / sub).glob("*.py")]
    assert light and [str(p.relative_to(ROOT)) for p in light if imports_tensorflow(p.read_text())] == []


# ------------------------------------------------------- private reach-ins
def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def private_reach_ins(source: str) -> list[str]:
    """``obj._name`` where ``obj`` is not ``self``/``cls``/``super()`` and ``_name`` is not this module's own.

    A private name is the module's own when the module defines it: a function,
    a class, or an attribute it assigns (``obj._name = ...``).
    """
    tree = ast.parse(source)
    own = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    own |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)}
    classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    hits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or _is_dunder(node.attr):
            continue
        base = node.value
        if isinstance(base, ast.Name) and (base.id in ("self", "cls") or base.id in classes):
            continue
        if isinstance(base, ast.Call) and getattr(base.func, "id", None) == "super":
            continue
        if node.attr in own:
            continue
        hits.append(f"line {node.lineno}: {ast.unparse(node)}")
    return hits


def test_reach_in_checker_catches_a_private_member_of_another_module():
    source = "def embed(model, X):\n    X = model._check_X(X)\n    return model._compiled.embed(X)\n"
    assert private_reach_ins(source) == ["line 2: model._check_X", "line 3: model._compiled"]
    assert private_reach_ins("class A:\n    def f(self):\n        return self._g() + A._h\n") == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_reaches_into_another_modules_private_members(module):
    assert private_reach_ins(MODULES[module].read_text()) == []


def test_test_stubs_do_not_copy_private_names_of_the_package():
    private = set()
    for path in MODULES.values():
        tree = ast.parse(path.read_text())
        private |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr.startswith("_")}
        private |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("_")}
    private = {name for name in private if not _is_dunder(name)}
    copied = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
            names = {n.name for n in ast.walk(cls) if isinstance(n, ast.FunctionDef)}
            names |= {n.attr for n in ast.walk(cls) if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store)}
            names |= {t.id for n in cls.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
            copied += [f"{path.name}:{cls.name}.{name}" for name in sorted(names & private)]
    assert copied == []


# ------------------------------------------------------------- likelihoods
LIKELIHOOD_NAMES = {"gaussian", "bernoulli", "poisson", "nb"}


def likelihood_comparisons(source: str) -> list[str]:
    """Comparisons against a likelihood's name (``== "nb"``, ``in ("poisson", "nb")``)."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        for side in [node.left, *node.comparators]:
            values = side.elts if isinstance(side, (ast.Tuple, ast.List, ast.Set)) else [side]
            if any(isinstance(v, ast.Constant) and v.value in LIKELIHOOD_NAMES for v in values):
                hits.append(f"line {node.lineno}: {ast.unparse(node)}")
                break
    return hits


def test_likelihood_checker_catches_an_if_chain():
    assert likelihood_comparisons('if likelihood in ("poisson", "nb"):\n    pass\n') != []


@pytest.mark.parametrize(
    "path",
    sorted([*PACKAGE.rglob("*.py"), *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "examples").glob("*.py")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_likelihoods_are_asked_through_their_registry(path):
    if path == PACKAGE / "_engine" / "likelihoods.py":
        return
    assert likelihood_comparisons(path.read_text()) == []


# ------------------------------------------------------------- namespaces
def test_namespaces_load_lazily_after_one_import():
    code = (
        "import sys, sivae_sklearn\n"
        "before = sorted(m for m in ('sivae_sklearn.tl', 'sivae_sklearn.pl', 'sivae_sklearn.plotting', "
        "'sivae_sklearn.explorer', 'anndata', 'scanpy', 'dash') if m in sys.modules)\n"
        "print(before, callable(sivae_sklearn.tl.sivae), callable(sivae_sklearn.pl.loadings), "
        "'sivae_sklearn.tl' in sys.modules, hasattr(sivae_sklearn, 'nothing_here'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[] True True True False"


# ------------------------------------------------------------ history tags
HISTORY_TAG = re.compile(r"\biss" r"ue\s*#?\s*\d+", re.IGNORECASE)


def test_history_tag_pattern_matches_a_tag():
    tag = "# --- Iss" + "ue 4 (genomics) block"
    assert HISTORY_TAG.search(tag) and not HISTORY_TAG.search("no issues here")


def test_no_history_tags_in_code_tests_examples_benchmarks_or_docs():
    folders = ("sivae_sklearn", "tests", "examples", "benchmarks", "docs")
    files = [p for folder in folders for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md")]
    hits = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in [*files, ROOT / "README.md"]
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if HISTORY_TAG.search(line)
    ]
    assert hits == []


def missing_package_names(source: str) -> list[str]:
    """The ``from sivae_sklearn... import name`` of ``source`` that the package does not have (module or name)."""
    import importlib.util

    missing = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sivae_sklearn"):
            continue
        try:
            module = importlib.import_module(node.module)
        except ImportError:
            missing.append(node.module)
            continue
        for alias in node.names:
            if not hasattr(module, alias.name) and importlib.util.find_spec(f"{node.module}.{alias.name}") is None:
                missing.append(f"{node.module}.{alias.name}")
    return missing


def test_import_checker_catches_a_module_that_moved():
    source = "from sivae_sklearn import SiVAE, _training\nfrom sivae_sklearn._gone import x\n"
    assert missing_package_names(source) == ["sivae_sklearn._training", "sivae_sklearn._gone"]
    assert missing_package_names("from sivae_sklearn._engine import training\n") == []


@pytest.mark.parametrize(
    "path",
    sorted(str(p.relative_to(ROOT)) for folder in ("benchmarks", "examples") for p in (ROOT / folder).glob("*.py")),
)
def test_benchmarks_and_examples_import_only_what_the_package_has(path):
    assert missing_package_names((ROOT / path).read_text()) == []
