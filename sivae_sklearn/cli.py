"""The ``sivae`` command line: ``fit``, ``transform`` and ``explore`` on files.

``sivae fit in.h5ad -o out.h5ad --layer counts --likelihood nb`` fits a
:class:`~sivae_sklearn.SiVAE` through :func:`sivae_sklearn.tl.sivae` and writes
the annotated AnnData; ``sivae transform model.sivae new.h5ad -o new_out.h5ad``
applies a saved model through :func:`sivae_sklearn.tl.sivae_transform`;
``sivae explore model.sivae data.h5ad`` serves the explorer.

``sivae --help`` and ``sivae --version`` import neither TensorFlow nor
scikit-learn nor pandas: the model options, their types, defaults and help
come from the table of parameters (:data:`~sivae_sklearn._estimator.parameters.PARAMETERS`),
the data options from :data:`TOOL_OPTIONS` (``tl.sivae``'s keywords; the test
suite checks both against the signatures of ``SiVAE`` and ``tl.sivae``).

Exit status (:data:`EXIT_CODES`): 0 success; 1 the input could not be used or
the run failed (a missing or unreadable file, bad data, a diverging fit, a
missing optional package); 2 the command line itself is wrong (an unknown
option, a bad option value); 3 an unexpected internal error (a bug: run again
with ``--debug`` and report the traceback); 130 interrupted with Ctrl+C.
Every error is ONE line on stderr, ``sivae: error: ...``; ``--debug`` adds the
traceback. Warnings are one line each, ``sivae: warning: ...``.

>>> main(["--version"])  # doctest: +ELLIPSIS
sivae ...
0
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
import warnings
from pathlib import Path

from ._estimator.parameters import PARAMETERS, Parameter
from ._estimator.parameters import defaults as parameter_defaults
from ._version import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_ERROR: "the input could not be used or the run failed (file, data, model file, training, missing package)",
    EXIT_USAGE: "the command line is wrong (unknown option, bad option value)",
    EXIT_INTERNAL: "unexpected internal error: run again with --debug and report the traceback",
    EXIT_INTERRUPTED: "interrupted (Ctrl+C)",
}


def fit_options() -> list[Parameter]:
    """The rows of the table of parameters that ``sivae fit`` offers as options, in signature order."""
    return [p for p in PARAMETERS.values() if p.option]


# ------------------------------------------------------------ options
TOOL_OPTIONS: dict[str, tuple[object, str]] = {
    "n_components": (10, "Latent dimensions K"),
    "layer": (None, "Fit on adata.layers[layer] instead of adata.X (e.g. raw counts for likelihood=nb)"),
    "use_highly_variable": (None, "use only genes with var['highly_variable']; auto: when that column exists"),
    "key_added": ("sivae", "Names of the results: obsm['X_<key>'], varm['<key>_loadings'], ..."),
    "batch_key": (None, "obs column holding each cell's batch: fit a conditional model corrected for it"),
}
"""``tl.sivae``'s keywords that ``sivae fit`` offers: name -> (default, help). ``n_components``
defaults to 10 there, as scanpy's PCA, not to ``SiVAE``'s 2."""


def defaults() -> dict:
    """Default value of every parameter of ``SiVAE`` and of the ``tl.sivae`` keywords the command line offers.

    ``tl.sivae``'s defaults win where both have one (``n_components``: 10, as
    scanpy's PCA). Nothing is imported: the test suite checks them against
    ``SiVAE().get_params()`` and ``inspect.signature(tl.sivae)``.

    >>> defaults()["n_components"], defaults()["batch_size"]
    (10, 128)
    """
    return {**parameter_defaults(), **{name: default for name, (default, _) in TOOL_OPTIONS.items()}}


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

    parse.__name__ = what  # argparse names the type in its messages
    return parse


_positive_int = _number(int, 0, True, "a positive integer")
_non_negative_int = _number(int, 0, False, "a non-negative integer")


def _tristate(text: str) -> bool | None:
    if text.strip().lower() == "auto":
        return None
    value = text.strip().lower()
    if value in ("yes", "true", "1"):
        return True
    if value in ("no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected auto, yes or no, got {text!r}")


def _shown(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) if value else "linear"
    return "none" if value is None else str(value)


def _option_type(parameter: Parameter):
    """``parameter.parse`` as an argparse type: a bad value is a usage error that says what is expected."""

    def parse(text: str):
        try:
            return parameter.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = parameter.expected()
    return parse


def _add_parameter(group, parameter: Parameter, default=None, help_text: str | None = None) -> None:
    """``--name`` for a row of the table of parameters: its type, default and help come from the row."""
    default = parameter.default if default is None else default
    text = (help_text or parameter.doc).rstrip(".").replace("%", "%%")
    options: dict = {"default": default, "help": f"{text} (default: {_shown(default)})"}
    if parameter.choices:
        options["choices"] = parameter.choices
    else:
        options.update(type=_option_type(parameter), metavar=parameter.metavar)
    group.add_argument(f"--{parameter.name.replace('_', '-')}", **options)


def _add_tool_option(group, name: str, text: str | None = None) -> None:
    default, table_text = TOOL_OPTIONS[name]
    text = table_text if text is None else text
    group.add_argument(f"--{name.replace('_', '-')}", default=default, help=f"{text} (default: {_shown(default)})")


# --------------------------------------------------------------------- parser
_DESCRIPTION = """\
siVAE (scalable, interpretable variational autoencoder) on AnnData files.
Results are written as scanpy's PCA writes its own:
  obsm['X_<key>']                   embedding (cells x K)
  varm['<key>_loadings']            gene loadings (genes x K; zero rows for masked genes)
  var['<key>_feature_awareness']    per-gene feature awareness (NaN for masked genes)
  uns['<key>']                      parameters and training history
"""

_EXAMPLES = """\
examples:
  sivae fit pbmc.h5ad -o pbmc_sivae.h5ad --layer counts --likelihood nb --n-components 10 --save-model pbmc.sivae
  sivae fit scaled.h5ad -o out.h5ad --likelihood gaussian --max-epochs 200
  sivae transform pbmc.sivae new_cells.h5ad -o new_cells_sivae.h5ad --layer counts
  sivae explore pbmc.sivae pbmc.h5ad --labels-column cell_type
"""


def _exit_status_text() -> str:
    return "exit status:\n" + "\n".join(f"  {code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())


def _common(debug_default) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=debug_default, help="show the traceback of an error (for bug reports)"
    )
    return common


def _data_options(command, layer_help: str | None = None) -> None:
    """``--layer``, ``--use-highly-variable``, ``--key-added``, ``--overwrite``: shared by fit and transform."""
    command.add_argument("-o", "--output", required=True, metavar="OUTPUT.h5ad", help="where to write the result")
    _add_tool_option(command, "layer", layer_help)
    default, text = TOOL_OPTIONS["use_highly_variable"]
    command.add_argument(
        "--use-highly-variable",
        type=_tristate,
        default=default,
        metavar="{auto,yes,no}",
        help=f"{text} (default: auto)",
    )
    _add_tool_option(command, "key_added")
    command.add_argument("--overwrite", action="store_true", help="replace results already stored under --key-added")


def _command(commands, name: str, run, common, help_text: str, description: str = _DESCRIPTION):
    """A subcommand that runs ``run(args)``, with ``--debug`` and the exit status in its help."""
    command = commands.add_parser(
        name,
        help=help_text,
        description=description,
        epilog=_exit_status_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    command.set_defaults(run=run)
    return command


def build_parser() -> argparse.ArgumentParser:
    """The ``sivae`` argument parser, built without importing TensorFlow, scikit-learn or pandas."""
    parser = argparse.ArgumentParser(
        prog="sivae",
        description=_DESCRIPTION,
        epilog=_EXAMPLES + "\n" + _exit_status_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(False)],
    )
    parser.add_argument("--version", action="version", version=f"sivae {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    common = _common(argparse.SUPPRESS)  # --debug also after the command, without resetting it

    fit = _command(commands, "fit", _run_fit, common, "fit a SiVAE on an .h5ad file and write the annotated file")
    fit.add_argument("input", metavar="INPUT.h5ad", help="AnnData file to read (cells x genes)")
    _data_options(fit)
    _add_tool_option(fit, "batch_key")
    fit.add_argument("--save-model", metavar="PATH", default=None, help="also save the fitted model to PATH (.sivae)")
    fit.add_argument(
        "--backed",
        action="store_true",
        help="train from disk: open INPUT with backed='r' and read X in chunks, never all of it in memory",
    )
    fit.add_argument(
        "-v", "--verbose", action="count", default=0, help="show training progress on stderr (-vv: a line per epoch)"
    )
    model = fit.add_argument_group("model and training (SiVAE parameters)")
    for parameter in fit_options():
        if parameter.name == "n_components":
            _add_parameter(model, parameter, *TOOL_OPTIONS["n_components"])
        else:
            _add_parameter(model, parameter)

    transform = _command(
        commands,
        "transform",
        _run_transform,
        common,
        "apply a saved model to an .h5ad file and write the annotated file (no training)",
        "Embed the cells of INPUT.h5ad with a saved model and write obsm, varm, var and uns as 'sivae fit' does.\n"
        "A model saved by 'sivae fit' knows its genes by name: they are taken from INPUT.h5ad by name, in any\n"
        "order (its own highly-variable selection; --use-highly-variable then does nothing), and missing genes\n"
        "are refused by name unless --missing-genes zero. A model without names takes the genes by position.",
    )
    transform.add_argument("model", metavar="MODEL.sivae", help="a model saved by 'sivae fit --save-model' or save()")
    transform.add_argument("input", metavar="INPUT.h5ad", help="AnnData file to read (cells x genes)")
    _data_options(transform, "Embed adata.layers[layer] instead of adata.X (the layer the model was fitted on)")
    transform.add_argument(
        "--missing-genes",
        choices=("error", "zero"),
        default="error",
        help="genes of the model absent from INPUT.h5ad: refuse them by name (error), or count them as 0 in "
        "every cell, with a warning (zero) (default: error)",
    )

    explore = _command(
        commands,
        "explore",
        _run_explore,
        common,
        "serve the interactive explorer for saved models and data (needs the 'explorer' extra)",
        "Explore saved models in the browser, on loopback only unless --host says otherwise.",
    )
    explore.add_argument("model", metavar="MODEL", help="a saved model (.sivae) or a folder of them")
    explore.add_argument("data", metavar="DATA", help="data with the model's features: .npy, .npz, .csv or .h5ad")
    labels = explore.add_mutually_exclusive_group()
    labels.add_argument("--labels-column", help="label column (csv), obs column (h5ad) or array name (npz)")
    labels.add_argument("--labels-file", help="labels, one per row: text (one per line), .csv or .npy")
    explore.add_argument(
        "--image-shape",
        nargs="+",
        type=_positive_int,
        metavar="N",
        help="show samples as images: HEIGHT WIDTH, or HEIGHT WIDTH CHANNELS for colour",
    )
    explore.add_argument("--port", type=_non_negative_int, default=8050, help="TCP port (default: 8050)")
    explore.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1, loopback only)")
    return parser


# ------------------------------------------------------------------- commands
class CommandError(Exception):
    """A problem the command found itself, reported as one line with ``status``."""

    def __init__(self, message: str, status: int = EXIT_ERROR):
        super().__init__(message)
        self.status = status


def _quiet_tensorflow() -> None:
    # This process is the application: keep TensorFlow's C++ start-up chatter off the console.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _input_file(path: str, what: str = "input file") -> Path:
    source = Path(path)
    if not source.is_file():
        raise CommandError(f"{what} {str(source)!r} does not exist")
    return source


def _output_folder(path: str, what: str) -> None:
    if not Path(path).resolve().parent.exists():
        raise CommandError(f"the folder of {what} {path!r} does not exist")


def _read_h5ad(source: Path, backed: bool = False):
    import anndata

    try:
        return anndata.read_h5ad(source, backed="r" if backed else None)
    except Exception as exc:  # h5py/anndata raise many types for unreadable files
        raise CommandError(f"cannot read {str(source)!r} as an .h5ad file: {exc}") from exc


def _write_h5ad(adata, output: str) -> None:
    """Write ``adata`` to ``output`` atomically: an interrupted write leaves any file there (the input too) intact."""
    from ._io import atomic_path

    try:
        with atomic_path(output, suffix=".h5ad") as tmp:
            adata.write_h5ad(tmp)
    except OSError as exc:
        raise CommandError(f"cannot write {output!r}: {exc}") from exc


def _report(adata, model, key_added: str, output: str, what: str) -> None:
    from .tl import result_keys

    keys = result_keys(key_added)
    print(
        f"wrote obsm[{keys['obsm']!r}] ({adata.n_obs} x {model.n_components_}), varm[{keys['varm']!r}], "
        f"var[{keys['var']!r}], uns[{keys['uns']!r}] to {output} ({what})"
    )


def _data_keywords(args) -> dict:
    """The options of ``_data_options`` as keyword arguments of ``tl.sivae`` and ``tl.sivae_transform``."""
    names = ("layer", "use_highly_variable", "key_added", "overwrite")
    return {name: getattr(args, name) for name in names}


def _run_fit(args) -> int:
    source = _input_file(args.input)
    _output_folder(args.output, "the output file")
    if args.save_model is not None:
        _output_folder(args.save_model, "--save-model")
    if args.backed and Path(args.output).resolve() == source.resolve():
        raise CommandError("--backed reads the input while the output is written: choose another output file")
    _quiet_tensorflow()
    from .tl import sivae

    adata = _read_h5ad(source, backed=args.backed)
    params = {p.name: getattr(args, p.name) for p in fit_options() if p.name != "n_components"}
    model = sivae(
        adata, args.n_components, batch_key=args.batch_key, verbose=args.verbose, **_data_keywords(args), **params
    )
    _write_h5ad(adata, args.output)
    _report(adata, model, args.key_added, args.output, f"{model.n_iter_} epochs")
    if args.save_model is not None:
        try:
            model.save(args.save_model)
        except OSError as exc:
            raise CommandError(f"cannot save the model to {args.save_model!r}: {exc}") from exc
        print(f"saved the model to {args.save_model}")
    return EXIT_OK


def _run_transform(args) -> int:
    model_path = _input_file(args.model, "model file")
    source = _input_file(args.input)
    _output_folder(args.output, "the output file")
    _quiet_tensorflow()
    from ._estimator.sivae import load
    from .tl import sivae_transform

    model = load(model_path)
    adata = _read_h5ad(source)
    sivae_transform(adata, model, missing_genes=args.missing_genes, **_data_keywords(args))
    _write_h5ad(adata, args.output)
    _report(adata, model, args.key_added, args.output, f"model {model_path}")
    return EXIT_OK


def _run_explore(args) -> int:
    if not Path(args.model).exists():
        raise CommandError(f"model {args.model!r} does not exist")
    _input_file(args.data, "data file")
    if args.image_shape is not None and len(args.image_shape) not in (2, 3):
        raise CommandError("--image-shape takes HEIGHT WIDTH or HEIGHT WIDTH CHANNELS", EXIT_USAGE)
    _quiet_tensorflow()
    from .explorer import create_app, load_data, serve
    from .explorer._server import serve_until_interrupted

    X, labels, feature_names = load_data(args.data, args.labels_column, args.labels_file)
    app = create_app(args.model, X, labels, args.image_shape, feature_names=feature_names)
    serve_until_interrupted(serve(app, args.host, args.port))
    return EXIT_OK


# ---------------------------------------------------------------- error lines
def _status(exc: BaseException) -> int:
    if isinstance(exc, CommandError):
        return exc.status
    if any(cls.__name__ == "InvalidParameterError" for cls in type(exc).__mro__):
        return EXIT_USAGE  # scikit-learn's check of a parameter value given on the command line
    if isinstance(exc, (ValueError, TypeError, OSError, ArithmeticError, MemoryError, ImportError, RuntimeError)):
        return EXIT_ERROR
    return EXIT_INTERNAL


def _one_line(exc: BaseException, status: int) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ImportError) and exc.name and exc.name in ("dash", "plotly", "anndata", "scanpy"):
        text = f"{text} (pip install 'sivae_sklearn[explorer]' for 'sivae explore')"
    if status == EXIT_INTERNAL:
        text = f"internal error, {type(exc).__name__}: {text} (run again with --debug and report the traceback)"
    return text


def _fail(message: str, status: int = EXIT_ERROR) -> int:
    print(f"sivae: error: {message}", file=sys.stderr)
    return status


@contextlib.contextmanager
def _console(verbose: int):
    """Warnings as one line each and the package's log messages on stderr, while a command runs."""

    def one_line_warning(message, category, filename, lineno, file=None, line=None):
        print(f"sivae: warning: {' '.join(str(message).split())}", file=sys.stderr)

    log = logging.getLogger("sivae_sklearn")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("sivae: %(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Run the ``sivae`` command; returns the exit status instead of exiting.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        See :data:`EXIT_CODES`: 0 success, 1 unusable input or a failed run,
        2 a wrong command line, 3 an internal error, 130 interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage and the message
        return int(exc.code or 0)
    try:
        with _console(getattr(args, "verbose", 0)):
            return args.run(args)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        status = _status(exc)
        if args.debug:
            traceback.print_exc()
        return _fail(_one_line(exc, status), status)


if __name__ == "__main__":
    sys.exit(main())
