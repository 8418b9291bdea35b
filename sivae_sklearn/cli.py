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
Every error is ONE line on stderr, ``sivae: error: ...``; a wrong command
line is ``sivae fit: error: ...; run 'sivae fit --help' for usage`` (the usage
itself only with ``--help``); ``--debug`` adds the traceback. Warnings are one
line each, ``sivae: warning: ...``. Messages of the library that name its
keywords (``key_added='<new name>'``, ``overwrite=True``) are printed with the
command's options instead (``--key-added NAME``, ``--overwrite``):
:func:`cli_advice`.

What can be checked without TensorFlow is checked before it is imported and
before anything is read in full: the input files (regular files, readable),
the output paths (a file name in a writable folder), ``--save-model``, the
port and host of ``explore``, and what the metadata of an ``.h5ad`` input
tells (its layers, ``obs`` and ``var`` columns, existing result keys, the
highly-variable mask, the number of genes).

>>> main(["--version"])  # doctest: +ELLIPSIS
sivae ...
0
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import errno
import logging
import os
import re
import shlex
import socket
import sys
import tempfile
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
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
    "embed_all_genes": (
        False,
        "give the genes left out by the highly-variable mask loadings too, embedded by the feature encoder "
        "(var['<key>_embedded'] marks them); not for the count likelihoods",
    ),
    "programs": (
        None,
        "a GMT file of gene programs (name, description, genes: one program a line); each owns one latent "
        "dimension, named after it in uns['<key>']['dimension_names']",
    ),
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

MAX_PORT = 65535


def _port(text: str) -> int:
    """An argparse type: a TCP port, 0 (a free one) to :data:`MAX_PORT`."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"expected a TCP port, an integer in [0, {MAX_PORT}], got {text!r}")
    return value


_port.__name__ = "port"


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


def _add_tool_option(group, name: str, text: str | None = None, metavar: str | None = None) -> None:
    """``--name`` for a keyword of ``tl.sivae``: a flag when its default is False, else a value."""
    default, table_text = TOOL_OPTIONS[name]
    text = (table_text if text is None else text).replace("%", "%%")
    option = f"--{name.replace('_', '-')}"
    if default is False:
        group.add_argument(option, action="store_true", help=text)
    else:
        group.add_argument(option, default=default, metavar=metavar, help=f"{text} (default: {_shown(default)})")


def _usage_line(prog: str, message: str) -> str:
    """The one line of a wrong command line: what is wrong, and where the usage is."""
    return f"{prog}: error: {' '.join(message.split())}; run '{prog} --help' for usage"


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with a one-line error and a record of its options.

    A wrong command line prints :func:`_usage_line` (never the usage block,
    which ``--help`` shows) and exits with :data:`EXIT_USAGE`. ``options``
    maps each option's destination (the Python keyword it stands for) to its
    action, for :func:`cli_advice`; options added through argument groups are
    recorded too.
    """

    def __init__(self, *args, **kwargs):
        self.options: dict[str, argparse.Action] = {}  # before argparse adds --help
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(EXIT_USAGE, _usage_line(self.prog, message) + "\n")

    def add_argument(self, *args, **kwargs):
        return self._recorded(super().add_argument(*args, **kwargs))

    def add_argument_group(self, *args, **kwargs):
        return self._recording(super().add_argument_group(*args, **kwargs))

    def add_mutually_exclusive_group(self, **kwargs):
        return self._recording(super().add_mutually_exclusive_group(**kwargs))

    def _recorded(self, action: argparse.Action) -> argparse.Action:
        if action.option_strings:
            self.options[action.dest] = action
        return action

    def _recording(self, group):
        add = group.add_argument

        def add_argument(*args, **kwargs):
            return self._recorded(add(*args, **kwargs))

        group.add_argument = add_argument
        return group


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
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=debug_default, help="show the traceback of an error (for bug reports)"
    )
    return common


def _data_options(command, layer_help: str | None = None) -> None:
    """``--layer``, ``--use-highly-variable``, ``--key-added``, ``--overwrite``: shared by fit and transform."""
    command.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTPUT.h5ad",
        help="where to write the result (atomically: an interrupted run leaves any file there as it was)",
    )
    _add_tool_option(command, "layer", layer_help, metavar="NAME")
    default, text = TOOL_OPTIONS["use_highly_variable"]
    command.add_argument(
        "--use-highly-variable",
        type=_tristate,
        default=default,
        metavar="{auto,yes,no}",
        help=f"{text} (default: auto)",
    )
    _add_tool_option(command, "key_added", metavar="NAME")
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
    command.set_defaults(run=run, command_prog=command.prog, options=command.options)
    return command


def build_parser() -> argparse.ArgumentParser:
    """The ``sivae`` argument parser, built without importing TensorFlow, scikit-learn or pandas."""
    parser = _Parser(
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
    _add_tool_option(fit, "batch_key", metavar="COLUMN")
    _add_tool_option(fit, "embed_all_genes")
    _add_tool_option(fit, "programs", metavar="FILE.gmt")
    fit.add_argument(
        "--save-model", metavar="PATH", default=None, help="also save the fitted model to the file PATH (.sivae)"
    )
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
    explore.add_argument(
        "--port", type=_port, default=8050, help=f"TCP port, 0 to {MAX_PORT}; 0 picks a free one (default: 8050)"
    )
    explore.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1, loopback only)")
    return parser


# ---------------------------------------------------------------- the errors
class CommandError(Exception):
    """A problem the command found itself, reported as one line with ``status``."""

    def __init__(self, message: str, status: int = EXIT_ERROR):
        super().__init__(message)
        self.status = status


# ------------------------------------------- checks before TensorFlow loads
def _input_file(path: str, what: str = "input file") -> Path:
    """``path`` as a Path, when it is a regular file this process may read; a :class:`CommandError` otherwise."""
    source = Path(path)
    if source.is_dir():
        raise CommandError(f"{what} {path!r} is a directory, not a file")
    if not source.exists():
        raise CommandError(f"{what} {path!r} does not exist")
    if not source.is_file():
        raise CommandError(f"{what} {path!r} is not a regular file (a pipe, a socket or a device)")
    if not os.access(source, os.R_OK):
        raise CommandError(f"{what} {path!r} cannot be read (permission denied)")
    return source


def _output_file(path: str, what: str, example: str = "out.h5ad") -> None:
    """Refuse ``path`` unless a file can be written there: not a folder, in a folder that exists and is writable.

    Writability is tried, not read off the permission bits: an empty file is
    created in the folder and removed at once (as the atomic write itself
    creates its temporary file there).
    """
    if Path(path).is_dir():
        raise CommandError(f"{what} {path!r} is a directory; give a file name (such as {os.path.join(path, example)})")
    folder = Path(os.path.abspath(path)).parent
    if not folder.exists():
        raise CommandError(f"the folder of {what} {path!r} does not exist: {str(folder)!r}")
    if not folder.is_dir():
        raise CommandError(f"the folder of {what} {path!r} is not a folder: {str(folder)!r} is a file")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".sivae-write-check-")
    except OSError as exc:
        why = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        raise CommandError(f"cannot write {what} {path!r}: its folder {str(folder)!r} is not writable ({why})") from exc
    try:
        os.close(fd)
    finally:
        os.unlink(probe)


def _same_file(a, b) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _result_keys(key_added: str) -> dict[str, str]:
    """Where ``tl.sivae`` stores its results (``tl.result_keys``, which needs TensorFlow to import; a test keeps
    the two equal)."""
    return {
        "obsm": f"X_{key_added}",
        "varm": f"{key_added}_loadings",
        "var": f"{key_added}_feature_awareness",
        "embedded": f"{key_added}_embedded",
        "uns": key_added,
    }


@dataclass(frozen=True)
class _H5adMetadata:
    """What an ``.h5ad`` file holds, read from its HDF5 groups and attributes without reading any matrix.

    ``n_highly_variable`` is the number of genes kept by ``var['highly_variable']``
    when that column is a plain boolean array, else None (``tl.sivae`` checks
    other kinds when it reads the file).
    """

    name: str
    has_X: bool
    layers: tuple[str, ...]
    obs: tuple[str, ...]
    var: tuple[str, ...]
    obsm: tuple[str, ...]
    varm: tuple[str, ...]
    uns: tuple[str, ...]
    var_names: tuple[str, ...]
    n_highly_variable: int | None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _read_h5ad_metadata(source: Path) -> _H5adMetadata | None:
    """The :class:`_H5adMetadata` of ``source``; None when its layout is not anndata's (then ``anndata`` decides).

    A file that HDF5 cannot open at all is a :class:`CommandError`. Imports
    ``h5py`` only (not anndata, not TensorFlow).
    """
    import h5py
    import numpy as np

    try:
        handle = h5py.File(source, "r")
    except OSError as exc:
        raise CommandError(f"cannot read {str(source)!r} as an .h5ad file: {exc}") from exc
    with handle:
        try:

            def keys(name: str) -> tuple[str, ...]:
                group = handle.get(name)
                return tuple(group.keys()) if isinstance(group, h5py.Group) else ()

            def columns(name: str) -> tuple[str, ...]:
                return tuple(_text(c) for c in np.atleast_1d(handle[name].attrs.get("column-order", [])))

            var = handle["var"]
            var_names = tuple(_text(v) for v in var[_text(var.attrs["_index"])][()])
            hv = var.get("highly_variable")
            n_hv = int(np.count_nonzero(hv[()])) if isinstance(hv, h5py.Dataset) and hv.dtype == bool else None
            return _H5adMetadata(
                name=str(source),
                has_X="X" in handle,
                layers=keys("layers"),
                obs=columns("obs"),
                var=columns("var"),
                obsm=keys("obsm"),
                varm=keys("varm"),
                uns=keys("uns"),
                var_names=var_names,
                n_highly_variable=n_hv,
            )
        except (KeyError, TypeError, ValueError, AttributeError, OSError):
            return None  # an older or foreign layout: anndata reads it, and tl checks it


def _shown_list(values, limit: int = 20) -> str:
    values = list(values)
    return repr(values[:limit])[:-1] + ", ...]" if len(values) > limit else repr(values)


def _check_data_options(meta: _H5adMetadata | None, args) -> None:
    """Refuse the data options of ``args`` that ``meta`` shows to be wrong, as the library would after reading it.

    ``--layer``, an empty X, ``--use-highly-variable``, duplicate gene names,
    result keys that exist without ``--overwrite``, and for ``fit``
    ``--batch-key``, ``--feature-input varm:KEY`` and ``--n-components``
    against the number of genes.
    """
    key_added = args.key_added
    if not key_added:
        raise CommandError("--key-added must not be empty", EXIT_USAGE)
    if meta is None:
        return
    name = meta.name
    if args.layer is not None and args.layer not in meta.layers:
        raise CommandError(
            f"--layer {shlex.quote(args.layer)}: {name!r} has no layer of that name; its layers: "
            f"{_shown_list(meta.layers) if meta.layers else 'none'}"
        )
    if args.layer is None and not meta.has_X:
        raise CommandError(f"{name!r} has no X; choose one of its layers {_shown_list(meta.layers)} with --layer NAME")
    has_hv = "highly_variable" in meta.var
    if args.use_highly_variable and not has_hv:
        raise CommandError(
            f"--use-highly-variable yes, but {name!r} has no var column 'highly_variable' (compute it with "
            "scanpy's sc.pp.highly_variable_genes), or pass --use-highly-variable no"
        )
    masked = has_hv and args.use_highly_variable is not False
    if masked and meta.n_highly_variable == 0:
        raise CommandError(
            f"var['highly_variable'] of {name!r} keeps no gene; recompute it, or pass --use-highly-variable no"
        )
    if len(set(meta.var_names)) != len(meta.var_names):
        seen, duplicates = set(), []
        for gene in meta.var_names:
            if gene in seen and gene not in duplicates:
                duplicates.append(gene)
            seen.add(gene)
        raise CommandError(
            f"the gene names (var_names) of {name!r} are not unique (e.g. {duplicates[:5]}); loadings are stored "
            "per gene name: make them unique first (anndata's adata.var_names_make_unique())"
        )
    if not args.overwrite:
        keys = _result_keys(key_added)
        existing = [f"obsm[{keys['obsm']!r}]"] if keys["obsm"] in meta.obsm else []
        existing += [f"varm[{keys['varm']!r}]"] if keys["varm"] in meta.varm else []
        existing += [f"var[{keys[k]!r}]" for k in ("var", "embedded") if keys[k] in meta.var]
        existing += [f"uns[{keys['uns']!r}]"] if keys["uns"] in meta.uns else []
        if existing:
            raise CommandError(
                f"{', '.join(existing)} already exist(s) in {name!r}; choose another name with --key-added NAME "
                "to keep both, or pass --overwrite to replace them"
            )
    batch_key = getattr(args, "batch_key", None)
    if batch_key is not None and batch_key not in meta.obs:
        raise CommandError(
            f"--batch-key {shlex.quote(batch_key)}: {name!r} has no obs column of that name; its obs columns: "
            f"{_shown_list(meta.obs) if meta.obs else 'none'}"
        )
    feature_input = getattr(args, "feature_input", None)
    given = "+".join(feature_input) if isinstance(feature_input, list) else feature_input
    for key in feature_input if isinstance(feature_input, list) else [feature_input]:
        if isinstance(key, str) and key.startswith("varm:") and key[5:] not in meta.varm:
            raise CommandError(
                f"--feature-input {shlex.quote(given)}: {name!r} has no varm entry {key[5:]!r}; its "
                f"varm keys: {_shown_list(meta.varm) if meta.varm else 'none'}"
            )
    n_components = getattr(args, "n_components", None)
    n_genes = meta.n_highly_variable if masked else len(meta.var_names)
    if n_components is not None and n_genes is not None and n_components > n_genes:
        kept = " after the highly-variable mask" if masked else ""
        raise CommandError(
            f"--n-components {n_components} is more than the {n_genes} genes of {name!r}{kept}: the latent space "
            f"cannot have more dimensions than the data; choose --n-components {n_genes} or fewer"
        )


def _check_port(host: str, port: int) -> None:
    """Refuse ``host:port`` when it cannot be bound now: a wrong host is a usage error, a busy port an error."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except socket.gaierror as exc:
        raise CommandError(f"--host {host!r} is not a known host name or address ({exc.strerror})", EXIT_USAGE) from exc
    except OSError as exc:
        if exc.errno == errno.EADDRNOTAVAIL:
            raise CommandError(f"--host {host!r} is not an address of this machine", EXIT_USAGE) from exc
        raise CommandError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc} (the port is in use or not allowed); choose "
            "another with --port"
        ) from exc


# ------------------------------------------------------------------- commands
def _quiet_tensorflow() -> None:
    # This process is the application: keep TensorFlow's C++ start-up chatter off the console.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _read_h5ad(source: Path, backed: bool = False):
    import anndata

    try:
        return anndata.read_h5ad(source, backed="r" if backed else None)
    except Exception as exc:  # h5py/anndata raise many types for unreadable files
        raise CommandError(f"cannot read {str(source)!r} as an .h5ad file: {exc}") from exc


def _write_h5ad(adata, output: str) -> None:
    """Write ``adata`` to ``output`` atomically: an interrupted write leaves any file there (the input too) intact."""
    from ._io import atomic_path

    log = logging.getLogger("sivae_sklearn")
    log.info("writing %s", output)
    try:
        with atomic_path(output, suffix=".h5ad") as tmp:
            adata.write_h5ad(tmp)
    except OSError as exc:
        raise CommandError(f"cannot write {output!r}: {exc}") from exc


def _report(adata, model, key_added: str, output: str, what: str) -> None:
    keys = _result_keys(key_added)
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
    _output_file(args.output, "the output file")
    if args.save_model is not None:
        _output_file(args.save_model, "--save-model", "model.sivae")
        for other, what in ((args.output, "-o/--output"), (source, "the input file")):
            if _same_file(args.save_model, other):
                raise CommandError(f"--save-model names the same file as {what}: choose another path", EXIT_USAGE)
    if args.backed and _same_file(args.output, source):
        raise CommandError("--backed reads the input while the output is written: choose another output file")
    _check_data_options(_read_h5ad_metadata(source), args)
    programs = None
    if args.programs is not None:
        from ._io import read_gmt  # no TensorFlow: a bad file is refused at once

        try:
            programs = read_gmt(_input_file(args.programs, "--programs file"))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    _quiet_tensorflow()
    from .tl import sivae

    adata = _read_h5ad(source, backed=args.backed)
    params = {p.name: getattr(args, p.name) for p in fit_options() if p.name != "n_components"}
    model = sivae(
        adata,
        args.n_components,
        batch_key=args.batch_key,
        embed_all_genes=args.embed_all_genes,
        programs=programs,
        verbose=args.verbose,
        **_data_keywords(args),
        **params,
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
    _output_file(args.output, "the output file")
    if _same_file(args.output, model_path):
        raise CommandError("-o/--output names the model file: choose another output file", EXIT_USAGE)
    _check_data_options(_read_h5ad_metadata(source), args)
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
    if not Path(args.model).is_dir():
        _input_file(args.model, "model")
    data = _input_file(args.data, "data file")
    if args.labels_file is not None:
        _input_file(args.labels_file, "labels file")
    if args.image_shape is not None and len(args.image_shape) not in (2, 3):
        raise CommandError("--image-shape takes HEIGHT WIDTH or HEIGHT WIDTH CHANNELS", EXIT_USAGE)
    if data.suffix.lower() == ".h5ad":
        meta = _read_h5ad_metadata(data)
        if meta is not None and not meta.has_X:
            raise CommandError(f"data file {args.data!r} has no X to explore")
        if meta is not None and args.labels_column is not None and args.labels_column not in meta.obs:
            raise CommandError(
                f"--labels-column {shlex.quote(args.labels_column)}: {args.data!r} has no obs column of that name; "
                f"its obs columns: {_shown_list(meta.obs) if meta.obs else 'none'}"
            )
    _check_port(args.host, args.port)
    _quiet_tensorflow()
    from .explorer import create_app, load_data, serve
    from .explorer._server import serve_until_interrupted

    X, labels, feature_names = load_data(args.data, args.labels_column, args.labels_file)
    app = create_app(args.model, X, labels, args.image_shape, feature_names=feature_names)
    serve_until_interrupted(serve(app, args.host, args.port))
    return EXIT_OK


# ---------------------------------------------------------------- error lines
_VALUE = r"""'[^']*'|"[^"]*"|\([^()]*\)|<[^<>]*>|\.\.\.|…|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[A-Za-z_]\w*"""
"""A value after ``keyword=`` in a message: a quoted string, a tuple, a placeholder, a number or a name."""

_OUTSIDE_A_NAME = r"(?<![\w.'\"\[-])"
"""Not part of a longer name, an attribute, a quoted key or an option."""


def _long_option(action: argparse.Action) -> str:
    return next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])


def _as_option(action: argparse.Action, text: str) -> str:
    """``--option VALUE`` for the Python ``keyword=text`` that ``action`` stands for."""
    option = _long_option(action)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = ...  # a placeholder such as <new name>
    if action.nargs == 0:  # a flag (--overwrite, -v)
        return option if value is ... or value else f"without {option}"
    if re.fullmatch(r"[A-Za-z_]\w*", text) and text not in ("True", "False", "None"):
        shown = text  # a name standing for a value (kl_warmup_steps=S)
    elif value is ... or (isinstance(value, str) and value.startswith("<") and value.endswith(">")):
        shown = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        shown = text
    elif isinstance(value, tuple) and action.nargs in ("+", "*"):
        shown = " ".join(str(v) for v in value)
    elif isinstance(value, str):
        shown = shlex.quote(value)
    else:
        shown = _shown(value)
    return f"{option} {shown}"


def cli_advice(text: str, options: Mapping[str, argparse.Action]) -> str:
    """``text`` with the Python keywords that ``options`` stand for written as the command's options.

    The library's messages speak to Python callers (``overwrite=True``,
    ``key_added='<new name>'``, "lower learning_rate"); the command line
    prints them with the options a user types. ``options`` maps a keyword to
    its argparse action (a parser's ``options``, recorded as the options are
    defined: the table of parameters for the model options,
    :data:`TOOL_OPTIONS` and the command's own for the rest). Translated:

    * ``keyword=value``: ``--option value`` (a flag alone; True and False as
      yes and no, tuples comma-separated, a placeholder as the metavar);
    * scikit-learn's ``The 'keyword' parameter of SiVAE``: ``--option``;
    * a bare keyword with an underscore (``learning_rate``): ``--learning-rate``.
      Single words (``layer``, ``beta``) are left alone unless followed by ``=``,
      as they are also ordinary words.

    Keys (``var['highly_variable']``), attributes (``model.feature_input_size``)
    and other functions' keywords (``min_cells=1``) are left as they are.

    Parameters
    ----------
    text : str
        A message of the library.
    options : mapping of str to argparse.Action
        The command's options by keyword (``build_parser().parse_args(...).options``).

    Returns
    -------
    str
        The message as the command line prints it.

    Examples
    --------
    >>> options = build_parser().parse_args(["fit", "in.h5ad", "-o", "out.h5ad"]).options
    >>> cli_advice("pass key_added='<new name>' to keep both, or overwrite=True to replace them", options)
    'pass --key-added NAME to keep both, or --overwrite to replace them'
    >>> cli_advice("Lower learning_rate (learning_rate=0.001) or use likelihood='gaussian'.", options)
    'Lower --learning-rate (--learning-rate 0.001) or use --likelihood gaussian.'
    """
    names = sorted((n for n, a in options.items() if a.option_strings), key=len, reverse=True)
    if not names:
        return text
    alternatives = "|".join(re.escape(n) for n in names)
    text = re.sub(rf"The '({alternatives})' parameter of \w+", lambda m: f"{_long_option(options[m[1]])}", text)
    text = re.sub(rf"{_OUTSIDE_A_NAME}({alternatives})=({_VALUE})", lambda m: _as_option(options[m[1]], m[2]), text)
    compound = "|".join(re.escape(n) for n in names if "_" in n)
    if compound:
        text = re.sub(rf"{_OUTSIDE_A_NAME}({compound})\b(?![(=])", lambda m: _long_option(options[m[1]]), text)
    return text


def _status(exc: BaseException) -> int:
    if isinstance(exc, CommandError):
        return exc.status
    if any(cls.__name__ == "InvalidParameterError" for cls in type(exc).__mro__):
        return EXIT_USAGE  # scikit-learn's check of a parameter value given on the command line
    if isinstance(exc, (ValueError, TypeError, OSError, ArithmeticError, MemoryError, ImportError, RuntimeError)):
        return EXIT_ERROR
    return EXIT_INTERNAL


def _one_line(exc: BaseException, status: int, options: Mapping[str, argparse.Action]) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, CommandError):  # the command's own messages name its options already
        text = cli_advice(text, options)
    if isinstance(exc, ImportError) and exc.name and exc.name in ("dash", "plotly", "anndata", "scanpy"):
        text = f"{text} (pip install 'sivae_sklearn[explorer]' for 'sivae explore')"
    if status == EXIT_INTERNAL:
        text = f"internal error, {type(exc).__name__}: {text} (run again with --debug and report the traceback)"
    return text


def _fail(message: str, status: int = EXIT_ERROR, prog: str = "sivae") -> int:
    """Print the one line of an error; a wrong command line (:data:`EXIT_USAGE`) also says where the usage is."""
    print(_usage_line(prog, message) if status == EXIT_USAGE else f"sivae: error: {message}", file=sys.stderr)
    return status


@contextlib.contextmanager
def _console(verbose: int, options: Mapping[str, argparse.Action]):
    """Warnings as one line each (with the command's options, :func:`cli_advice`) and the package's log messages
    on stderr, while a command runs."""

    def one_line_warning(message, category, filename, lineno, file=None, line=None):
        print(f"sivae: warning: {cli_advice(' '.join(str(message).split()), options)}", file=sys.stderr)

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
        args, unknown = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's one line of a wrong command line
        return int(exc.code or 0)
    if unknown:  # reported by the command they were given to, which has the usage that lists its options
        return _fail(f"unrecognized arguments: {' '.join(unknown)}", EXIT_USAGE, args.command_prog)
    try:
        with _console(getattr(args, "verbose", 0), args.options):
            return args.run(args)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:
        status = _status(exc)
        if args.debug:
            traceback.print_exc()
        return _fail(_one_line(exc, status, args.options), status, args.command_prog)


if __name__ == "__main__":
    sys.exit(main())
