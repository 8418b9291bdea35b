"""A folder of fitted models with their parameters, scores and history.

Each run ``name`` in the folder is two files:

* ``name.json``: a small record (the estimator's parameters, any scores and
  notes given, the final training losses, the creation time, and the name of
  the model file if there is one) that can be listed without loading models;
* ``name.sivae``: the fitted model in the single-file format of
  :meth:`SiVAE.save` (parameters, history and weights; no pickle).

:func:`save_grid_search` stores every candidate of a
:class:`~sklearn.model_selection.GridSearchCV` (or ``RandomizedSearchCV``) over
SiVAE as a record (parameters + cross-validation scores, no model) and the refit
best estimator as a full run. :func:`load_experiments` loads the runs whose
parameters match a filter; a corrupt entry is skipped with a warning naming
it, and the others still load.

Examples
--------
>>> import numpy as np, tempfile
>>> from sivae_sklearn import SiVAE
>>> from sivae_sklearn.experiments import save_experiment, load_experiments
>>> X = np.random.RandomState(0).normal(size=(40, 5))
>>> folder = tempfile.mkdtemp()
>>> for k in (1, 2):
...     _ = save_experiment(SiVAE(k, max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X), folder)
>>> runs = load_experiments(folder, where={"n_components": 2})
>>> [m.n_components_ for m in runs.values()]
[2]
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from sklearn.utils.validation import check_is_fitted

from ._arrays.feature_embeddings import embedding_blocks, is_external
from ._estimator.sivae import SiVAE
from ._estimator.sivae import load as _load_model
from ._io import NotRegularFileError, atomic_write, create_exclusive, read_regular
from ._plain import plain_params, to_plain

RECORD_VERSION = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]*")
_MAX_RECORD_BYTES = 16 * 2**20
_MAX_NAME_ATTEMPTS = 100_000


def _jsonable(value):
    """JSON form of scores and notes (NumPy scalars and arrays included; NaN and inf become null)."""
    return to_plain(value, fallback=repr, nonfinite_to_none=True)


def _params_record(params: Mapping) -> dict:
    """Parameters in JSON form; external feature embeddings by their shape (the model file holds them)."""
    feature_input = params.get("feature_input")
    if feature_input is not None and is_external(feature_input):
        blocks = [
            b if isinstance(b, str) else f"external {tuple(int(n) for n in getattr(b, 'shape', ()))}"
            for b in embedding_blocks(feature_input)
        ]
        params = {**params, "feature_input": blocks if isinstance(feature_input, (list, tuple)) else blocks[0]}
    return plain_params(params, fallback=repr)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"experiment name {name!r} must start with a letter or digit and contain only letters, "
            f"digits, '.', '_', '=', '-' (it becomes a file name)."
        )
    return name


def _record_path(path: str, name: str) -> str:
    return os.path.join(path, name + ".json")


def _claim(path: str, name: str, overwrite: bool) -> bool:
    """Make sure the run ``name`` is this caller's to write; True when this call created its (empty) record.

    Without ``overwrite`` the record is created exclusively (``O_EXCL``): of
    several processes saving one name at once, exactly one goes on and the
    others get FileExistsError.
    """
    if create_exclusive(_record_path(path, name)):
        return True
    if overwrite:
        return False
    raise FileExistsError(f"an experiment named {name!r} already exists in {path!r}; pass overwrite=True.")


def _new_name(path: str, prefix: str = "run") -> str:
    """A fresh ``<prefix>-<time>-<n>``, its record claimed exclusively, so that no other process gets it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for i in range(_MAX_NAME_ATTEMPTS):
        name = f"{prefix}-{stamp}-{i:03d}"
        if create_exclusive(_record_path(path, name)):
            return name
    raise FileExistsError(f"{path!r} already holds {_MAX_NAME_ATTEMPTS:,} runs named {prefix}-{stamp}-*.")


def _release(path: str, name: str) -> None:
    """Remove the empty record claimed for ``name`` (a save that failed before writing it)."""
    target = _record_path(path, name)
    try:
        if os.stat(target).st_size == 0:
            os.unlink(target)
    except OSError:
        pass


def _write_record(path: str, name: str, record: dict) -> None:
    with atomic_write(_record_path(path, name)) as fh:
        fh.write(json.dumps(record, indent=1, sort_keys=True).encode("utf-8"))


def save_experiment(
    model,
    path,
    name: str | None = None,
    *,
    scores: Mapping[str, Any] | None = None,
    notes: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> str:
    """Save a fitted model, its parameters and history as one run of the folder ``path``.

    Parameters
    ----------
    model : SiVAE
        Fitted model.
    path : str or path-like
        Experiment folder (created if missing).
    name : str, optional
        Run name (letters, digits, ``._=-``, starting with a letter or digit);
        default ``run-<time>-<n>``, unique even among processes saving into
        one folder at the same second.
    scores : mapping, optional
        Scores to record with the run (e.g. ``{"knn_accuracy": 0.91}``).
    notes : mapping, optional
        Anything else JSON-able (dataset name, preprocessing...).
    overwrite : bool, default=False
        Replace a run of the same name. Without it, of several processes
        saving one name at once exactly one succeeds and the others raise
        FileExistsError.

    Returns
    -------
    str
        The run's name.

    Raises
    ------
    FileExistsError
        If a run of that name exists and ``overwrite`` is False.

    Notes
    -----
    The name is claimed first, by creating its record exclusively (empty);
    the model file and then the record are written atomically. A save that
    fails removes its empty record; a save that is killed leaves it, and
    :func:`list_experiments` skips it with a warning.
    """
    check_is_fitted(model)
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    if name is None:
        name, claimed = _new_name(path), True
    else:
        claimed = _claim(path, _check_name(name), overwrite)
    try:
        _save_run(model, path, name, scores, notes)
    except BaseException:
        if claimed:
            _release(path, name)
        raise
    return name


def _save_run(model, path: str, name: str, scores, notes) -> None:
    model_file = name + ".sivae"
    model.save(os.path.join(path, model_file))
    history = getattr(model, "history_", {}) or {}
    final = {k: v[-1] for k, v in history.items() if v and isinstance(v[-1], (int, float))}
    record = {
        "record_version": RECORD_VERSION,
        "name": name,
        "kind": "model",
        "estimator": type(model).__name__,
        "params": _params_record(model.get_params(deep=False)),
        "scores": _jsonable(dict(scores or {})),
        "notes": _jsonable(dict(notes or {})),
        "final_losses": _jsonable(final),
        "n_iter": _jsonable(getattr(model, "n_iter_", None)),
        "model_file": model_file,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    _write_record(path, name, record)


def _matches(params: Mapping, where: Mapping | None) -> bool:
    if not where:
        return True
    for key, wanted in where.items():
        if key not in params:
            return False
        have = params[key]
        if callable(wanted):
            try:
                ok = bool(wanted(have))
            except Exception:  # a predicate that cannot handle this value: no match
                ok = False
            if not ok:
                return False
        elif _params_record({key: wanted})[key] != have:
            return False
    return True


def list_experiments(path, where: Mapping[str, Any | Callable[[Any], bool]] | None = None) -> list[dict]:
    """Records of the runs in ``path`` (models are not loaded), sorted by name.

    Parameters
    ----------
    path : str or path-like
        Experiment folder.
    where : mapping, optional
        Keep runs whose parameters match: each value is either compared for
        equality (tuples and lists are the same) or, if callable, called with
        the run's value and must return True (``{"beta": lambda b: b >= 1}``).

    Returns
    -------
    list of dict
        One record per run: ``name``, ``kind`` (``"model"`` or
        ``"grid_candidate"``), ``params``, ``scores``, ``notes``, ``model_file``...
        Anything that is not a regular file (a folder, a named pipe...) and any
        record that does not parse into the record schema (not JSON, nested too
        deeply, a field of the wrong type, a name other than its file's,
        empty because its save was interrupted) is skipped with a warning
        naming the file.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No experiment folder at {path!r}.")
    out = []
    for fname in sorted(os.listdir(path)):
        stem = fname[: -len(".json")]
        if not fname.endswith(".json") or not _NAME.fullmatch(stem):
            continue
        full = os.path.join(path, fname)
        try:
            record = _read_record(full, stem)
        except (OSError, ValueError) as exc:
            warnings.warn(f"Skipping experiment record {full!r}: {exc}", UserWarning, stacklevel=2)
            continue
        if _matches(record["params"], where):
            out.append(record)
    return out


_RECORD_FIELDS = {
    "record_version": (int,),
    "name": (str,),
    "kind": (str,),
    "estimator": (str,),
    "params": (dict,),
    "scores": (dict,),
    "notes": (dict,),
    "final_losses": (dict,),
    "n_iter": (int, type(None)),
    "model_file": (str, type(None)),
    "created": (str,),
}
"""The fields a record may hold and their JSON types; ``params`` is required."""


def _read_record(full: str, stem: str) -> dict:
    """The record in the file ``full``, checked against the schema; OSError or ValueError saying what is wrong."""
    try:
        raw = read_regular(full, _MAX_RECORD_BYTES)
    except NotRegularFileError as exc:
        raise ValueError(str(exc).replace(f"{full!r} is", "it is")) from None
    if not raw:
        raise ValueError("it is empty (a save in progress, or one that was interrupted)")
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"it is not JSON ({exc})") from None
    except RecursionError:
        raise ValueError("it is not an experiment record (JSON nested too deeply)") from None
    if not isinstance(record, dict) or not isinstance(record.get("params"), dict):
        raise ValueError("not an experiment record (no 'params' mapping)")
    for key, types in _RECORD_FIELDS.items():
        if key in record and (not isinstance(record[key], types) or isinstance(record[key], bool)):
            allowed = " or ".join("null" if t is type(None) else f"a JSON {t.__name__}" for t in types)
            raise ValueError(f"its {key!r} is {type(record[key]).__name__}, not {allowed}")
    record.setdefault("name", stem)
    if record["name"] != stem:
        raise ValueError(f"it names the run {record['name']!r}, but its file is {stem + '.json'!r}")
    return record


def load_experiments(path, where: Mapping[str, Any | Callable[[Any], bool]] | None = None) -> dict:
    """Load the fitted models of the runs whose parameters match ``where``.

    Parameters
    ----------
    path : str or path-like
        Experiment folder.
    where : mapping, optional
        Parameter filter, as in :func:`list_experiments`, e.g.
        ``{"n_components": 4}``.

    Returns
    -------
    dict of str to SiVAE
        Run name -> fitted model, for runs that have a model file. A run whose
        record or model file is corrupt or missing is skipped with a
        ``UserWarning`` naming it; the others still load.
    """
    models = {}
    for record in list_experiments(path, where):
        model_file = record.get("model_file")
        if not model_file:
            continue
        full = os.path.join(os.fspath(path), os.path.basename(str(model_file)))
        try:
            models[record["name"]] = _load_model(full)
        except (OSError, ValueError) as exc:
            warnings.warn(
                f"Skipping experiment {record['name']!r}: its model file {full!r} could not be loaded: {exc}",
                UserWarning,
                stacklevel=2,
            )
    return models


def load_experiment(path, name: str):
    """Load one run's fitted model by name (errors are raised, not skipped).

    Parameters
    ----------
    path : str or path-like
        Experiment folder.
    name : str
        Run name.

    Returns
    -------
    SiVAE
    """
    full = os.path.join(os.fspath(path), _check_name(name) + ".sivae")
    if not os.path.exists(full):
        raise FileNotFoundError(f"No model for experiment {name!r} in {os.fspath(path)!r} (looked for {full!r}).")
    return _load_model(full)


def _find_sivae(estimator):
    """The SiVAE inside ``estimator`` and the parameter prefix addressing it."""
    if isinstance(estimator, SiVAE):
        return estimator, ""
    steps = getattr(estimator, "steps", None)
    if steps:
        for step_name, step in steps:
            if isinstance(step, SiVAE):
                return step, step_name + "__"
    raise ValueError(f"save_grid_search needs a search over SiVAE or a Pipeline with a SiVAE step, got {estimator!r}.")


def save_grid_search(search, path, prefix: str = "grid", *, overwrite: bool = False) -> list[str]:
    """Save the candidates and the best model of a fitted ``GridSearchCV`` over SiVAE.

    Every candidate becomes a record ``<prefix>-candidate-<i>`` (kind
    ``"grid_candidate"``) with its full SiVAE parameters (the search's base
    estimator updated with the candidate's) and its cross-validation scores
    (``mean_test_*``, ``std_test_*``, ``rank_test_*``, per-split scores, fit
    times). If the search refit a best estimator it is saved as the run
    ``<prefix>-best`` with ``best_score_`` and the candidate's index.
    Searches over a :class:`~sklearn.pipeline.Pipeline` are accepted: the SiVAE
    step's parameters are recorded (unprefixed), others go under ``notes``.

    Parameters
    ----------
    search : GridSearchCV or RandomizedSearchCV
        A fitted search.
    path : str or path-like
        Experiment folder (created if missing).
    prefix : str, default="grid"
        Start of the run names.
    overwrite : bool, default=False
        Replace runs of the same names.

    Returns
    -------
    list of str
        The names written (candidates first, then the best model if any).
    """
    check_is_fitted(search, "cv_results_")
    _check_name(prefix)
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    base, step = _find_sivae(search.estimator)
    base_params = base.get_params(deep=False)
    results = search.cv_results_
    n = len(results["params"])
    score_keys = [k for k in results if k.startswith(("mean_", "std_", "rank_", "split"))]
    names = []
    for i in range(n):
        params, other = dict(base_params), {}
        for key, value in results["params"][i].items():
            if step and key.startswith(step):
                params[key[len(step) :]] = value
            elif not step:
                params[key] = value
            else:
                other[key] = value
        name = f"{prefix}-candidate-{i:03d}"
        record = {
            "record_version": RECORD_VERSION,
            "name": name,
            "kind": "grid_candidate",
            "estimator": type(base).__name__,
            "params": _params_record(params),
            "scores": _jsonable({k: results[k][i] for k in score_keys}),
            "notes": _jsonable({"search_params": results["params"][i], "other_params": other}),
            "model_file": None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        claimed = _claim(path, name, overwrite)
        try:
            _write_record(path, name, record)
        except BaseException:
            if claimed:
                _release(path, name)
            raise
        names.append(name)
    best = getattr(search, "best_estimator_", None)
    if best is not None:
        model, _ = _find_sivae(best)
        scores = {
            "best_score": getattr(search, "best_score_", None),
            "best_index": getattr(search, "best_index_", None),
        }
        names.append(save_experiment(model, path, f"{prefix}-best", scores=scores, overwrite=overwrite))
    return names
