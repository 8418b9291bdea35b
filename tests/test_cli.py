"""The ``sivae`` command line, run in-process through ``main([...])``."""

import subprocess
import sys

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import TINY, cli_options, make_counts

from sivae_sklearn import load
from sivae_sklearn.cli import main

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


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["fit", "missing.h5ad", "-o", "x.h5ad"], 1, "does not exist"),
        (["fit", "{in}", "-o", "x.h5ad", "--layer", "nope"], 1, "Layer 'nope' not found"),
        (["fit", "{in}", "-o", "x.h5ad", "--batch-key", "nope"], 1, "not a column of adata.obs"),
        (["fit", "{in}", "-o", "x.h5ad", "--likelihood", "zip"], 2, "invalid choice"),
        (["fit", "{in}", "-o", "x.h5ad", "--n-components", "0"], 2, "positive integer"),
        (["fit", "{in}", "-o", "x.h5ad", "--hidden-layer-sizes", "a,b"], 2, "comma-separated"),
        (["fit", "{in}", "-o", "x.h5ad", "--use-highly-variable", "maybe"], 2, "auto, yes or no"),
        (["fit", "{in}", "-o", "x.h5ad", "--use-highly-variable", "yes"], 1, "highly_variable"),
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
        with pytest.warns(UserWarning, match=message):
            assert main(argv + ["--hidden-layer-sizes", "8"]) == 0
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


def test_defaults_are_the_estimators_and_tl_sivaes(tmp_path):
    import inspect

    from sivae_sklearn import SiVAE, tl
    from sivae_sklearn.cli import build_parser

    args = build_parser().parse_args(["fit", "in.h5ad", "-o", "out.h5ad"])
    estimator = SiVAE().get_params()
    for name in ("likelihood", "hidden_layer_sizes", "max_epochs", "batch_size", "learning_rate", "random_state"):
        assert getattr(args, name) == estimator[name], name
    signature = inspect.signature(tl.sivae).parameters
    for name in ("n_components", "layer", "use_highly_variable", "key_added", "batch_key"):
        assert getattr(args, name) == signature[name].default, name
    assert args.n_components == 10 != estimator["n_components"]  # scanpy's habit, as tl.sivae
