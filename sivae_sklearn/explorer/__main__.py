"""``python -m sivae_sklearn.explorer MODEL DATA``: serve the explorer from a shell."""

from __future__ import annotations

import argparse
import sys

from ._app import create_app
from ._data import load_data
from ._inputs import ExplorerInputError
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
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit status (2 on bad input, with a one-line reason)."""
    args = build_parser().parse_args(argv)
    try:
        X, labels, feature_names = load_data(args.data, args.labels_column, args.labels_file)
        app = create_app(args.model, X, labels, args.image_shape, feature_names=feature_names)
        server = serve(app, args.host, args.port)
    except (ImportError, ExplorerInputError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve_until_interrupted(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
