"""
Tutorial: siVAE step by step, on digits
=======================================

This tutorial follows the outline of the siVAE authors' tutorial (which uses a fetal-liver atlas) on data that
ships with scikit-learn: the 1,797 handwritten digits of 8x8 pixels. Pixels play the part of genes, images the
part of cells, so every step reads the same on single-cell data (see the PBMC example for the scanpy form).

1. what a VAE is, and what siVAE adds;
2. training, and checking that it trained;
3. the sample embedding;
4. the loadings (the feature embedding): which pixels define each dimension, neighbouring pixels;
5. feature awareness: how well the model carries each pixel, and the hub pixels.

Run it from the repository root, or download it as a notebook below::

    python examples/tutorial_digits.py [--epochs 100] [--n-components 6]
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from sivae_sklearn import SiVAE, plotting

parser = argparse.ArgumentParser(description="The siVAE tutorial on the bundled digits.")
parser.add_argument("--epochs", type=int, default=100, help="maximum training epochs (default: 100)")
parser.add_argument("--n-components", type=int, default=6, help="latent dimensions (default: 6)")
args, _ = parser.parse_known_args()  # a notebook kernel passes its own arguments
k = args.n_components
# sphinx_gallery_thumbnail_number = 2

# %%
# What a VAE is, and what siVAE adds
# ----------------------------------
# A **variational autoencoder** (VAE) learns two networks at once. The *encoder* maps a sample ``x_c`` (one
# image, or one cell) to a distribution over a small latent vector ``z_c``, a Gaussian ``q(z_c | x_c)``; the
# *decoder* maps ``z_c`` back to a distribution of the data, ``p(x_c | z_c)``. Training maximises the evidence
# lower bound: reconstruct each sample well, while a Kullback-Leibler term keeps ``q(z_c | x_c)`` close to the
# prior ``N(0, I)``. The posterior means ``z_c`` are a non-linear embedding, as PCA's scores are a linear one.
# What a plain VAE does not say is *which input features* define each latent dimension: its decoder is a stack
# of dense layers.
#
# **siVAE** (scalable, interpretable VAE; Choi, Li & Quon, *Genome Biology*, 2023) trains a second VAE, on the
# *features*. Each feature ``f`` (a pixel here, a gene in single-cell data) is embedded by the feature encoder
# into the **same** latent space, ``v_f``, and the feature decoder turns ``v_f`` into the last weight vector
# ``w_f`` of the sample decoder. The two VAEs are also tied by an interpretability term that asks
# ``x_cf ≈ z_c · v_f + b_f``, so that the feature embeddings are **loadings**: sample and feature embeddings play
# the parts of PCA's scores and components. ``SiVAE`` exposes them as PCA does: ``transform`` gives the ``z_c``,
# ``components_`` the ``v_f`` (one column per feature).
#
# The data: every pixel z-scored (the Gaussian likelihood), in a DataFrame so that the model keeps the pixels'
# names (``pixel_<row>_<column>``); names then appear in every table and figure below. The image shape is only
# for plotting.
digits = load_digits()
X = pd.DataFrame(StandardScaler().fit_transform(digits.data), columns=digits.feature_names)
y = digits.target
shape = (8, 8)
print(f"{X.shape[0]} images x {X.shape[1]} pixels, e.g. {list(X.columns[:3])}")

# %%
# Training
# --------
# ``hidden_layer_sizes`` are the widths of the encoders' layers; the decoders mirror them. By default training
# stops early when the loss on a validation set (10 % of the rows) stops improving, and keeps the best weights;
# ``max_epochs`` caps it.
model = SiVAE(k, hidden_layer_sizes=(128, 64), max_epochs=args.epochs, random_state=0)
Z = model.fit_transform(X)
print(f"trained {model.n_iter_} epochs; embedding {Z.shape}, loadings {model.components_.shape}")
print("dimension names:", list(model.get_feature_names_out()))

# %%
# The authors' tutorial checks training on its loss curves first. ``history_`` holds every loss term per epoch,
# on the training and the validation rows: the loss, its reconstruction, KL, interpretability and L2 terms, and
# ``beta``, the KL weight, which warms up from 0 (so the KL terms can rise at first). A loss still falling at the
# last epoch asks for more epochs (this page trains only a few; the script's default is 100).
plotting.plot_history(model)

# %%
# The sample embedding
# --------------------
# The posterior means ``z_c``, coloured by the digit each image shows (the model never saw the labels).
# Dimensions are not ordered by importance as PCA's are; ``explained_variance_ratio_`` ranks them, and the plot
# shows the two that explain the most. PCA's first two components beside it, for comparison.
order = np.argsort(-model.explained_variance_ratio_)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
plotting.plot_embedding(model, X, y, dims=(int(order[0]), int(order[1])), ax=axes[0])
axes[0].set_title("siVAE: the two dimensions explaining the most variance")
Z_pca = PCA(2, random_state=0).fit_transform(X)
axes[1].scatter(Z_pca[:, 0], Z_pca[:, 1], c=y, cmap="tab10", s=8)
axes[1].set(title="PCA: components 1 and 2", xlabel="PC1", ylabel="PC2")
fig.tight_layout()

# %%
# The loadings: which pixels define each dimension
# ------------------------------------------------
# ``components_[d]`` holds the feature embedding of every pixel on dimension ``d``. As images: red pixels rise
# with the dimension, blue ones fall (one colour scale for all panels).
plotting.plot_loadings(model, image_shape=shape, ncols=3)

# %%
# The share of variance each dimension explains, ranked, and the pixels of the first one with the largest
# loadings, by name: as a table (``top_features``) and as ranked bars.
best = int(order[0])
print(model.top_features(best, n=5))
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
plotting.plot_explained_variance(model, ax=axes[0])
plotting.plot_loadings(model, dims=[best], kind="bar", n_top=8, ax=[axes[1]])
fig.tight_layout()

# %%
# The feature embedding itself: every pixel is a point in the latent space, here on the same two dimensions as the
# sample embedding above, coloured by its row in the image; the pixels with the largest loadings on the first
# dimension are named.
V = model.get_feature_loadings()  # pixels x dimensions, labelled
d0, d1 = V.columns[order[0]], V.columns[order[1]]
rows = np.array([int(name.split("_")[1]) for name in V.index])
fig, ax = plt.subplots(figsize=(5.5, 4.5))
points = ax.scatter(V[d0], V[d1], c=rows, cmap="viridis", s=25)
for name in model.top_features(best, n=3)[["positive", "negative"]].to_numpy().ravel():
    ax.annotate(name, (V.loc[name, d0], V.loc[name, d1]), fontsize="x-small")
ax.margins(0.2)  # room for the names
ax.set(xlabel=d0, ylabel=d1, title="feature embedding: one point per pixel")
fig.colorbar(points, ax=ax, label="pixel row")

# %%
# Neighbouring features: pixels close to each other in the feature embedding vary together. The authors' tutorial
# infers neighbouring genes this way; here, the pixels nearest to the centre pixel ``pixel_4_4``.
print(model.feature_neighbors("pixel_4_4", n=5))

# %%
# The loadings beside PCA's components: the best absolute correlation of each siVAE dimension with a PCA
# component says how far siVAE's axes are from PCA's.
pca = PCA(k, random_state=0).fit(X)
fig, axes = plt.subplots(2, k, figsize=(2 * k, 4.2), squeeze=False)
for row, (name, comps) in enumerate((("siVAE", model.components_), ("PCA", pca.components_))):
    lim = np.abs(comps).max()
    for d in range(k):
        axes[row, d].imshow(comps[d].reshape(shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[row, d].set_xticks([])
        axes[row, d].set_yticks([])
        axes[row, d].set_title(f"{name} {d}", fontsize="small")
corr = np.abs(np.corrcoef(model.components_, pca.components_)[:k, k:])
print("best |correlation| of each siVAE dimension with a PCA component:", corr.max(axis=1).round(2))

# %%
# Feature awareness: how well the model carries each pixel
# --------------------------------------------------------
# The feature awareness of pixel ``f`` is its variance minus the mean squared error of its reconstruction,
# ``var_f - mse_f`` (``feature_awareness_``, on the training rows). It is high for pixels the model reconstructs
# well and near 0 for pixels it ignores. At the last decoder level (the reconstruction):
plotting.plot_feature_awareness(model, image_shape=shape)

# %%
# At the latent level, the awareness of the linear map ``z V^T + b`` alone: what the loadings by themselves
# explain of each pixel (here evaluated on the data ``X``).
plotting.plot_feature_awareness(model, X, layer=0, image_shape=shape)

# %%
# Hub features. The authors' tutorial scores the degree centrality of each gene in the gene network from its
# reconstruction error; ``hub_scores()`` is that score, ``1 - mse_f / var_f`` (the feature awareness relative to
# the pixel's variance), and ``feature_hubs`` ranks it. The hub pixels, and the feature awareness by name:
print(model.feature_hubs(5))
ax = plotting.plot_feature_awareness(model, n_top=20)
ax.figure.tight_layout()
plt.show()
