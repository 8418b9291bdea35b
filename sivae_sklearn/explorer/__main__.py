"""``python -m sivae_sklearn.explorer MODEL DATA``: serve the explorer from a shell."""

from __future__ import annotations

import argparse
import sys

from ._app import create_app
from ._data import load_data
from ._server import serve, serve_until_interrupted


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m sivae_sklearn.explorer",
        description="Explore a fitted siVAE in the browser (loopback only unless --host says otherwise).",
    )
    parser.add_argument("model", help="a saved model (.sivae) or a folder of them (a picker switches between them)")
    parser.add_argument("data", help="data file: .npy, .npz, .csv or .h5ad, with the features the model was fitted on")
    labels = parser.add_mutually_exclusive_group()
    labels.add_argument("--labels-column", help="label column (csv), obs column (h5ad) or array name (npz)")
    labels.add_argument("--labels-file", help="labels, one per row: text (one per line), .csv or .npy")
    parser.add_argument("--image-shape", nargs=2, type=int, metavar=("HEIGHT", "WIDTH"), help="show samples as images")
    parser.add_argument("--port", type=int, default=8050, help="TCP port (default 8050)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def one_line(exc: BaseException) -> str:
    """The error's message on one line (a message of several lines is joined with '; ').

    >>> one_line(ValueError("None of the models can be shown:\n  a: too wide\n  b: not fitted"))
    'None of the models can be shown:; a: too wide; b: not fitted'
    """
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or type(exc).__name__


def main(argv=None) -> int:
    """Run the command line; return the exit status.

    0 after serving; 2 for input the explorer cannot use (a missing or invalid
    file, data the model refuses, a busy port), 1 for any other error. Either
    way one line on stderr names the problem; ``--debug`` raises the error
    instead, with its traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        X, labels, feature_names = load_data(args.data, args.labels_column, args.labels_file)
        app = create_app(args.model, X, labels, args.image_shape, feature_names=feature_names)
        server = serve(app, args.host, args.port)
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, (ImportError, ValueError, OSError)):  # ExplorerInputError and ModelFileError included
            print(f"error: {one_line(exc)}", file=sys.stderr)
            return 2
        print(f"error: {type(exc).__name__}: {one_line(exc)} (--debug shows the traceback)", file=sys.stderr)
        return 1
    serve_until_interrupted(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
