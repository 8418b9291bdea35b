"""
Interpreting a fitted model: the siVAE tutorial on digits
=========================================================

The siVAE tutorial on scikit-learn's bundled 8x8 digits: train, embed, read the loadings and the feature
awareness of each pixel as images, rank the dimensions, find neighbouring pixels and hub pixels, and compare the
loadings with PCA's components. The siVAE paper does this on CIFAR-10; see the colour-images example for the same
plots on colour data.

Run from the repository root::

    python examples/tutorial_digits.py [--epochs 100] [--n-components 6]
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from sivae_sklearn import SiVAE, plotting
from sivae_sklearn.datasets import load_digits_images

parser = argparse.ArgumentParser(description="The siVAE tutorial on the bundled digits.")
parser.add_argument("--epochs", type=int, default=100, help="maximum training epochs (default: 100)")
parser.add_argument("--n-components", type=int, default=6, help="latent dimensions (default: 6)")
args = parser.parse_args()
k = args.n_components

# %%
# Train
# -----
# Every pixel z-scored; the image shape is only for plotting.
X, y, shape = load_digits_images()
model = SiVAE(k, hidden_layer_sizes=(128, 64), max_epochs=args.epochs, random_state=0)
Z = model.fit_transform(X)
print(f"trained {model.n_iter_} epochs; embedding {Z.shape}")
plotting.plot_history(model)

# %%
# Embedding and reconstructions
# -----------------------------
plotting.plot_embedding(model, X, y, dims=(0, 1))
plotting.plot_reconstructions(model, X, n=8, image_shape=shape)

# %%
# Loadings: which pixels define each latent dimension
# ---------------------------------------------------
# Red pixels rise with the dimension, blue ones fall; one colour scale for all panels. The dimensions are then
# ranked by the variance they explain.
plotting.plot_loadings(model, image_shape=shape, ncols=k)
plotting.plot_explained_variance(model)
order = np.argsort(-model.explained_variance_ratio_)
print("dimensions ranked by variance explained:", [f"sivae{i}" for i in order])
print(model.top_features(int(order[0]), n=5))

# %%
# Feature awareness: how well the model carries each pixel
# --------------------------------------------------------
# At the last decoder level (the reconstruction) and at the latent level (``z V^T + b``).
plotting.plot_feature_awareness(model, image_shape=shape)
plotting.plot_feature_awareness(model, X, layer=0, image_shape=shape)

# %%
# Beside PCA
# ----------
# PCA's components on the same data; the best absolute correlation of each siVAE dimension with a PCA component
# says how far the loadings are from PCA's axes.
pca = PCA(k).fit(X)
fig, axes = plt.subplots(2, k, figsize=(2 * k, 4.2), squeeze=False)
for row, (name, comps) in enumerate((("siVAE", model.components_), ("PCA", pca.components_))):
    for d in range(k):
        lim = np.abs(comps).max()
        axes[row, d].imshow(comps[d].reshape(shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[row, d].set_xticks([])
        axes[row, d].set_yticks([])
        axes[row, d].set_title(f"{name} {d}", fontsize="small")
corr = np.abs(np.corrcoef(model.components_, pca.components_)[:k, k:])
print("best |correlation| of each siVAE dimension with a PCA component:", corr.max(axis=1).round(2))

# %%
# Neighbouring pixels and hubs
# ----------------------------
print("pixels nearest to pixel x36 in loading space:", list(model.feature_neighbors("x36", n=5).index))
print("hub pixels:", list(model.feature_hubs(5).index))
plt.show()
