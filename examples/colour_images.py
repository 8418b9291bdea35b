"""
Colour images: loadings per channel, reconstructions in RGB
===========================================================

The siVAE tutorial runs on CIFAR-10, whose images are colour. The same plots work on any
``image_shape=(height, width, channels)``: here on a CIFAR-style set made on the spot,
:func:`~sivae_sklearn.datasets.make_colour_shapes` (16x16 RGB images of squares, discs, triangles and crosses in
six colours at random positions). With a CIFAR-10 batch file at hand, use
``X, y = read_cifar_batch("data_batch_1"); X = X / 255.0`` and ``image_shape=(32, 32, 3)`` instead
(:func:`~sivae_sklearn.datasets.read_cifar_batch` returns rows channels last).

Loadings and feature awareness are drawn summed over the channels (where a pixel matters), one panel per channel,
or as an RGB picture of their signs (grey is 0); data-space images are drawn in colour.

Run from the repository root::

    python examples/colour_images.py [--epochs 100] [--n-samples 2000]
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np

from sivae_sklearn import SiVAE, plotting
from sivae_sklearn.datasets import SHAPES, make_colour_shapes
from sivae_sklearn.metrics import knn_accuracy

parser = argparse.ArgumentParser(description="SiVAE on small colour images.")
parser.add_argument("--epochs", type=int, default=100, help="maximum training epochs (default: 100)")
parser.add_argument("--n-samples", type=int, default=2000, help="images to make (default: 2000)")
args = parser.parse_args()

# %%
# The data
# --------
X, y, shape = make_colour_shapes(args.n_samples, random_state=0)
fig, axes = plt.subplots(1, 10, figsize=(10, 1.4))
for ax, image, label in zip(axes, X, y):
    ax.imshow(image.reshape(shape))
    ax.set_title(SHAPES[label], fontsize="small")
    ax.axis("off")

# %%
# Fit
# ---
# Intensities in [0, 1]: the Bernoulli likelihood.
model = SiVAE(4, likelihood="bernoulli", hidden_layer_sizes=(256, 64), max_epochs=args.epochs, random_state=0)
Z = model.fit_transform(X)
print(f"{model.n_iter_} epochs; kNN accuracy of the shape class: {knn_accuracy(Z, y):.3f} (chance 0.25)")

# %%
# Loadings, three ways
# --------------------
plotting.plot_loadings(model, image_shape=shape)  # summed over the channels
plotting.plot_loadings(model, dims=[0, 1], image_shape=shape, channels="separate", ncols=3)
plotting.plot_loadings(model, image_shape=shape, channels="rgb")  # grey: 0; colour: where each sign pushes

# %%
# Feature awareness per channel
# -----------------------------
plotting.plot_feature_awareness(model, image_shape=shape, channels="separate")

# %%
# Reconstructions, a traversal and the manifold, in colour
# --------------------------------------------------------
# The data are intensities already, so ``rescale="clip"`` shows them as they are.
plotting.plot_reconstructions(model, X, n=8, image_shape=shape, rescale="clip")
plotting.plot_traversal(model, X[0], image_shape=shape, n_steps=7, rescale="clip")
order = np.argsort(-model.explained_variance_ratio_)
plotting.plot_manifold(model, image_shape=shape, dimensions=tuple(order[:2]), n_per_side=10, rescale="clip")
plt.show()
