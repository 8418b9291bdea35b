"""Command-line entry point ``sivae``.

``sivae fit in.h5ad -o out.h5ad --layer counts --likelihood nb --n-components 10``
reads an AnnData file, fits :class:`~sivae_sklearn.SiVAE` through
:func:`sivae_sklearn.tl.sivae` and writes the annotated AnnData (and
optionally the model) back to disk. Errors in the input (missing file, unknown
layer, bad option) end with a one-line message and a non-zero exit status,
never a traceback.

Exit status: 0 success, 1 invalid input data, 2 invalid command line.

>>> main(["--version"])  # doctest: +ELLIPSIS
sivae ...
0
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from ._version import __version__

_DESCRIPTION = """\
siVAE (scalable, interpretable variational autoencoder) for single-cell data.
Fits a SiVAE on an .h5ad file and writes, as scanpy's PCA does:
  obsm['X_<key>']                   embedding (cells x K)
  varm['<key>_loadings']            gene loadings (genes x K; zero rows for masked genes)
  var['<key>_feature_awareness']    per-gene feature awareness (NaN for masked genes)
  uns['<key>']                      parameters and training history
"""

_EPILOG = """\
examples:
  sivae fit pbmc.h5ad -o pbmc_sivae.h5ad --layer counts --likelihood nb --n-components 10
  sivae fit scaled.h5ad -o out.h5ad --likelihood gaussian --max-epochs 200 --save-model model.sivae
"""


def _number(kind, minimum: float, strict: bool, what: str):
    """An argparse type: ``kind(text)`` above ``minimum`` (or at least it, when not ``strict``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum or (strict and not value > minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


_positive_int = _number(int, 0, True, "a positive integer")
_non_negative_int = _number(int, 0, False, "a non-negative integer")
_positive_float = _number(float, 0.0, True, "a positive number")


def _layer_sizes(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none", "linear"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 512,128, got {text!r}"
        ) from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _tristate(text: str) -> bool | None:
    # Explicit words, never bool(text): the original siVAE read the string "False" as true.
    value = text.strip().lower()
    if value == "auto":
        return None
    if value in ("yes", "true", "1"):
        return True
    if value in ("no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected auto, yes or no, got {text!r}")


def defaults() -> dict:
    """Default value of every option that is a parameter of ``tl.sivae`` or ``SiVAE``, read from their signatures.

    The command line has no defaults of its own: ``--n-components`` follows
    :func:`sivae_sklearn.tl.sivae`, the training options follow
    :class:`~sivae_sklearn.SiVAE`. (This is where the command line imports
    the estimator, and with it TensorFlow.)
    """
    from ._estimator import SiVAE
    from .tl import sivae

    values = {
        name: p.default
        for name, p in inspect.signature(SiVAE).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    values.update(
        (name, p.default)
        for name, p in inspect.signature(sivae).parameters.items()
        if p.default is not inspect.Parameter.empty
    )
    return values


def _layer_text(sizes) -> str:
    return ",".join(str(s) for s in sizes) if sizes else "linear"


def build_parser() -> argparse.ArgumentParser:
    """The ``sivae`` argument parser (one subcommand: ``fit``)."""
    from ._likelihoods import LIKELIHOODS

    default = defaults()

    parser = argparse.ArgumentParser(
        prog="sivae", description=_DESCRIPTION, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"sivae {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    fit = commands.add_parser(
        "fit",
        help="fit a SiVAE on an .h5ad file and write the annotated file",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("input", metavar="INPUT.h5ad", help="AnnData file to read (cells x genes)")
    fit.add_argument(
        "-o", "--output", required=True, metavar="OUTPUT.h5ad", help="where to write the annotated AnnData (required)"
    )
    fit.add_argument(
        "--layer",
        default=default["layer"],
        help="fit on adata.layers[LAYER] instead of adata.X (e.g. 'counts' for raw counts with --likelihood nb)",
    )
    fit.add_argument(
        "--likelihood",
        choices=tuple(LIKELIHOODS),
        default=default["likelihood"],
        help="observation model: gaussian for log-normalised/scaled data, nb or poisson for raw integer counts, "
        "bernoulli for data in [0, 1] (default: %(default)s)",
    )
    fit.add_argument(
        "--n-components",
        type=_positive_int,
        default=default["n_components"],
        help="latent dimensions K (default: %(default)s)",
    )
    fit.add_argument(
        "--hidden-layer-sizes",
        type=_layer_sizes,
        default=default["hidden_layer_sizes"],
        metavar="H1,H2,...",
        help="encoder layer widths, comma-separated; 'linear' for a linear decoder "
        f"(default: {_layer_text(default['hidden_layer_sizes'])})",
    )
    fit.add_argument(
        "--max-epochs",
        type=_positive_int,
        default=default["max_epochs"],
        help="maximum training epochs (default: %(default)s)",
    )
    fit.add_argument(
        "--batch-size",
        type=_positive_int,
        default=default["batch_size"],
        help="cells per minibatch (default: %(default)s)",
    )
    fit.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=default["learning_rate"],
        help="Adam step size (default: %(default)s)",
    )
    fit.add_argument(
        "--random-state",
        type=_non_negative_int,
        default=default["random_state"],
        help="integer seed; the same seed gives the same model (default: unseeded)",
    )
    fit.add_argument(
        "--use-highly-variable",
        type=_tristate,
        default=default["use_highly_variable"],
        metavar="{auto,yes,no}",
        help="fit only on genes with var['highly_variable']: auto uses the column when present (default: auto)",
    )
    fit.add_argument(
        "--key-added",
        default=default["key_added"],
        help="name of the results: obsm['X_KEY'], varm['KEY_loadings'], var['KEY_feature_awareness'], "
        "uns['KEY'] (default: %(default)s)",
    )
    fit.add_argument(
        "--batch-key",
        default=default["batch_key"],
        metavar="COLUMN",
        help="obs column holding each cell's batch: fit a conditional model corrected for it (default: none)",
    )
    fit.add_argument(
        "--overwrite", action="store_true", help="replace results already stored under --key-added instead of failing"
    )
    fit.add_argument("--save-model", metavar="PATH", default=None, help="also save the fitted model to PATH (.sivae)")
    fit.add_argument(
        "--backed",
        action="store_true",
        help="train from disk: open INPUT with backed='r' and read X in chunks, never all of it in memory",
    )
    fit.add_argument("-v", "--verbose", action="store_true", help="print training progress to stderr")
    return parser


def _fail(message: str, status: int = 1) -> int:
    print(f"sivae: error: {message}", file=sys.stderr)
    return status


def _run_fit(args) -> int:
    import anndata

    from .tl import result_keys, sivae

    source = Path(args.input)
    if not source.is_file():
        return _fail(f"input file {str(source)!r} does not exist")
    output = Path(args.output)
    if not output.parent.exists():
        return _fail(f"the folder of the output file {str(output)!r} does not exist")
    if args.save_model is not None and not Path(args.save_model).parent.exists():
        return _fail(f"the folder of --save-model {args.save_model!r} does not exist")
    if args.backed and output.resolve() == source.resolve():
        return _fail("--backed reads the input while the output is written: choose another output file")
    try:
        adata = anndata.read_h5ad(source, backed="r" if args.backed else None)
    except Exception as exc:  # h5py/anndata raise many types for unreadable files
        return _fail(f"cannot read {str(source)!r} as an .h5ad file: {exc}")

    params = {
        "likelihood": args.likelihood,
        "hidden_layer_sizes": args.hidden_layer_sizes,
        "max_epochs": args.max_epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "random_state": args.random_state,
        "verbose": int(args.verbose),
    }
    try:
        model = sivae(
            adata,
            args.n_components,
            layer=args.layer,
            use_highly_variable=args.use_highly_variable,
            key_added=args.key_added,
            batch_key=args.batch_key,
            overwrite=args.overwrite,
            **params,
        )
    except (ValueError, TypeError, FloatingPointError) as exc:
        return _fail(str(exc))
    try:
        adata.write_h5ad(output)
    except OSError as exc:
        return _fail(f"cannot write {str(output)!r}: {exc}")
    keys = result_keys(args.key_added)
    print(
        f"wrote obsm[{keys['obsm']!r}] ({adata.n_obs} x {model.n_components_}), varm[{keys['varm']!r}], "
        f"var[{keys['var']!r}], uns[{keys['uns']!r}] to {output} ({model.n_iter_} epochs)"
    )
    if args.save_model is not None:
        try:
            model.save(args.save_model)
        except OSError as exc:
            return _fail(f"cannot save the model to {args.save_model!r}: {exc}")
        print(f"saved the model to {args.save_model}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``sivae`` command; returns the exit status instead of exiting.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 for invalid input data, 2 for an invalid command line.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage and the message
        return int(exc.code or 0)
    if args.command == "fit":
        return _run_fit(args)
    return _fail(f"unknown command {args.command!r}", 2)  # pragma: no cover - argparse rejects it first


if __name__ == "__main__":
    sys.exit(main())
