"""``python -m sivae_sklearn.explorer MODEL DATA``: the same command line as ``sivae explore MODEL DATA``.

There is one explorer command line, the ``sivae`` command's ``explore``; this
module hands its arguments over, so that both spellings take the same options
and exit with the same status (see :data:`sivae_sklearn.cli.EXIT_CODES`).
"""

from __future__ import annotations

import sys

from ..cli import main as _sivae


def main(argv: list[str] | None = None) -> int:
    """Run ``sivae explore`` with ``argv`` (the process's arguments by default); return the exit status."""
    return _sivae(["explore", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
