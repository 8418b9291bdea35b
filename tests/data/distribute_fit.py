"""Fit one small SiVAE under a tf.distribute strategy and save what the tests compare.

``python tests/data/distribute_fit.py MODE OUT.npz`` with MODE one of

* ``single``: no strategy (the default one);
* ``mirrored``: ``MirroredStrategy`` over two logical CPU devices, configured here,
  before TensorFlow starts (a library must never do this; a test process may);
* ``worker``: ``MultiWorkerMirroredStrategy`` from the ``TF_CONFIG`` environment
  variable (run one process per worker); worker 0 first checks that a fit
  without an integer ``random_state`` is refused.

Run by ``tests/test_distribute.py`` in subprocesses.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

PARAMS = dict(hidden_layer_sizes=(32, 16), max_epochs=4, batch_size=64, kl_warmup_steps=20, random_state=0)


def data():
    return StandardScaler().fit_transform(load_digits().data[:400]).astype(np.float32)


def main(mode: str, out: str) -> None:
    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    elif mode == "worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    from sivae_sklearn import SiVAE

    X = data()
    refused = ""
    with strategy.scope():
        if mode == "worker":
            try:
                SiVAE(2, **{**PARAMS, "random_state": None}).fit(X)
            except ValueError as exc:
                refused = str(exc)
        model = SiVAE(2, **PARAMS).fit(X)
    kernel = model._network.sample_encoder.body.kernels[0]
    copies = [v.numpy() for v in getattr(kernel, "values", [kernel])]
    np.savez(
        out,
        replicas=strategy.num_replicas_in_sync,
        variable_type=type(kernel).__name__,
        copies_equal=all(np.array_equal(copies[0], c) for c in copies),
        components=model.components_,
        embedding=model.transform(X),  # outside the strategy's scope
        score=model.score(X),
        loss=np.asarray(model.history_["loss"]),
        refused=refused,
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
