"""The model file format: one ``.npz`` archive, without pickle.

The file is a NumPy zip archive of ``.npy`` members:

* ``__meta__``: UTF-8 JSON (stored as bytes) with the format name and
  version, the package version, the estimator's class name and parameters,
  the network's configuration and every JSON-representable fitted attribute;
* ``weights/<name>``: each network variable as a float32 array;
* ``attr/<name>``: each array-valued fitted attribute (arrays of Python
  objects, such as feature names, are stored as strings and listed in
  ``object_attributes``);
* ``reducer/<name>``: the arrays of the fitted feature reducer (its plain
  values are the description's ``feature_reducer``; format 2 on; a format-1
  file has none).

Writing is atomic (:func:`~sivae_sklearn._io.atomic_write`): the archive
is written beside the destination, fsynced and renamed onto it, so a kill or
a concurrent save never leaves a truncated model file.

Reading validates the file before it allocates anything the file asks for:

0. the path is a regular file (not a folder, a named pipe or a device such as
   ``/dev/zero``), opened without blocking;
1. the file is a zip archive whose members are ``__meta__.npy``,
   ``weights/<name>.npy``, ``attr/<name>.npy`` and ``reducer/<name>.npy`` (names are identifiers), each
   once;
2. every member lies inside the file, and its ``.npy`` header (shape and
   dtype, no data) is read: the description is bytes, the weights are float32,
   the attributes numbers or text, never Python objects, and each header
   agrees with its member's declared size, which bounds every later read;
3. the description is JSON with exactly the known keys, each of its type, in
   a format version this package reads;
4. the caller's ``check`` sees the file with every array replaced by its
   :class:`ArraySpec` and refuses what it cannot load (the estimator checks
   that its parameters, network configuration, fitted attributes and weight
   shapes agree);
5. only then are the arrays read, and every float array must be finite.

Nothing in the file is ever unpickled or executed, and every failure is one
:class:`~sivae_sklearn.ModelFileError` saying what is wrong. This module knows
the layout of the file only; the estimator turns itself into a
:class:`ModelFile` and back.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.lib import format as npy_format

from .._errors import ModelFileError
from .._io import NotRegularFileError, atomic_write, open_regular
from .._plain import to_plain
from .._version import __version__

FORMAT_NAME = "sivae_sklearn"
FORMAT_VERSION = 2
_META = "__meta__"
_MAX_META_BYTES = 64 * 2**20
_MEMBER = re.compile(r"(weights|attr|reducer)/([A-Za-z_][A-Za-z0-9_]*)\.npy")
_META_TYPES = {
    "format": str,
    "format_version": int,
    "package_version": str,
    "class": str,
    "params": dict,
    "network_config": dict,
    "attributes": dict,
    "object_attributes": list,
    "private_attributes": dict,
    "feature_reducer": (dict, type(None)),
}
_SINCE_VERSION = {"feature_reducer": 2}
"""Description keys that files of an older format version lack."""
_ARRAY_KINDS = {"weights": "f", "attr": "fiubU", "reducer": "fiu"}
_DAMAGED = (
    ValueError,
    TypeError,
    KeyError,
    OSError,
    EOFError,
    OverflowError,
    RecursionError,
    NotImplementedError,  # zipfile: a compression method it does not know
    RuntimeError,  # zipfile: an encrypted member
    zlib.error,
    struct.error,
    zipfile.LargeZipFile,
)
"""What reading a damaged or hostile archive can raise (a bug of this module raises anything else)."""


@dataclass
class ModelFile:
    """The contents of one model file.

    Attributes
    ----------
    class_name : str
        Name of the estimator class.
    params : dict
        Constructor parameters, in plain (JSON) form.
    network_config : dict
        Fields of the network configuration.
    attributes : dict
        Fitted attributes: arrays, or values with a plain (JSON) form.
    private_attributes : dict
        Private attributes the estimator asked to keep, in plain form.
    weights : dict of str to ndarray
        Network variables by name.
    feature_reducer : dict or None
        The fitted feature reducer's state: plain values and arrays
        (``None`` in a format-1 file, which did not hold it).
    package_version : str
        Version of sivae_sklearn that wrote the file.
    """

    class_name: str
    params: dict
    network_config: dict
    attributes: dict
    private_attributes: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    feature_reducer: dict | None = None
    package_version: str = __version__


@dataclass(frozen=True)
class ArraySpec:
    """Shape and dtype of an array in a model file, read from its header before its data."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=object))


def write_model_file(path, model: ModelFile) -> None:
    """Write ``model`` to ``path`` (see the module docstring for the layout)."""
    json_attrs, array_attrs, object_attrs = {}, {}, []
    for name, value in model.attributes.items():
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                value = value.astype(str)
                object_attrs.append(name)
            array_attrs[name] = value
        else:
            json_attrs[name] = to_plain(value)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": model.package_version,
        "class": model.class_name,
        "params": model.params,
        "network_config": model.network_config,
        "attributes": json_attrs,
        "object_attributes": object_attrs,
        "private_attributes": to_plain(model.private_attributes),
        "feature_reducer": None,
    }
    reducer_arrays = {}
    if model.feature_reducer is not None:
        meta["feature_reducer"] = {
            k: to_plain(v) for k, v in model.feature_reducer.items() if not isinstance(v, np.ndarray)
        }
        reducer_arrays = {k: v for k, v in model.feature_reducer.items() if isinstance(v, np.ndarray)}
    arrays = {_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    for key, value in model.weights.items():
        arrays[f"weights/{key}"] = value
    for key, value in array_attrs.items():
        arrays[f"attr/{key}"] = value
    for key, value in reducer_arrays.items():
        arrays[f"reducer/{key}"] = value
    with atomic_write(path) as fh:
        np.savez_compressed(fh, **arrays)


def read_model_file(path, check: Callable[[ModelFile], None] | None = None) -> ModelFile:
    """Read and validate a model file written by :func:`write_model_file` (any format version up to this one).

    Parameters
    ----------
    path : str or path-like
        The file.
    check : callable, optional
        Called with the file's contents before any array is read, every array
        (weights and array attributes) replaced by its :class:`ArraySpec`;
        raises a ValueError for a file it cannot load.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is not a model file, is truncated or corrupt, was edited
        into an inconsistent state, or is written in a newer format version.
    """
    path = os.fspath(path)
    try:
        fh = open_regular(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"No model file at {path!r}.") from None
    except NotRegularFileError as exc:
        raise _invalid(path, str(exc).replace(f"{path!r} is", "it is")) from None
    except OSError as exc:
        raise _invalid(path, f"it cannot be opened ({exc})") from exc
    with fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            with zipfile.ZipFile(fh) as archive:
                specs = _member_specs(archive, size)
                meta = _read_meta(archive, specs.pop(_META))
                _check_meta(path, meta)
                contents = _contents(meta, specs)
                if check is not None:
                    check(contents)
                return _read_arrays(archive, contents, meta["object_attributes"])
        except zipfile.BadZipFile:
            raise _invalid(path, _what_it_is(fh)) from None
        except ModelFileError:
            raise
        except _DAMAGED as exc:
            raise _invalid(path, str(exc) or type(exc).__name__) from exc


def _invalid(path: str, why: str) -> ModelFileError:
    return ModelFileError(f"{path!r} is not a valid sivae_sklearn model file: {why.rstrip('.')}.")


def _what_it_is(fh) -> str:
    """Why the open file ``fh``, not a zip archive, is no model file (model files are written by ``SiVAE.save``)."""
    fh.seek(0)
    head = fh.read(8)
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return "it is a single NumPy array (.npy); model files are written by SiVAE.save()"
    if head[:1] == b"\x80":
        return "it looks like a Python pickle, which load() never reads; model files are written by SiVAE.save()"
    return "it is not a zip archive of the format SiVAE.save() writes (truncated, corrupt or another format)"


def _member_specs(archive: zipfile.ZipFile, file_size: int) -> dict[str, ArraySpec]:
    """Each member's name (without ``.npy``) and array header; refuses unknown or repeated members.

    Every member must lie inside the file's ``file_size`` bytes, and its
    ``.npy`` header must describe exactly the member's declared size; reads
    then never go past what the headers declare (zipfile stops a member at its
    declared size, and NumPy reads exactly the array its header describes).
    """
    names = archive.namelist()
    if f"{_META}.npy" not in names:
        raise ValueError(f"the archive has no model description ({_META}); it holds {sorted(names)[:5]}")
    specs = {}
    for info in archive.infolist():
        name = info.filename
        if name != f"{_META}.npy" and not _MEMBER.fullmatch(name):
            raise ValueError(f"unexpected member {name!r} in the archive")
        key = name[: -len(".npy")]
        if info.header_offset + info.compress_size > file_size:
            raise ValueError(f"member {name!r} extends past the end of the file (truncated)")
        if key in specs:
            raise ValueError(f"member {name!r} appears twice")
        with archive.open(info) as fh:
            version = npy_format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = npy_format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, _, dtype = npy_format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"member {name!r} has an unsupported .npy version {version}")
            header_bytes = fh.tell()
        spec = ArraySpec(tuple(int(n) for n in shape), np.dtype(dtype))
        allowed = "u" if key == _META else _ARRAY_KINDS[key.partition("/")[0]]
        if spec.dtype.hasobject or spec.dtype.fields is not None or spec.dtype.kind not in allowed:
            raise ValueError(f"member {name!r} holds {spec.dtype} values, which a model file never holds")
        if header_bytes + spec.size * spec.dtype.itemsize != info.file_size:
            raise ValueError(f"member {name!r} does not hold the array its header describes (truncated or edited)")
        specs[key] = spec
    return specs


def _read_meta(archive: zipfile.ZipFile, spec: ArraySpec) -> dict:
    if spec.dtype != np.uint8 or len(spec.shape) != 1 or spec.size > _MAX_META_BYTES:
        raise ValueError(f"the model description is not JSON bytes of at most {_MAX_META_BYTES} bytes")
    with archive.open(f"{_META}.npy") as fh:
        raw = npy_format.read_array(fh, allow_pickle=False)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"the model description is corrupt JSON ({exc})") from None
    except RecursionError:
        raise ValueError("the model description is corrupt JSON (nested too deeply)") from None
    if not isinstance(meta, dict):
        raise ValueError("the model description is not a JSON object")
    return meta


def _check_meta(path: str, meta: dict) -> None:
    """The description's keys and their types; a newer format version says to upgrade."""
    if meta.get("format") != FORMAT_NAME:
        raise ValueError(f"the description's format is {meta.get('format')!r}, not {FORMAT_NAME!r}")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} uses model file format {version!r}, written by sivae_sklearn "
            f"{meta.get('package_version')}; this sivae_sklearn ({__version__}) reads "
            f"format <= {FORMAT_VERSION}. Upgrade sivae_sklearn to load it."
        )
    known = {key for key in _META_TYPES if _SINCE_VERSION.get(key, 1) <= version}
    unknown, missing = sorted(set(meta) - known), sorted(known - set(meta))
    if unknown or missing:
        raise ValueError(f"the description has unknown keys {unknown} or lacks {missing}")
    for key in known:
        kind = _META_TYPES[key]
        if not isinstance(meta[key], kind):
            name = " or ".join(
                "null" if k is type(None) else k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,))
            )
            raise ValueError(f"{key} must be a JSON {name}, got {type(meta[key]).__name__}")
    for key in ("params", "network_config", "attributes", "private_attributes", "feature_reducer"):
        for name, value in (meta.get(key) or {}).items():
            nested = key in ("attributes", "private_attributes") or (key, name) in _NESTED_PARAMS
            if not _is_plain(value, nested=nested):
                raise ValueError(f"{key}[{name!r}] is not a plain value: {value!r:.80}")
    if not all(isinstance(name, str) for name in meta["object_attributes"]):
        raise ValueError("object_attributes must be a list of attribute names")


_NESTED_PARAMS = {("params", "feature_programs")}
"""Parameters whose plain value may nest (a dict of lists)."""


def _is_plain(value, nested: bool) -> bool:
    """A JSON scalar or a list of them; with ``nested``, also dicts and lists of plain values."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_is_plain(v, nested) and (nested or not isinstance(v, (list, dict))) for v in value)
    if isinstance(value, dict) and nested:
        return all(isinstance(k, str) and _is_plain(v, nested) for k, v in value.items())
    return False


def _contents(meta: dict, specs: dict[str, ArraySpec]) -> ModelFile:
    """The file's contents with every array as its :class:`ArraySpec` (nothing read yet)."""
    attributes = dict(meta["attributes"])
    for key, spec in specs.items():
        group, _, name = key.partition("/")
        if group == "attr":
            if name in attributes:
                raise ValueError(f"attribute {name!r} is stored twice")
            attributes[name] = spec
    for name in meta["object_attributes"]:
        if not isinstance(attributes.get(name), ArraySpec) or attributes[name].dtype.kind != "U":
            raise ValueError(f"object attribute {name!r} is not a stored array of text")
    reducer_specs = {key.partition("/")[2]: spec for key, spec in specs.items() if key.startswith("reducer/")}
    reducer = meta.get("feature_reducer")
    if reducer is None and reducer_specs:
        raise ValueError("the archive holds feature reducer arrays but the description no feature reducer")
    if reducer is not None:
        if set(reducer) & set(reducer_specs):
            raise ValueError(f"feature reducer values {sorted(set(reducer) & set(reducer_specs))} are stored twice")
        reducer = {**reducer, **reducer_specs}
    return ModelFile(
        class_name=meta["class"],
        params=dict(meta["params"]),
        network_config=dict(meta["network_config"]),
        attributes=attributes,
        private_attributes=dict(meta["private_attributes"]),
        weights={key.partition("/")[2]: spec for key, spec in specs.items() if key.startswith("weights/")},
        feature_reducer=reducer,
        package_version=meta["package_version"],
    )


def _read_arrays(archive: zipfile.ZipFile, contents: ModelFile, objects: list[str]) -> ModelFile:
    """``contents`` with the arrays read in place of their specs (``objects`` back to object arrays).

    Every float array must be finite.
    """

    def read(key: str) -> np.ndarray:
        with archive.open(f"{key}.npy") as fh:
            array = npy_format.read_array(fh, allow_pickle=False)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(f"{key} holds NaN or infinite values")
        return array

    weights = {name: read(f"weights/{name}") for name in contents.weights}
    attributes = {
        name: read(f"attr/{name}") if isinstance(value, ArraySpec) else value
        for name, value in contents.attributes.items()
    }
    for name in objects:
        attributes[name] = attributes[name].astype(object)
    reducer = contents.feature_reducer
    if reducer is not None:
        reducer = {
            name: read(f"reducer/{name}") if isinstance(value, ArraySpec) else value for name, value in reducer.items()
        }
    return replace(contents, weights=weights, attributes=attributes, feature_reducer=reducer)
