"""What the ``sivae`` command line promises about errors (docs/cli.md, "Exit status and errors"):

* what can be checked without TensorFlow is refused before TensorFlow is imported (checked in a fresh
  interpreter, by ``sys.modules``, not by timing);
* a wrong command line is one line naming the command and where its usage is, never the usage block;
* messages of the library that name its keywords are printed with the command's options;
* Ctrl+C during training or during the write leaves the output and the input as they were, exit 130.
"""

import ast
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp

from sivae_sklearn import cli
from sivae_sklearn.cli import build_parser, cli_advice, main
from tests.presets import cli_options, make_counts

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sivae_sklearn"

FAST = cli_options(dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=32, random_state=0))


def options_of(command: str) -> dict:
    return (
        build_parser().parse_args({"fit": ["fit"], "transform": ["transform", "m"]}[command] + ["i", "-o", "o"]).options
    )


def keyword_assignments(text: str, options) -> list[str]:
    """The ``keyword=`` of ``options`` left in ``text`` (a Python keyword where an option should be)."""
    names = "|".join(re.escape(n) for n in options)
    return re.findall(rf"(?<![\w.'\"\[-])(?:{names})=", text)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small .h5ad files, each wrong in one way, and a folder and a text file to misuse as paths."""
    folder = tmp_path_factory.mktemp("refused")
    counts, _ = make_counts(60, 12, seed=3)
    genes = [f"gene{j}" for j in range(12)]

    def write(name, **change):
        adata = ad.AnnData(np.log1p(counts))
        adata.var_names = genes
        adata.layers["counts"] = sp.csr_matrix(counts)
        for key, value in change.items():
            if key == "var_names":
                adata.var_names = value
            elif key == "X":
                adata.X = value
            else:
                for column, values in value.items():
                    getattr(adata, key)[column] = values
        path = folder / name
        adata.write_h5ad(path)
        return path

    paths = {
        "plain": write("plain.h5ad"),
        "fitted": write("fitted.h5ad", obsm={"X_sivae": np.zeros((60, 2))}),
        "no_hvg_kept": write("nohvg.h5ad", var={"highly_variable": np.zeros(12, dtype=bool)}),
        "duplicates": write("dup.h5ad", var_names=[f"gene{j % 6}" for j in range(12)]),
        "no_X": write("noX.h5ad", X=None),
        "hvg": write("hvg.h5ad", var={"highly_variable": np.arange(12) % 3 != 0}),
    }
    (folder / "notes.txt").write_text("not an h5ad\n")
    (folder / "a_folder").mkdir()
    paths.update(folder=folder, notes=folder / "notes.txt", a_folder=folder / "a_folder")
    return paths


# ------------------------------------------------------------- before TensorFlow
REFUSED = [
    # (argv, status, words the one error line must hold)
    (["fit", "{a_folder}", "-o", "{folder}/o.h5ad"], 1, ["input file", "is a directory, not a file"]),
    (["fit", "{plain}", "-o", "{notes}/out.h5ad"], 1, ["folder of the output file", "is a file"]),
    (["fit", "{plain}", "-o", "{a_folder}"], 1, ["the output file", "is a directory"]),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--save-model", "{a_folder}"], 1, ["--save-model", "is a directory"]),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--save-model", "{notes}/m.sivae"], 1, ["--save-model", "is a file"]),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--save-model", "{plain}"], 2, ["--save-model", "input file"]),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--save-model", "{folder}/o.h5ad"], 2, ["-o/--output"]),
    (["fit", "{notes}", "-o", "{folder}/o.h5ad"], 1, ["cannot read", "as an .h5ad file"]),
    (
        ["fit", "{fitted}", "-o", "{folder}/o.h5ad"],
        1,
        ["obsm['X_sivae'] already exist", "--key-added NAME", "--overwrite"],
    ),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--layer", "raw"], 1, ["--layer raw", "its layers: ['counts']"]),
    (["fit", "{no_X}", "-o", "{folder}/o.h5ad"], 1, ["has no X", "--layer NAME"]),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--batch-key", "donor"], 1, ["--batch-key donor", "no obs column"]),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--use-highly-variable", "yes"], 1, ["--use-highly-variable no"]),
    (["fit", "{no_hvg_kept}", "-o", "{folder}/o.h5ad"], 1, ["keeps no gene", "--use-highly-variable no"]),
    (["fit", "{duplicates}", "-o", "{folder}/o.h5ad"], 1, ["not unique", "gene0"]),
    (["fit", "{hvg}", "-o", "{folder}/o.h5ad", "--n-components", "9"], 1, ["--n-components 9", "the 8 genes"]),
    (["fit", "{plain}", "-o", "{folder}/o.h5ad", "--key-added", ""], 2, ["--key-added must not be empty"]),
    (["transform", "{notes}", "{plain}", "-o", "{folder}/o.h5ad", "--layer", "raw"], 1, ["--layer raw"]),
    (["transform", "{notes}", "{fitted}", "-o", "{folder}/o.h5ad"], 1, ["--key-added NAME", "--overwrite"]),
    (["transform", "{notes}", "{plain}", "-o", "{notes}"], 2, ["-o/--output names the model file"]),
    (["transform", "{a_folder}", "{plain}", "-o", "{folder}/o.h5ad"], 1, ["model file", "is a directory"]),
    (["explore", "{a_folder}", "{plain}", "--port", "70000"], 2, ["--port", "[0, 65535]", "'70000'"]),
    (["explore", "{a_folder}", "{plain}", "--host", "300.1.1.1"], 2, ["--host '300.1.1.1'"]),
    (["explore", "{a_folder}", "{plain}", "--port", "{busy}"], 1, ["cannot serve on 127.0.0.1:", "--port"]),
    (["explore", "{a_folder}", "{plain}", "--labels-column", "cell_type"], 1, ["--labels-column cell_type"]),
    (["explore", "{a_folder}", "{plain}", "--labels-file", "{folder}/none.txt"], 1, ["labels file", "does not exist"]),
]


def test_what_can_be_checked_without_tensorflow_is_refused_before_it_loads(files):
    """One fresh interpreter runs every refused command line through ``main`` and reports ``sys.modules``."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        names = {k: str(v) for k, v in files.items()} | {"busy": str(busy.getsockname()[1])}
        cases = [[a.format(**names) for a in argv] for argv, _, _ in REFUSED]
        code = (
            "import contextlib, io, json, sys\n"
            "from sivae_sklearn.cli import main\n"
            "results = []\n"
            f"for argv in {cases!r}:\n"
            "    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err):\n"
            "        results.append((main(argv), err.getvalue()))\n"
            "loaded = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
            "print(json.dumps({'results': results, 'loaded': loaded}))\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
        )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["loaded"] == []  # nothing above needed TensorFlow
    for (argv, status, words), (got, err) in zip(REFUSED, report["results"]):
        lines = err.strip().splitlines()
        assert got == status and len(lines) == 1, (argv, got, err)
        assert all(word in lines[0] for word in words), (argv, lines[0])
        prefix = f"sivae {argv[0]}: error: " if status == 2 else "sivae: error: "
        assert lines[0].startswith(prefix), lines[0]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_folder_without_write_permission_is_refused_at_once(files, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["fit", str(files["plain"]), "-o", str(locked / "o.h5ad")]) == 1
    finally:
        locked.chmod(0o755)


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs a folder where no one may create files (Linux /sys)")
def test_a_folder_no_one_may_write_is_refused_at_once(files, capsys):
    assert main(["fit", str(files["plain"]), "-o", "/sys/o.h5ad"]) == 1
    err = capsys.readouterr().err
    assert "its folder '/sys' is not writable" in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------ wrong command line
@pytest.mark.parametrize(
    ("argv", "prog", "words"),
    [
        (["fit", "in.h5ad", "-o", "o.h5ad", "--bogus"], "sivae fit", "unrecognized arguments: --bogus"),
        (["fit", "in.h5ad", "-o", "o.h5ad", "--likelihood", "zip"], "sivae fit", "invalid choice: 'zip'"),
        (["fit", "in.h5ad"], "sivae fit", "-o/--output"),
        (["fit", "in.h5ad", "-o", "o.h5ad", "--feature-batch-size", "0"], "sivae fit", "an integer >= 1 or none"),
        (["transform", "m.sivae"], "sivae transform", "required"),
        (["explore", "m.sivae", "d.npy", "--port", "-1"], "sivae explore", "[0, 65535]"),
        (["explore", "m.sivae", "d.npy", "--image-shape", "4"], "sivae explore", "HEIGHT WIDTH"),
        ([], "sivae", "required: COMMAND"),
        (["bogus"], "sivae", "invalid choice: 'bogus'"),
    ],
)
def test_a_wrong_command_line_is_one_line_and_a_hint_never_the_usage(tmp_path, monkeypatch, capsys, argv, prog, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.npy").write_bytes(b"")
    (tmp_path / "m.sivae").write_bytes(b"")
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "usage:" not in captured.err
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"{prog}: error: ") and words in line, line
    assert line.endswith(f"; run '{prog} --help' for usage")


def test_help_still_shows_the_usage(capsys):
    assert main(["fit", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: sivae fit")


def test_exit_codes_are_those_of_the_docs():
    text = (ROOT / "docs" / "cli.md").read_text()
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", text, flags=re.M))
    assert set(map(int, table)) == set(cli.EXIT_CODES) == {0, 1, 2, 3, 130}
    assert "interrupted" in table["130"] and "command line is wrong" in table["2"]


# -------------------------------------------------------------- CLI advice
def library_messages() -> list[tuple[str, str]]:
    """Every message of a ``raise`` or a warning in the modules behind ``sivae fit`` and ``sivae transform``.

    f-string fields become ``1``, so ``likelihood={likelihood!r}`` reads ``likelihood=1``.
    """
    sources = [PACKAGE / "tl.py", PACKAGE / "_io.py"]
    sources += [p for sub in ("_estimator", "_engine", "_arrays", "_modelfile") for p in (PACKAGE / sub).glob("*.py")]
    messages = []
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc
            elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("warn") and node.args:
                target = node.args[0]
            else:
                continue
            parts = []
            for part in ast.walk(target):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    parts.append(part.value)
                elif isinstance(part, ast.FormattedValue):
                    parts.append("1")
            if parts:
                messages.append((f"{path.name}:{node.lineno}", "".join(parts)))
    return messages


def test_every_library_message_naming_an_option_keyword_is_printed_with_the_option():
    checked = 0
    for command in ("fit", "transform"):
        options = options_of(command)
        for where, message in library_messages():
            if keyword_assignments(message, options):
                checked += 1
                translated = cli_advice(message, options)
                assert keyword_assignments(translated, options) == [], (command, where, translated)
    assert checked >= 15  # the scan finds the messages (key_added=, overwrite=True, learning_rate=, ...)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pass key_added='<new name>' to keep both, or overwrite=True to replace them.",
            "pass --key-added NAME to keep both, or --overwrite to replace them.",
        ),
        ("pass use_highly_variable=False.", "pass --use-highly-variable no."),
        ("pass layer='<name>' to fit on a layer", "pass --layer NAME to fit on a layer"),
        ("(learning_rate=0.001; try 10x lower)", "(--learning-rate 0.001; try 10x lower)"),
        ("hidden_layer_sizes=(512, 128) makes", "--hidden-layer-sizes 512,128 makes"),
        ("Choose smaller hidden_layer_sizes.", "Choose smaller --hidden-layer-sizes."),
        ("early_stopping=False", "--early-stopping no"),
        ("embed_all_genes=True is not available", "--embed-all-genes is not available"),
        ("The 'beta' parameter of SiVAE must be", "--beta must be"),
        ("kl_warmup_steps=S is about", "--kl-warmup-steps S is about"),
        # left alone: keys, attributes, other functions' keywords, ordinary words
        ("adata.var['highly_variable'] and uns['layer']", "adata.var['highly_variable'] and uns['layer']"),
        ("sc.pp.filter_genes(adata, min_cells=1) on a layer", "sc.pp.filter_genes(adata, min_cells=1) on a layer"),
        ("model.feature_input_size", "model.feature_input_size"),
    ],
)
def test_cli_advice_writes_keywords_as_options(text, expected):
    assert cli_advice(text, options_of("fit")) == expected


def test_the_command_line_knows_where_tl_writes_its_results():
    from sivae_sklearn.tl import result_keys

    assert cli._result_keys("k") == result_keys("k")


@pytest.fixture(scope="module")
def negative(tmp_path_factory):
    path = tmp_path_factory.mktemp("negative") / "scaled.h5ad"
    ad.AnnData(np.random.RandomState(0).normal(size=(60, 12)).astype(np.float32)).write_h5ad(path)
    return path


def unnamed_model(path: Path) -> Path:
    from sivae_sklearn import SiVAE

    X = np.random.RandomState(0).normal(size=(40, 5))
    SiVAE(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, random_state=0).fit(X).save(path)
    return path


@pytest.mark.parametrize(
    ("case", "argv", "status", "words"),
    [
        # the library's own checks, reached when the file's metadata cannot be read ahead (an older layout)
        ("no metadata", ["fit", "{fitted}", "-o", "{out}"], 1, ["already exist", "--key-added NAME", "--overwrite"]),
        (
            "no metadata",
            ["fit", "{plain}", "-o", "{out}", "--use-highly-variable", "yes"],
            1,
            ["--use-highly-variable no"],
        ),
        ("no metadata", ["fit", "{no_X}", "-o", "{out}"], 1, ["--layer NAME"]),
        ("no metadata", ["fit", "{no_hvg_kept}", "-o", "{out}"], 1, ["keeps no gene", "--use-highly-variable no"]),
        # found while fitting or reading the data
        (
            "",
            ["fit", "{hvg}", "-o", "{out}", "--embed-all-genes", "--likelihood", "nb"],
            1,
            ["--embed-all-genes is", "--likelihood nb"],
        ),
        (
            "",
            ["fit", "{negative}", "-o", "{out}", "--likelihood", "nb"],
            1,
            ["--likelihood nb", "--layer counts", "--likelihood gaussian"],
        ),
        (
            "",
            ["fit", "{plain}", "-o", "{out}", "--hidden-layer-sizes", "100000000"],
            1,
            ["Choose smaller --hidden-layer-sizes"],
        ),
        (
            "",
            ["fit", "{plain}", "-o", "{out}", "--learning-rate", "1e30"],
            1,
            ["diverged", "(--learning-rate 1e+30; try"],
        ),
        (
            "",
            ["transform", "{unnamed}", "{plain}", "-o", "{out}"],
            1,
            ["fitted on 5 genes", "--use-highly-variable setting"],
        ),
        ("", ["transform", "{named}", "{plain}", "-o", "{out}"], 1, ["not in adata.var_names", "--missing-genes zero"]),
        # warnings
        (
            "",
            ["fit", "{plain}", "-o", "{out}", "--validation-fraction", "0.01"],
            0,
            ["--validation-fraction 0.01 of 60", "Raise --validation-fraction"],
        ),
        (
            "",
            ["fit", "{plain}", "-o", "{out}", "--likelihood", "nb"],
            0,
            ["warning: --likelihood nb expects integer counts", "--layer counts"],
        ),
    ],
)
def test_library_messages_reach_the_command_line_with_its_options(
    files, negative, tmp_path, monkeypatch, capsys, case, argv, status, words
):
    if case == "no metadata":
        monkeypatch.setattr(cli, "_read_h5ad_metadata", lambda source: None)
    names = {k: str(v) for k, v in files.items()}
    names.update(negative=str(negative), out=str(tmp_path / "out.h5ad"))
    if "{unnamed}" in argv:
        names["unnamed"] = str(unnamed_model(tmp_path / "unnamed.sivae"))
    if "{named}" in argv:  # a model of 14 genes, two of which the file lacks
        wider = ad.AnnData(np.random.RandomState(1).normal(size=(60, 14)).astype(np.float32))
        wider.var_names = [f"gene{j}" for j in range(12)] + ["geneX", "geneY"]
        wider.write_h5ad(tmp_path / "wider.h5ad")
        fit = ["fit", str(tmp_path / "wider.h5ad"), "-o", str(tmp_path / "m.h5ad"), "--n-components", "2"]
        assert main(fit + FAST + ["--save-model", str(tmp_path / "named.sivae")]) == 0
        names["named"] = str(tmp_path / "named.sivae")
        capsys.readouterr()
    argv = [a.format(**names) for a in argv]
    if "--hidden-layer-sizes" not in argv and argv[0] == "fit":
        argv += FAST
    assert main(argv + (["--n-components", "2"] if argv[0] == "fit" else [])) == status
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.startswith("sivae: ")]
    assert all(any(word in line for line in said) for word in words), err
    assert keyword_assignments(err, options_of(argv[0])) == [], err
    assert "Traceback" not in err


# -------------------------------------------------------------- --embed-all-genes
def test_embed_all_genes_gives_the_masked_genes_loadings_as_tl_does(files, tmp_path, capsys):
    from sivae_sklearn import load, tl

    out, model_path = tmp_path / "out.h5ad", tmp_path / "m.sivae"
    argv = ["fit", str(files["hvg"]), "-o", str(out), "--n-components", "2", "--embed-all-genes"]
    assert main(argv + FAST + ["--save-model", str(model_path)]) == 0, capsys.readouterr().err
    result = ad.read_h5ad(out)
    hvg = result.var["highly_variable"].to_numpy()
    np.testing.assert_array_equal(result.var["sivae_embedded"].to_numpy(), ~hvg)
    assert result.uns["sivae"]["embedded_genes"] == int((~hvg).sum()) == 4
    loadings = result.varm["sivae_loadings"]
    assert np.all(np.isfinite(loadings)) and np.all(np.abs(loadings[~hvg]).sum(axis=1) > 0)
    assert np.all(np.isnan(result.var["sivae_feature_awareness"].to_numpy()[~hvg]))
    assert list(load(model_path).feature_names_in_) == list(result.var_names[hvg])  # fitted on the mask only
    # the same as tl.sivae with embed_all_genes=True and the same parameters
    expected = ad.read_h5ad(files["hvg"])
    tl.sivae(expected, 2, embed_all_genes=True, hidden_layer_sizes=(8,), max_epochs=2, batch_size=32, random_state=0)
    np.testing.assert_allclose(loadings, expected.varm["sivae_loadings"], rtol=1e-5, atol=1e-6)
    # without the flag the masked genes keep zero rows
    assert main(["fit", str(files["hvg"]), "-o", str(tmp_path / "plain.h5ad"), "--n-components", "2"] + FAST) == 0
    assert not ad.read_h5ad(tmp_path / "plain.h5ad").varm["sivae_loadings"][~hvg].any()


# ------------------------------------------------------------------- --programs
def test_programs_from_a_gmt_file_name_the_dimensions_as_tl_does(files, tmp_path, capsys):
    gmt = tmp_path / "sets.gmt"
    gmt.write_text("first\tdesc\tgene0\tgene1\tgene2\tabsent\n")
    out = tmp_path / "out.h5ad"
    argv = ["fit", str(files["plain"]), "-o", str(out), "--n-components", "2", "--programs", str(gmt)]
    assert main(argv + FAST) == 0
    err = capsys.readouterr().err
    assert "sivae: warning: programs name genes that are not among the fitted genes" in err, err  # 'absent'
    record = ad.read_h5ad(out).uns["sivae"]
    assert list(record["dimension_names"]) == ["first", "sivae1"]
    assert list(record["programs"]["first"]) == ["gene0", "gene1", "gene2"]


def test_a_bad_programs_file_is_refused_before_tensorflow_loads(files, tmp_path, capsys):
    bad = tmp_path / "bad.gmt"
    bad.write_text("no tab on this line\n")
    for path, words in ((tmp_path / "missing.gmt", "does not exist"), (bad, "bad.gmt")):
        argv = ["fit", str(files["plain"]), "-o", str(tmp_path / "o.h5ad"), "--programs", str(path)]
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, err


# ------------------------------------------------------------------- explorer
def test_serve_refuses_a_port_out_of_range_as_a_value_error():
    pytest.importorskip("werkzeug", reason="the explorer extra is not installed")
    from sivae_sklearn.explorer import ExplorerInputError, serve

    for port in (70000, -1):
        with pytest.raises(ExplorerInputError, match=r"port must be an integer in \[0, 65535\]"):
            serve(None, port=port)  # refused before the app is looked at
    with pytest.raises(TypeError, match="port must be an integer"):
        serve(None, port="8050")


def test_python_m_explorer_refuses_the_port_as_sivae_explore_does(tmp_path, capsys):
    from sivae_sklearn.explorer.__main__ import main as explorer_main

    assert explorer_main([str(tmp_path), str(tmp_path / "d.npy"), "--port", "70000"]) == 2
    assert "sivae explore: error: argument --port" in capsys.readouterr().err


# --------------------------------------------------------------------- Ctrl+C
LAUNCHER = (
    # Python turns SIGINT into KeyboardInterrupt only where SIGINT was not ignored when it started; a test
    # runner may start it ignored, so say it explicitly, then run the module as ``python -m`` does.
    "import runpy, signal, sys\n"
    "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
    "sys.argv = ['sivae'] + sys.argv[1:]\n"
    "runpy.run_module('sivae_sklearn.cli', run_name='__main__')\n"
)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ballast_file(tmp_path_factory):
    """Cells for a quick fit, and 64 MiB in uns that every write carries: the write lasts long enough to hit."""
    counts, _ = make_counts(150, 20, seed=4)
    adata = ad.AnnData(np.log1p(counts))
    adata.uns["ballast"] = np.random.RandomState(0).randint(0, 255, size=64 * 2**20, dtype=np.uint8)
    path = tmp_path_factory.mktemp("interrupt") / "source.h5ad"
    adata.write_h5ad(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("during", ["training", "the write over the input"])
def test_ctrl_c_leaves_the_output_and_the_input_as_they_were(ballast_file, tmp_path, during):
    source = tmp_path / "in.h5ad"
    source.write_bytes(ballast_file.read_bytes())
    if during == "training":
        output = tmp_path / "out.h5ad"
        ad.AnnData(np.zeros((3, 2))).write_h5ad(output)  # an earlier, complete result
        extra = ["--max-epochs", "300", "--early-stopping", "no", "--save-model", str(tmp_path / "m.sivae")]
    else:
        output = source
        extra = ["--max-epochs", "1"]
    before = {source: digest(source), output: digest(output)}
    argv = ["fit", str(source), "-o", str(output), "-v", "--hidden-layer-sizes", "8", "--n-components", "2"]
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *argv, *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()

    def started() -> bool:
        if during == "training":
            return any("joint epoch 1/" in line for line in err)
        return any(p.name.endswith(".tmp.h5ad") for p in tmp_path.iterdir())  # the atomic write's file

    deadline = time.monotonic() + 600  # a loaded machine: TensorFlow alone may take a minute to load
    near = f"sivae: writing {output}" if during != "training" else "joint epoch 1/"
    while not any(near in line for line in err) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    while not started() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    assert proc.poll() is None, f"ended before {during}: {''.join(err)}"
    proc.send_signal(signal.SIGINT)
    try:
        status = proc.wait(timeout=120)
    finally:
        proc.kill()
    reader.join(timeout=10)
    assert status == 130, "".join(err)
    assert err[-1].strip() == "sivae: error: interrupted"
    assert "Traceback" not in "".join(err)
    assert digest(source) == before[source] and digest(output) == before[output]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({source.name, output.name})  # no temporary left
    ad.read_h5ad(output)  # still a readable file
