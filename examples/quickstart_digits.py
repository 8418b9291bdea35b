"""
Quick start: digits, beside PCA
===============================

The main job of the package in a dozen lines: fit :class:`~sivae_sklearn.SiVAE` with two latent dimensions on
scikit-learn's bundled 8x8 digits (every pixel z-scored), compare the embedding's kNN accuracy with PCA's
(5-fold stratified, k = 2 x classes, the siVAE paper's protocol), and draw what the model learned: the 2-D
embedding coloured by digit, the loadings of each latent dimension as 8x8 images (red: the pixel rises with the
dimension, blue: it falls), the feature awareness of each pixel, and the pixels with the largest loadings.

Run from the repository root (the README's command 1; writes ``figures/quickstart_digits.png``)::

    python examples/quickstart_digits.py [--out figures] [--epochs 300] [--seed 0]
"""

import argparse
import os
import time

import matplotlib.pyplot as plt
from sklearn.decomposition import PCA

from sivae_sklearn import SiVAE
from sivae_sklearn.datasets import load_digits_images
from sivae_sklearn.metrics import knn_accuracy
from sivae_sklearn.plotting import plot_embedding, plot_feature_awareness, plot_loadings

parser = argparse.ArgumentParser(description="SiVAE on the bundled digits, beside PCA.")
parser.add_argument("--out", default="figures", help="folder for the figure (default: figures)")
parser.add_argument("--epochs", type=int, default=300, help="maximum training epochs (default: 300)")
parser.add_argument("--seed", type=int, default=0, help="random_state (default: 0)")
args = parser.parse_args()

# %%
# Fit
# ---
# 1,797 images of 64 pixels; ``verbose=1`` shows a progress bar and says why training stopped.
X, y, image_shape = load_digits_images()
start = time.perf_counter()
model = SiVAE(n_components=2, max_epochs=args.epochs, random_state=args.seed, verbose=1)
Z = model.fit_transform(X)
fit_seconds = time.perf_counter() - start
Z_pca = PCA(n_components=2, random_state=args.seed).fit_transform(X)

results = {"sivae": knn_accuracy(Z, y), "pca": knn_accuracy(Z_pca, y)}
print(f"digits: {X.shape[0]} samples x {X.shape[1]} pixels, 2 latent dimensions")
print(f"SiVAE fit: {model.n_iter_} epochs in {fit_seconds:.1f} s")
print("kNN accuracy (5-fold stratified, k = 20):")
print(f"  SiVAE {results['sivae']:.3f}")
print(f"  PCA   {results['pca']:.3f}")

# %%
# What the model learned
# ----------------------
# The embedding, the loadings of both dimensions as images, the feature awareness of every pixel and the five
# most positive and negative pixels of the first dimension.
fig = plt.figure(figsize=(12, 5), layout="constrained")
grid = fig.add_gridspec(2, 3, width_ratios=[2.2, 1, 1])
ax = fig.add_subplot(grid[:, 0])
plot_embedding(model, X, y, ax=ax)
ax.set_title(f"SiVAE embedding (kNN {results['sivae']:.2f}; PCA {results['pca']:.2f})")
plot_loadings(model, image_shape=image_shape, ax=[fig.add_subplot(grid[d, 1]) for d in range(2)])
plot_feature_awareness(model, image_shape=image_shape, ax=fig.add_subplot(grid[0, 2]))
plot_loadings(model, dims=0, kind="bar", n_top=5, ax=fig.add_subplot(grid[1, 2]))
os.makedirs(args.out, exist_ok=True)
path = os.path.join(args.out, "quickstart_digits.png")
fig.savefig(path, dpi=120)
print(f"figure: {path}")
plt.show()
