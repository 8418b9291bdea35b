"""Refit the recorded fixed-seed cases and compare with the committed reference outputs.

The reference was written by ``tests/data/make_reference_outputs.py``. Two promises
are tested, and they differ:

* **Same machine, same configuration: bitwise.** Two fits of a case in one process
  give bit-identical outputs (:func:`test_two_fits_in_one_process_are_bitwise_equal`);
  ``SIVAE_REFERENCE_EXACT=1`` also requires the refit to equal the recording bit for
  bit, which holds on the recording machine.
* **Any machine, any configuration: within the measured spread.** Float rounding
  differs with the CPU's instruction set, oneDNN's kernels and the thread count, and
  a few epochs of training carry it into every output. How far, was measured by
  ``tests/data/measure_reference_spread.py``: it refits every case under
  ``TF_ENABLE_ONEDNN_OPTS`` 0 and 1, 1 and 2 intra-op threads, and float64 and
  float32 input (8 configurations, each in a fresh process) and records, for every
  output of every case, the largest *scaled difference*
  ``max |refit - recorded| / max |recorded|`` in ``tests/data/reference_spread.json``.
  On the development machine (AMD EPYC, AVX-512; TensorFlow 2.21) the largest were
  5.9e-4 for ``transform``, 8.7e-4 for ``inverse_transform``, 2.5e-4 for ``components_``,
  1.6e-4 for ``score_samples`` (all on ``sparse_poisson``, with oneDNN off, 2 threads,
  float32 input), and 0.107 for ``attribution_loadings`` (``nb``; a gradient through
  the decoder, which amplifies rounding).

Each output (``transform``, ``components_``, ``history/loss``...) is compared, in every
case, with the tolerance ``MARGIN`` times the largest spread any case showed for that
output on any recorded machine, and at least ``FLOOR``, as a scaled difference. (Per
output, not per case: on the development machine 88 of 155 case outputs did not move
at all under the 8 configurations, yet the Xeon moved ``nb`` and ``stepwise`` too.)
``MARGIN = 25`` covers the largest difference reported from a machine not measured
here (an Intel Xeon with AVX-512 and AMX: 6e-3, element-wise relative, on
``sparse_poisson/transform``, which bounds its scaled difference) twice over. An output
whose tolerance would exceed ``UNCOMPARABLE`` (a scaled difference that large says
little) is not compared across machines; it is still compared bit for bit within a
process and with ``SIVAE_REFERENCE_EXACT=1``. Which outputs these are follows from the
measurement (here: ``attribution_loadings``), and a test lists them. A run on another machine adds its spread to the
file (``--machine NAME``), and the tolerances follow.

One recorded series differs from the current code in the last bits by design:
the loss logged during the ``"sample"`` pretraining phase of the stepwise
schedule, whose total used to include the feature KL and subtract it again and
now leaves it out (the gradients, and so every weight, are the same). It is
compared on its own, as ``stepwise/history/loss[sample]``, with its own measured
spread (never bitwise).
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(DATA))

import make_reference_outputs as ref  # noqa: E402
from measure_reference_spread import SPREAD, scaled_difference, split_phases  # noqa: E402

EXACT = os.environ.get("SIVAE_REFERENCE_EXACT") == "1"
MARGIN = 25.0
FLOOR = 1e-5
UNCOMPARABLE = 0.25


def quantity(key: str) -> str:
    """The output a key names, over all cases: ``"nb/transform"`` -> ``"transform"``."""
    return key.partition("/")[2]


def measured_spread() -> dict[str, float]:
    """``output -> `` the largest spread of any case on any recorded machine."""
    spread: dict[str, float] = {}
    for machine in json.loads(SPREAD.read_text())["machines"]:
        for key, value in machine["spread_by_case"].items():
            spread[quantity(key)] = max(spread.get(quantity(key), 0.0), value)
    return spread


SPREAD_BY_OUTPUT = measured_spread()


def tolerance(key: str) -> float:
    """The scaled difference allowed for ``"<case>/<output>"`` (inf when not comparable across machines)."""
    tol = max(MARGIN * SPREAD_BY_OUTPUT.get(quantity(key), 0.0), FLOOR)
    return float("inf") if tol > UNCOMPARABLE else tol


def test_the_tolerances_follow_from_the_measurement():
    uncomparable = sorted(name for name in SPREAD_BY_OUTPUT if tolerance(f"case/{name}") == float("inf"))
    assert uncomparable == ["attribution_loadings"], uncomparable
    assert tolerance("sparse_poisson/transform") >= 2 * 6e-3  # covers the difference reported from a Xeon
    assert all(FLOOR <= tolerance(f"case/{name}") for name in SPREAD_BY_OUTPUT)


def assert_same(actual, expected, key):
    actual, expected = np.asarray(actual), np.asarray(expected)
    if (EXACT and not key.endswith("[sample]")) or actual.dtype.kind not in "fc":
        np.testing.assert_array_equal(actual, expected, err_msg=key)
        return
    assert actual.shape == expected.shape, key
    tol = tolerance(key)
    if tol != float("inf"):
        difference = scaled_difference(actual, expected)
        assert difference <= tol, f"{key}: scaled difference {difference:.3g} > tolerance {tol:.3g}"


@pytest.fixture(scope="module")
def recorded():
    with np.load(ref.OUTPUTS, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.parametrize("case", sorted(ref.cases()))
def test_refit_gives_the_recorded_outputs(case, recorded):
    model, X, y, condition = ref.cases()[case]
    model.fit(X, y, condition=condition)
    refit = split_phases({f"{case}/{key}": np.asarray(value) for key, value in ref.outputs_of(model, X, y).items()})
    expected = split_phases({key: value for key, value in recorded.items() if key.startswith(case + "/")})
    assert sorted(refit) == sorted(expected)
    for key, value in refit.items():
        assert_same(value, expected[key], key)


@pytest.mark.parametrize("case", ["sparse_poisson", "nb"])
def test_two_fits_in_one_process_are_bitwise_equal(case):
    first, second = ({}, {})
    for out in (first, second):
        model, X, y, condition = ref.cases()[case]
        model.fit(X, y, condition=condition)
        out.update(ref.outputs_of(model, X, y))
    assert sorted(first) == sorted(second)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=f"{case}/{key}")
