"""Feature programs (gene sets) as priors on the loadings: resolving them to a membership mask, and their support.

``SiVAE(feature_programs={name: [features]})`` gives each program one latent
dimension, the first ``len(feature_programs)`` in the dict's order. The
objective's ``"programs"`` term (:mod:`sivae_sklearn._engine.objective`)
penalises the loadings of non-members on a program's dimension; the members
are free. :func:`resolve_programs` turns the parameter into the ``(G, P)``
membership mask that term reads, before training; :func:`program_support`
measures afterwards how much of its members' variance each program's
dimension carries (``program_support_``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from .._arrays.rows import iter_row_batches

MIN_PROGRAM_FEATURES = 2
"""The fewest features of a program that must be present in ``X``: one feature alone is not a program."""


def _members(name, members) -> list:
    if isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
        raise ValueError(
            f"feature_programs[{name!r}] must be a list of feature names or indices, got {type(members).__name__} "
            f"{members!r}."
        )
    return list(members)


def resolve_programs(programs, feature_names, n_features: int, n_components: int):
    """The program names and their ``(n_features, n_programs)`` float32 membership mask.

    Parameters
    ----------
    programs : mapping of str to list of (str or int), or None
        ``feature_programs``: each program's members, by name (matched to
        ``feature_names``) or by column index.
    feature_names : ndarray of str or None
        ``feature_names_in_`` (None when ``X`` has no column names: members
        must then be indices).
    n_features, n_components : int
        Columns of ``X``; latent dimensions.

    Returns
    -------
    names : list of str
        The program names, in the order of their dimensions.
    mask : ndarray of shape (n_features, n_programs) or None
        1 where a feature is a member of a program; None without programs.

    Raises
    ------
    ValueError
        More programs than ``n_components``, a name that is not a string, a
        member that is neither a name nor an index in range, names without
        ``feature_names``, or a program with fewer than
        :data:`MIN_PROGRAM_FEATURES` members present in ``X``. Names absent
        from ``X`` are reported once, in one ``UserWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> names, mask = resolve_programs({"ab": ["a", "b"]}, np.array(["a", "b", "c"]), 3, 2)
    >>> names, mask[:, 0].tolist()
    (['ab'], [1.0, 1.0, 0.0])
    """
    if programs is None or len(programs) == 0:
        return [], None
    if not isinstance(programs, Mapping):
        raise ValueError(f"feature_programs must be a dict of name -> features, got {type(programs).__name__}.")
    if len(programs) > n_components:
        raise ValueError(
            f"feature_programs has {len(programs)} programs but n_components={n_components}: each program owns "
            f"one latent dimension, so raise n_components to at least {len(programs)} or pass fewer programs."
        )
    index = None if feature_names is None else {str(n): i for i, n in enumerate(feature_names)}
    mask = np.zeros((n_features, len(programs)), np.float32)
    absent: dict[str, int] = {}
    for k, (name, members) in enumerate(programs.items()):
        if not isinstance(name, str) or not name:
            raise ValueError(f"feature_programs' keys are the programs' names, non-empty strings; got {name!r}.")
        for member in _members(name, members):
            if isinstance(member, (int, np.integer)) and not isinstance(member, (bool, np.bool_)):
                if not 0 <= int(member) < n_features:
                    raise ValueError(
                        f"feature_programs[{name!r}] has the index {member}, outside [0, {n_features}) "
                        "(the columns of X)."
                    )
                mask[int(member), k] = 1.0
            elif isinstance(member, str):
                if index is None:
                    raise ValueError(
                        f"feature_programs[{name!r}] names the feature {member!r}, but X has no column names: "
                        "pass a DataFrame with feature names, or the members' column indices."
                    )
                if member in index:
                    mask[index[member], k] = 1.0
                else:
                    absent[name] = absent.get(name, 0) + 1
            else:
                raise ValueError(
                    f"feature_programs[{name!r}] has the member {member!r}: members are feature names or indices."
                )
        present = int(mask[:, k].sum())
        if present < MIN_PROGRAM_FEATURES:
            raise ValueError(
                f"feature_programs[{name!r}] has {present} feature(s) present in X, fewer than the "
                f"{MIN_PROGRAM_FEATURES} a program needs; check the feature names or drop the program."
            )
    if absent:
        counts = ", ".join(f"{name!r}: {n}" for name, n in absent.items())
        warnings.warn(
            f"feature_programs name features that are not in X, left out (absent per program: {counts}).",
            UserWarning,
            stacklevel=4,
        )
    return [str(n) for n in programs], mask


def dimension_names(program_names, n_components: int, prefix: str = "sivae") -> np.ndarray:
    """The names of the latent dimensions: the programs', then ``<prefix><k>`` for the free ones.

    >>> dimension_names(["B"], 3).tolist()
    ['B', 'sivae1', 'sivae2']
    """
    names = list(program_names) + [f"{prefix}{k}" for k in range(len(program_names), n_components)]
    return np.asarray(names, dtype=object)


def program_support(X_train, transform, embed_mean, mask) -> np.ndarray:
    """Per program, the mean over its members of ``corr(x_f, z_k)^2``: the share of a member's variance that
    the program's dimension carries, linearly.

    A program the data support (its members vary together) gets the share of
    their common variation; a program of independent features cannot: any
    single dimension carries on average at most about ``(1 + sqrt(m / n))^2 / m``
    of each of ``m`` independent features over ``n`` rows (the top eigenvalue
    of their correlation matrix over ``m``), about 0.13 for ten features.

    Parameters
    ----------
    X_train : array-like of shape (n, G)
        The training rows.
    transform : callable
        The encoder's view of rows (the likelihood's encoder input).
    embed_mean : callable
        Rows to their posterior means ``z``.
    mask : ndarray of shape (G, P)
        The membership mask.

    Returns
    -------
    ndarray of shape (P,)
    """
    members = np.flatnonzero(mask.any(axis=1))
    sub = mask[members].astype(bool)
    p = mask.shape[1]
    n = 0
    sx = np.zeros(members.size)
    sxx = np.zeros(members.size)
    sz = np.zeros(p)
    szz = np.zeros(p)
    sxz = np.zeros((members.size, p))
    for _, rows in iter_row_batches(X_train, 4096):
        x = transform(rows)
        x = np.asarray(x.toarray() if hasattr(x, "toarray") else x, np.float64)[:, members]
        z = np.asarray(embed_mean(rows), np.float64)[:, :p]
        n += x.shape[0]
        sx += x.sum(0)
        sxx += np.einsum("ij,ij->j", x, x)
        sz += z.sum(0)
        szz += np.einsum("ij,ij->j", z, z)
        sxz += x.T @ z
    n = max(n, 1)
    cov = sxz / n - np.outer(sx / n, sz / n)
    var_x = np.maximum(sxx / n - np.square(sx / n), 0.0)
    var_z = np.maximum(szz / n - np.square(sz / n), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.square(cov) / np.outer(var_x, var_z)
    r2 = np.where(np.isfinite(r2), r2, 0.0)
    return np.array([float(r2[sub[:, k], k].mean()) for k in range(p)])
