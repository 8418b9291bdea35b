"""Serving the explorer: bind a port (loopback by default), serve in the foreground or a thread."""

from __future__ import annotations

import errno
import socket
import sys
import threading
from numbers import Integral

from ._app import create_app
from ._inputs import ExplorerInputError


class ExplorerServer:
    """A running explorer: ``url``, ``serve_forever()``, ``shutdown()``.

    Made by :func:`serve`; binding happens at construction, so a port in use
    is reported before anything runs.
    """

    def __init__(self, app, host: str, port: int):
        from werkzeug.serving import make_server

        port = check_port_number(port)
        in_use = ExplorerInputError(
            f"Cannot serve on {host}:{port}: the port is already in use (or not allowed). "
            "Choose another with port=... (--port on the command line)."
        )
        try:
            _probe_port(host, int(port))  # werkzeug itself would print and sys.exit on a busy port
            self._server = make_server(host, int(port), app.server, threaded=True)
        except SystemExit as exc:
            raise in_use from exc
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise in_use from exc
            raise ExplorerInputError(f"Cannot serve on {host}:{port}: {exc}") from exc
        self.host = host
        self.port = self._server.server_port
        self._thread = None
        self._started = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self) -> None:
        self._started = True
        self._server.serve_forever()

    def start_thread(self) -> ExplorerServer:
        """Serve from a daemon thread and return at once."""
        self._started = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="sivae-explorer", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        if self._started:  # socketserver's shutdown() waits forever when serve_forever never ran
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


MAX_PORT = 65535


def check_port_number(port) -> int:
    """``port`` as an int: a TypeError unless it is an integer, an :class:`ExplorerInputError` (a ValueError) unless
    it is in ``[0, 65535]`` (0 picks a free port).

    >>> check_port_number(8050)
    8050
    >>> try:
    ...     check_port_number(70000)
    ... except ValueError as exc:
    ...     print(exc)
    port must be an integer in [0, 65535] (0 picks a free port), got 70000.
    """
    if isinstance(port, bool) or not isinstance(port, Integral):
        raise TypeError(f"port must be an integer in [0, {MAX_PORT}], got {type(port).__name__} {port!r}.")
    if not 0 <= port <= MAX_PORT:
        raise ExplorerInputError(f"port must be an integer in [0, {MAX_PORT}] (0 picks a free port), got {port!r}.")
    return int(port)


def _probe_port(host: str, port: int) -> None:
    """Raise OSError (EADDRINUSE) when ``host:port`` cannot be bound, as the server would."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve(app, host: str = "127.0.0.1", port: int = 8050) -> ExplorerServer:
    """Bind ``app`` to ``host:port`` (0 picks a free port) without serving yet.

    Parameters
    ----------
    app : dash.Dash
        From :func:`create_app`.
    host : str, default="127.0.0.1"
        Loopback by default: only this machine can reach the explorer.
    port : int, default=8050
        TCP port in ``[0, 65535]``; 0 picks a free one.

    Returns
    -------
    ExplorerServer
        Call ``serve_forever()``, or ``start_thread()`` to serve in the background.

    Raises
    ------
    TypeError
        ``port`` is not an integer.
    ExplorerInputError
        A ValueError: ``port`` is outside ``[0, 65535]``, or cannot be bound
        (in use, not allowed, or ``host`` is not an address of this machine).
    """
    return ExplorerServer(app, host, port)


def startup_message(server: ExplorerServer) -> str:
    """What :func:`run` prints when it starts."""
    if server.host in ("127.0.0.1", "localhost", "::1"):
        where = "loopback only: reachable from this machine alone"
    else:
        where = f"bound to {server.host}: reachable from other machines on the network"
    return f"sivae_sklearn explorer serving on {server.url} ({where}). Press Ctrl+C to stop."


def run(model, X, labels=None, image_shape=None, port: int = 8050, host: str = "127.0.0.1", **kwargs) -> None:
    """Serve the explorer until interrupted.

    Parameters
    ----------
    model : SiVAE, str, path-like, or dict of str to SiVAE
        See :func:`create_app`.
    X : array-like of shape (n_samples, n_features)
        Data to embed.
    labels : array-like of shape (n_samples,), optional
        Class of each sample.
    image_shape : (int, int) or (int, int, int), optional
        Show samples as images.
    port : int, default=8050
        TCP port.
    host : str, default="127.0.0.1"
        Interface to bind; the default is loopback only. ``"0.0.0.0"``
        exposes the explorer to the network.
    **kwargs
        Passed to :func:`create_app` (``feature_names``, ``title``).

    Examples
    --------
    >>> from sivae_sklearn.explorer import run
    >>> run(model, X, labels=y, image_shape=(8, 8))  # doctest: +SKIP
    """
    serve_until_interrupted(serve(create_app(model, X, labels, image_shape, **kwargs), host, port))


def serve_until_interrupted(server: ExplorerServer) -> None:
    """Say where the explorer serves, then serve until Ctrl+C (used by :func:`run` and the CLI)."""
    print(startup_message(server), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
