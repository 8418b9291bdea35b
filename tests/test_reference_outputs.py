"""Refit the recorded fixed-seed cases and compare with the committed reference outputs.

The reference was written by ``tests/data/make_reference_outputs.py``. On the
recording machine the refits are bit-identical; other machines (CPU kind, BLAS,
thread count) may round floats differently, so the comparison allows a small
tolerance. The fits are a few epochs long, so rounding cannot be amplified by
training. Set ``SIVAE_REFERENCE_EXACT=1`` to require bit-identical outputs.

One recorded series differs from the current code in the last bits by design:
the loss logged during the ``"sample"`` pretraining phase of the stepwise
schedule, whose total used to include the feature KL and subtract it again and
now leaves it out (the gradients, and so every weight, are the same).
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(DATA))

import make_reference_outputs as ref  # noqa: E402

EXACT = os.environ.get("SIVAE_REFERENCE_EXACT") == "1"


def assert_same(actual, expected, name):
    if EXACT or actual.dtype.kind not in "fc":
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.fixture(scope="module")
def recorded():
    with np.load(ref.OUTPUTS, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.parametrize("case", sorted(ref.cases()))
def test_refit_gives_the_recorded_outputs(case, recorded):
    model, X, y, condition = ref.cases()[case]
    model.fit(X, y, condition=condition)
    outputs = ref.outputs_of(model, X, y)
    expected = {k[len(case) + 1 :]: v for k, v in recorded.items() if k.startswith(case + "/")}
    assert sorted(outputs) == sorted(expected)
    sample_phase = outputs.get("history/phase", np.array([])) == "sample"
    for key, value in outputs.items():
        value = np.asarray(value)
        if key in ("history/loss", "history/val_loss") and sample_phase.any():
            np.testing.assert_allclose(value[sample_phase], expected[key][sample_phase], rtol=1e-7)
            value, expected[key] = value[~sample_phase], expected[key][~sample_phase]
        assert_same(value, expected[key], f"{case}/{key}")
