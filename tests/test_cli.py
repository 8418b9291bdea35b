"""The ``sivae`` command line, run in-process through ``main([...])``."""

import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sivae_sklearn import load
from sivae_sklearn.cli import build_parser, main
from tests.presets import TINY, cli_options, make_counts

ROOT = Path(__file__).resolve().parents[1]

FAST = cli_options({k: v for k, v in dict(TINY, max_epochs=2).items() if k != "kl_warmup_steps"})


@pytest.fixture(scope="module")
def h5ad(tmp_path_factory):
    counts, _ = make_counts(120, 30, seed=1)
    adata = ad.AnnData(X=np.log1p(counts))
    adata.layers["counts"] = sp.csr_matrix(counts)
    path = tmp_path_factory.mktemp("cli") / "in.h5ad"
    adata.write_h5ad(path)
    return path


def test_help_explains_every_option(capsys):
    assert main(["fit", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--output",
        "--layer",
        "--likelihood",
        "--n-components",
        "--hidden-layer-sizes",
        "--max-epochs",
        "--batch-size",
        "--learning-rate",
        "--random-state",
        "--batch-key",
        "--use-highly-variable",
        "--key-added",
        "--overwrite",
        "--save-model",
        "--verbose",
    ):
        assert option in out
    assert "obsm['X_<key>']" in out


def test_fit_nb_on_count_layer_writes_results_and_model(h5ad, tmp_path, capsys):
    out, model_path = tmp_path / "out.h5ad", tmp_path / "m.sivae"
    argv = ["fit", str(h5ad), "-o", str(out), "--layer", "counts", "--likelihood", "nb", "--n-components", "3"]
    assert main(argv + FAST + ["--save-model", str(model_path), "--key-added", "sv"]) == 0
    assert "wrote obsm['X_sv']" in capsys.readouterr().out
    result = ad.read_h5ad(out)
    assert result.obsm["X_sv"].shape == (120, 3)
    assert result.varm["sv_loadings"].shape == (30, 3)
    assert result.uns["sv"]["params"]["likelihood"] == "nb"
    assert result.uns["sv"]["params"]["layer"] == "counts"
    model = load(model_path)
    np.testing.assert_allclose(model.transform(result.layers["counts"]), result.obsm["X_sv"], rtol=1e-5, atol=1e-6)
    # the same key again fails without --overwrite, succeeds with it
    assert main(["fit", str(out), "-o", str(out), "--key-added", "sv", "--max-epochs", "1"]) == 1
    assert "already exist" in capsys.readouterr().err
    assert main(["fit", str(out), "-o", str(out), "--key-added", "sv", "--overwrite"] + FAST) == 0


def test_fit_takes_a_feature_batch_size(h5ad, tmp_path, capsys):
    out, model_path = tmp_path / "out.h5ad", tmp_path / "m.sivae"
    argv = ["fit", str(h5ad), "-o", str(out), "--n-components", "2", "--feature-batch-size", "4"]
    assert main(argv + FAST + ["--save-model", str(model_path)]) == 0, capsys.readouterr().err
    assert load(model_path).feature_batch_size == 4
    assert ad.read_h5ad(out).uns["sivae"]["params"]["feature_batch_size"] == 4
    parser = build_parser()
    assert parser.parse_args(["fit", "i", "-o", "o", "--feature-batch-size", "none"]).feature_batch_size is None
    assert parser.parse_args(["fit", "i", "-o", "o"]).feature_batch_size is None


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["fit", "missing.h5ad", "-o", "x.h5ad"], 1, "does not exist"),
        (["fit", "{in}", "-o", "x.h5ad", "--feature-batch-size", "0"], 2, "an integer >= 1 or none"),
        (["fit", "{in}", "-o", "x.h5ad", "--feature-batch-size", "4.5"], 2, "an integer >= 1 or none"),
        (["fit", "{in}", "-o", "x.h5ad", "--layer", "nope"], 1, "has no layer of that name; its layers: ['counts']"),
        (["fit", "{in}", "-o", "x.h5ad", "--batch-key", "nope"], 1, "has no obs column of that name"),
        (["fit", "{in}", "-o", "x.h5ad", "--likelihood", "zip"], 2, "invalid choice"),
        (["fit", "{in}", "-o", "x.h5ad", "--n-components", "0"], 2, "expected an integer >= 1"),
        (["fit", "{in}", "-o", "x.h5ad", "--hidden-layer-sizes", "a,b"], 2, "comma-separated"),
        (["fit", "{in}", "-o", "x.h5ad", "--use-highly-variable", "maybe"], 2, "auto, yes or no"),
        (["fit", "{in}", "-o", "x.h5ad", "--use-highly-variable", "yes"], 1, "highly_variable"),
        (["fit", "{in}", "-o", "x.h5ad", "--validation-fraction", "1.5"], 2, "a number in [0, 1)"),
        (["fit", "{in}", "-o", "x.h5ad", "--early-stopping", "perhaps"], 2, "expected yes or no"),
        (["fit", "{in}", "-o", "x.h5ad", "--beta", "-1"], 2, "expected a number >= 0"),
        (["fit", "{in}", "-o", "x.h5ad", "--likelihood", "nb", "--max-epochs", "1"], 0, "non-integer"),
        (["fit", "{in}"], 2, "-o/--output"),
        (["fit", "{in}", "-o", "/no/such/dir/x.h5ad"], 1, "folder of the output"),
        (["fit", "{in}", "-o", "x.h5ad", "--bogus"], 2, "unrecognized arguments"),
        ([], 2, "required"),
    ],
)
def test_errors_are_one_line_messages(h5ad, tmp_path, monkeypatch, capsys, argv, status, message):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{in}", str(h5ad)) for a in argv]
    if status == 0:  # a warning, not an error: log-data under nb still runs
        assert main(argv + ["--hidden-layer-sizes", "8"]) == 0
        warning = [line for line in capsys.readouterr().err.splitlines() if message in line]
        assert len(warning) == 1 and warning[0].startswith("sivae: warning: --likelihood nb expects integer counts")
        return
    assert main(argv) == status
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_module_entry_point_runs_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sivae_sklearn.cli", "fit", str(tmp_path / "nope.h5ad"), "-o", "o.h5ad"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "sivae: error: input file" in proc.stderr and "Traceback" not in proc.stderr


def test_defaults_are_those_of_the_estimator_and_tl_sivae():
    import inspect

    from sivae_sklearn import SiVAE, tl
    from sivae_sklearn.cli import TOOL_OPTIONS, defaults

    values = defaults()
    tool = {n: p.default for n, p in inspect.signature(tl.sivae).parameters.items() if p.default is not p.empty}
    # copy: not an option; overwrite: a flag of its own (shared with ``sivae transform``)
    assert set(tool) - set(TOOL_OPTIONS) == {"copy", "overwrite"}
    assert values == {**SiVAE().get_params(), **{k: v for k, v in tool.items() if k in TOOL_OPTIONS}}
    assert values["n_components"] == 10 != SiVAE().n_components  # scanpy's habit, as tl.sivae


def test_every_offered_parameter_reaches_the_estimator_with_its_default():
    from sivae_sklearn import SiVAE
    from sivae_sklearn._arrays.feature_inputs import FEATURE_INPUT_METHODS
    from sivae_sklearn._engine.likelihoods import LIKELIHOODS
    from sivae_sklearn._engine.training import SCHEDULES
    from sivae_sklearn.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["fit", "in.h5ad", "-o", "out.h5ad"])
    estimator = SiVAE().get_params()
    offered = {name for name in estimator if hasattr(args, name)}
    # feature_programs: offered as --programs FILE.gmt (tl.sivae's programs)
    assert set(estimator) - offered == {
        "conditional",
        "classifier_weight",
        "classifier_layer_sizes",
        "feature_programs",
    }
    assert args.verbose == 0  # -v, -vv
    for name in offered - {"n_components", "verbose"}:
        assert getattr(args, name) == estimator[name], name
    fit = parser._subparsers._group_actions[0].choices["fit"]
    choices = {a.dest: set(a.choices) for a in fit._actions if a.choices}
    assert choices == {"likelihood": set(LIKELIHOODS), "schedule": set(SCHEDULES)}
    # feature_input is a method name or an embedding of the genes in adata.varm
    for text, value in [(m, m) for m in FEATURE_INPUT_METHODS] + [("PCA", "pca"), ("varm:X_gene", "varm:X_gene")]:
        assert parser.parse_args(["fit", "i", "-o", "o", "--feature-input", text]).feature_input == value
    for text in ("magic", "varm:"):
        with pytest.raises(SystemExit):
            parser.parse_args(["fit", "i", "-o", "o", "--feature-input", text])
    changed = parser.parse_args(
        ["fit", "i", "-o", "o", "--beta", "0.5", "--early-stopping", "no", "--hidden-layer-sizes", "linear"]
    )
    assert (changed.beta, changed.early_stopping, changed.hidden_layer_sizes) == (0.5, False, ())
    # a parameter that is a name or a number takes both, and refuses anything else
    for text, value in (("mean", "mean"), ("ELBO", "elbo"), ("0.25", 0.25)):
        assert parser.parse_args(["fit", "i", "-o", "o", "--feature-kl-weight", text]).feature_kl_weight == value
    with pytest.raises(SystemExit):
        parser.parse_args(["fit", "i", "-o", "o", "--feature-kl-weight", "sum"])


def test_help_and_version_import_neither_tensorflow_nor_sklearn_nor_pandas():
    heavy = ("tensorflow", "sklearn", "pandas", "scipy", "anndata")
    for argv in (["--help"], ["--version"], ["fit", "--help"], ["transform", "--help"], ["explore", "--help"]):
        code = (
            "import sys\n"
            "from sivae_sklearn.cli import main\n"
            f"status = main({argv!r})\n"
            f"print('LOADED', status, sorted(m for m in {heavy!r} if m in sys.modules))\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        assert proc.stdout.strip().splitlines()[-1] == "LOADED 0 []", (argv, proc.stdout, proc.stderr)


def test_help_documents_the_exit_status_and_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for text in ("fit", "transform", "explore", "exit status:", "  2  the command line is wrong"):
        assert text in out


def test_transform_layer_help_says_embed_not_fit():
    from sivae_sklearn.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command" or hasattr(a, "choices") and a.choices)
    transform, fit = commands.choices["transform"], commands.choices["fit"]
    layer = {a.dest: a.help for a in transform._actions}["layer"]
    assert layer.startswith("Embed") and "Fit" not in layer
    assert {a.dest: a.help for a in fit._actions}["layer"].startswith("Fit on")


@pytest.fixture(scope="module")
def fitted(h5ad, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fitted")
    out, model_path = folder / "out.h5ad", folder / "m.sivae"
    argv = ["fit", str(h5ad), "-o", str(out), "--layer", "counts", "--likelihood", "nb", "--n-components", "3"]
    assert main(argv + FAST + ["--save-model", str(model_path)]) == 0
    return out, model_path


def test_transform_applies_a_saved_model_and_writes_like_fit(fitted, h5ad, tmp_path, capsys):
    out, model_path = fitted
    target = tmp_path / "t.h5ad"
    argv = ["transform", str(model_path), str(h5ad), "-o", str(target), "--layer", "counts", "--key-added", "t"]
    assert main(argv) == 0
    assert "wrote obsm['X_t'] (120 x 3)" in capsys.readouterr().out
    fit_result, result = ad.read_h5ad(out), ad.read_h5ad(target)
    np.testing.assert_allclose(result.obsm["X_t"], fit_result.obsm["X_sivae"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(result.varm["t_loadings"], fit_result.varm["sivae_loadings"])
    assert result.uns["t"]["params"]["likelihood"] == "nb"
    assert main(argv) == 0  # a fresh read of the input: nothing there yet
    assert (
        main(["transform", str(model_path), str(target), "-o", str(target), "--layer", "counts", "--key-added", "t"])
        == 1
    )
    assert "already exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["transform", "nope.sivae", "{in}", "-o", "o.h5ad"], 1, "model file 'nope.sivae' does not exist"),
        (["transform", "{in}", "{in}", "-o", "o.h5ad"], 1, "not"),  # an h5ad is not a model file
        (["transform", "{model}", "{in}", "-o", "o.h5ad", "--use-highly-variable", "yes"], 1, "highly_variable"),
        (["explore", "nope.sivae", "{in}"], 1, "model 'nope.sivae' does not exist"),
        (["explore", "{model}", "nope.npy"], 1, "data file 'nope.npy' does not exist"),
        (["explore", "{model}", "{in}", "--image-shape", "5"], 2, "HEIGHT WIDTH"),
        (["explore", "{model}", "{in}", "--port", "x"], 2, "expected a TCP port, an integer in [0, 65535]"),
    ],
)
def test_transform_and_explore_errors_are_one_line(fitted, h5ad, tmp_path, monkeypatch, capsys, argv, status, message):
    monkeypatch.chdir(tmp_path)
    _, model_path = fitted
    argv = [a.replace("{in}", str(h5ad)).replace("{model}", str(model_path)) for a in argv]
    assert main(argv) == status
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if ": error: " in line]) == 1  # argparse says "sivae explore: error:"


def test_an_all_zero_count_matrix_fits_with_two_warnings(tmp_path):
    path = tmp_path / "zeros.h5ad"
    ad.AnnData(sp.csr_matrix((300, 200), dtype=np.float32)).write_h5ad(path)
    proc = subprocess.run(
        [sys.executable, "-m", "sivae_sklearn.cli", "fit", str(path), "-o", str(tmp_path / "o.h5ad")]
        + ["--likelihood", "nb", "--max-epochs", "1", "--hidden-layer-sizes", "8"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if line.startswith("sivae: warning:")]
    assert len(warned) == 2 and "constant over all cells" in warned[0] and "zero total counts" in warned[1]
    assert ad.read_h5ad(tmp_path / "o.h5ad").obsm["X_sivae"].shape == (300, 10)


def test_debug_shows_the_traceback_and_a_bug_gets_status_3(h5ad, tmp_path, monkeypatch, capsys):
    from sivae_sklearn import tl

    def broken(*args, **kwargs):
        raise AttributeError("a bug")

    monkeypatch.setattr(tl, "sivae", broken)
    argv = ["fit", str(h5ad), "-o", str(tmp_path / "o.h5ad")]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.strip() == (
        "sivae: error: internal error, AttributeError: a bug (run again with --debug and report the traceback)"
    )
    assert main(["--debug"] + argv) == 3
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().splitlines()[-1].startswith("sivae: error:")
    assert main(argv + ["--debug"]) == 3 and "Traceback" in capsys.readouterr().err


def test_verbose_fit_shows_progress_and_the_closing_line_once(h5ad, tmp_path, capsys):
    assert main(["fit", str(h5ad), "-o", str(tmp_path / "o.h5ad"), "-v"] + FAST) == 0
    err = capsys.readouterr().err
    assert "joint epoch 1/2" in err
    assert err.count("Training ended at max_epochs after 2 epochs") == 1
    assert "sivae: Training ended" in err


@pytest.fixture(scope="module")
def fitted_on_hvg(tmp_path_factory):
    """A file with a highly-variable column and named genes, and a model fitted on it with the defaults."""
    folder = tmp_path_factory.mktemp("hvg")
    counts, _ = make_counts(120, 30, seed=2)
    adata = ad.AnnData(X=np.log1p(counts).astype(np.float32))
    adata.var_names = [f"gene{j}" for j in range(30)]
    adata.var["highly_variable"] = np.arange(30) % 3 != 0
    path, out, model_path = folder / "in.h5ad", folder / "out.h5ad", folder / "m.sivae"
    adata.write_h5ad(path)
    assert (
        main(["fit", str(path), "-o", str(out), "--n-components", "2"] + FAST + ["--save-model", str(model_path)]) == 0
    )
    return path, out, model_path


def test_transform_on_the_fitted_file_reuses_the_mask_and_matches_genes_by_name(fitted_on_hvg, tmp_path, capsys):
    path, out, model_path = fitted_on_hvg
    expected = ad.read_h5ad(out)
    assert list(load(model_path).feature_names_in_) == list(expected.var_names[expected.var["highly_variable"]])
    same = tmp_path / "same.h5ad"
    assert main(["transform", str(model_path), str(path), "-o", str(same)]) == 0  # the defaults
    np.testing.assert_allclose(ad.read_h5ad(same).obsm["X_sivae"], expected.obsm["X_sivae"], rtol=1e-5, atol=1e-6)
    # the genes in another order, without the mask column: the same embedding
    shuffled = ad.read_h5ad(path)
    shuffled = shuffled[:, np.random.RandomState(0).permutation(30)].copy()
    del shuffled.var["highly_variable"]
    shuffled_path, result = tmp_path / "shuffled.h5ad", tmp_path / "result.h5ad"
    shuffled.write_h5ad(shuffled_path)
    assert main(["transform", str(model_path), str(shuffled_path), "-o", str(result)]) == 0
    written = ad.read_h5ad(result)
    np.testing.assert_allclose(written.obsm["X_sivae"], expected.obsm["X_sivae"], rtol=1e-5, atol=1e-6)
    loadings = pd.DataFrame(written.varm["sivae_loadings"], index=written.var_names).loc[expected.var_names]
    np.testing.assert_array_equal(loadings.to_numpy(), expected.varm["sivae_loadings"])


def test_transform_refuses_missing_genes_by_name_unless_told_zero(fitted_on_hvg, tmp_path, capsys):
    path, _, model_path = fitted_on_hvg
    partial = ad.read_h5ad(path)
    partial = partial[:, [g for g in partial.var_names if g not in ("gene1", "gene2")]].copy()
    partial_path, result = tmp_path / "partial.h5ad", tmp_path / "result.h5ad"
    partial.write_h5ad(partial_path)
    capsys.readouterr()
    assert main(["transform", str(model_path), str(partial_path), "-o", str(result)]) == 1
    err = capsys.readouterr().err
    assert "2 gene(s) of the model are not in adata.var_names: ['gene1', 'gene2']" in err and "Traceback" not in err
    assert not result.exists()
    argv = ["transform", str(model_path), str(partial_path), "-o", str(result), "--missing-genes", "zero"]
    assert main(argv) == 0
    assert "counted as 0" in capsys.readouterr().err
    assert ad.read_h5ad(result).obsm["X_sivae"].shape == (120, 2)
    assert main(argv[:-1] + ["pad"]) == 2
