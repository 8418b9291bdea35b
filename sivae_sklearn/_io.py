"""Every file the package writes or reads back: atomic writes, exclusive creation, regular files only.

Importable without TensorFlow (the command line uses it before TensorFlow loads).

* :func:`atomic_write` and :func:`atomic_path` write a new file beside the
  destination (same folder, so same file system), flush and fsync it, then
  ``os.replace`` it onto the destination and fsync the folder where the system
  allows. A reader sees the old file or the new one, never a part; a kill at
  any moment leaves the old file intact (and at most a hidden
  ``.<name>.<random>.tmp`` beside it); an exception removes the temporary file.
  Of two processes writing one path at once, the last ``os.replace`` wins and
  the file is one of the two, whole. The new file gets the destination's
  permission bits when it replaces one, else the default ones (``0o666`` less
  the umask), as a plain ``open`` would.
* :func:`create_exclusive` creates an empty file only if no file of that name
  exists (``O_EXCL``): the one atomic "claim this name" that holds between
  processes.
* :func:`open_regular` opens a file for reading only when it is a regular file
  (never a named pipe or a device, which could block or never end), without
  blocking on the open, and :func:`read_regular` reads at most a given size.
* :func:`write_json` writes a JSON document through :func:`atomic_write` (the
  benchmarks' result files).

Examples
--------
>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
>>> with atomic_write(path) as fh:
...     _ = fh.write(b"hello")
>>> read_regular(path, max_bytes=100)
b'hello'
>>> sorted(os.listdir(os.path.dirname(path)))  # no temporary file left behind
['out.txt']
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Iterator
from typing import BinaryIO

_OPEN_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_OPEN_BINARY = getattr(os, "O_BINARY", 0)


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _default_mode() -> int:
    """``0o666`` less the umask, read without changing it where the system says it (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o644


def _temporary_beside(path: str) -> tuple[str, int]:
    """A new, exclusively created file in the folder of ``path``: ``(its path, an open descriptor)``."""
    folder, name = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_BINARY, 0o600)
        except FileExistsError:
            continue
        break
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = _default_mode()
    try:
        os.chmod(tmp, mode)
    except OSError:  # pragma: no cover - a file system without permission bits
        pass
    return tmp, fd


def _publish(tmp: str, path: str) -> None:
    os.replace(tmp, path)
    _fsync_folder(os.path.dirname(os.path.abspath(path)))


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


@contextlib.contextmanager
def atomic_write(path) -> Iterator[BinaryIO]:
    """A binary file to write whose contents replace ``path`` only once the block ends without an exception.

    Parameters
    ----------
    path : str or path-like
        The destination. Its folder must exist.

    Yields
    ------
    file object
        Open for writing (binary) on a temporary file beside ``path``.
    """
    path = os.fspath(path)
    tmp, fd = _temporary_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def write_json(path, payload, **dumps_kwargs) -> None:
    """Write ``payload`` as UTF-8 JSON to ``path`` atomically (:func:`atomic_write`).

    Parameters
    ----------
    path : str or path-like
        The destination. Its folder must exist.
    payload : object
        Anything ``json.dumps`` takes with ``dumps_kwargs`` (e.g. ``indent=1, default=float``).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "result.json")
    >>> write_json(path, {"rows": [1, 2]}, indent=1)
    >>> json.loads(read_regular(path, max_bytes=1000))
    {'rows': [1, 2]}
    """
    text = json.dumps(payload, **dumps_kwargs)  # before the file exists: a payload JSON refuses leaves no trace
    with atomic_write(path) as fh:
        fh.write(text.encode("utf-8"))


@contextlib.contextmanager
def atomic_path(path, suffix: str = "") -> Iterator[str]:
    """A temporary path beside ``path`` for a library that opens files by name; it replaces ``path`` on success.

    The library (h5py through anndata's ``write_h5ad``, say) writes the file
    at the yielded path; when the block ends without an exception the file is
    fsynced and replaces ``path``.

    Parameters
    ----------
    path : str or path-like
        The destination. Its folder must exist.
    suffix : str, optional
        Added to the temporary name, for libraries that look at the extension.

    Yields
    ------
    str
        The temporary path (an empty file already exists there).
    """
    path = os.fspath(path)
    tmp, fd = _temporary_beside(path)
    os.close(fd)
    if suffix:
        named = tmp + suffix
        os.replace(tmp, named)
        tmp = named
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDWR | _OPEN_BINARY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _publish(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise


def create_exclusive(path) -> bool:
    """Create ``path`` as an empty file if nothing of that name exists; False if something does.

    The check and the creation are one step of the file system (``O_EXCL``),
    so of several processes claiming one name exactly one gets True.
    """
    try:
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_BINARY, _default_mode())
    except FileExistsError:
        return False
    os.close(fd)
    return True


class NotRegularFileError(OSError):
    """The path names something other than a regular file (a folder, a named pipe, a device...)."""


def _kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def open_regular(path) -> BinaryIO:
    """Open ``path`` for binary reading only if it is a regular file (symbolic links to one are followed).

    The file is opened without blocking (a named pipe with no writer would
    block a plain ``open`` forever) and its type is checked on the open
    descriptor, so it cannot be swapped between the check and the read.

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path``.
    NotRegularFileError
        If it is a folder, a named pipe, a device or a socket.
    """
    path = os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | _OPEN_NONBLOCK | _OPEN_BINARY)
    except IsADirectoryError:
        raise NotRegularFileError(f"{path!r} is a folder, not a file") from None
    except OSError as exc:
        if os.path.isdir(path):  # Windows refuses to open a folder with EACCES
            raise NotRegularFileError(f"{path!r} is a folder, not a file") from None
        if not isinstance(exc, FileNotFoundError) and os.path.exists(path) and not os.path.isfile(path):
            raise NotRegularFileError(f"{path!r} is {_kind(os.stat(path).st_mode)}, not a regular file") from exc
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(f"{path!r} is {_kind(mode)}, not a regular file")
        if _OPEN_NONBLOCK and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path, max_bytes: int) -> bytes:
    """The contents of the regular file ``path``, refusing one larger than ``max_bytes``.

    Never reads more than ``max_bytes + 1`` bytes, whatever the file claims.

    Raises
    ------
    NotRegularFileError
        If ``path`` is not a regular file (see :func:`open_regular`).
    ValueError
        If the file holds more than ``max_bytes`` bytes.
    """
    with open_regular(path) as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValueError(f"{os.fspath(path)!r} is larger than {max_bytes:,} bytes")
    return data


GMT_MAX_BYTES = 256 * 2**20
"""The largest GMT file :func:`read_gmt` reads (MSigDB's whole collection is about 30 MB)."""


def read_gmt(path) -> dict[str, list[str]]:
    """Read gene sets from a GMT file: one set a line, ``name<TAB>description<TAB>gene1<TAB>gene2...``.

    The standard gene-set format of MSigDB and GSEA. Blank lines and lines
    starting with ``#`` are skipped; empty fields (trailing tabs) are ignored;
    a gene listed twice in a set is kept once, in first order.

    Parameters
    ----------
    path : str or path-like
        The file (UTF-8 text).

    Returns
    -------
    dict of str to list of str
        Each set's genes, in the file's order: ``SiVAE(feature_programs=...)`` and
        ``tl.sivae(..., programs=...)`` take it as it is.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If it is not a regular file, not UTF-8 text, larger than 256 MB, a
        line has no tab after the name, a name repeats, or it holds no set;
        the message names the file and the line.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "sets.gmt")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("B_CELL\\tmarkers\\tMS4A1\\tCD79A\\n" "NK\\thttp://x\\tGNLY\\tNKG7\\tKLRD1\\n")
    >>> read_gmt(path)
    {'B_CELL': ['MS4A1', 'CD79A'], 'NK': ['GNLY', 'NKG7', 'KLRD1']}
    """
    where = os.fspath(path)
    try:
        text = read_regular(path, max_bytes=GMT_MAX_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"The GMT file {where!r} is not UTF-8 text.") from None
    sets: dict[str, list[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        name = fields[0].strip()
        if len(fields) < 2 or not name:
            raise ValueError(
                f"The GMT file {where!r}, line {number}, is not name<TAB>description<TAB>genes...: {line[:80]!r}."
            )
        if name in sets:
            raise ValueError(f"The GMT file {where!r}, line {number}, repeats the set name {name!r}.")
        genes = (gene.strip() for gene in fields[2:])
        sets[name] = list(dict.fromkeys(gene for gene in genes if gene))
    if not sets:
        raise ValueError(f"The GMT file {where!r} holds no gene set.")
    return sets
