"""
Conditional generation: digits of a chosen class
================================================

A conditional SiVAE (``conditional=True``) receives the class of each image in its *decoder* (the encoder reads
only the pixels), so that after training you can choose what to generate: new digits of any class, a traversal
of each latent dimension under one class, and the decoded manifold of the latent space of each class. The
digits are scaled to [0, 1] for the Bernoulli likelihood.

Run from the repository root::

    python examples/conditional_generation.py [--epochs 200]
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np

from sivae_sklearn import SiVAE, plotting
from sivae_sklearn.datasets import load_digits_images

parser = argparse.ArgumentParser(description="Conditional SiVAE on the bundled digits.")
parser.add_argument("--epochs", type=int, default=200, help="maximum training epochs (default: 200)")
args = parser.parse_args()

# %%
# Train with the class as the decoder's condition
# -----------------------------------------------
X, y, shape = load_digits_images(scale="unit")
model = SiVAE(n_components=2, likelihood="bernoulli", conditional=True, max_epochs=args.epochs, random_state=0).fit(
    X, y
)
print(f"{model.n_iter_} epochs; conditions: {model.condition_categories_.tolist()}")

# %%
# New digits of every class
# -------------------------
# ``sample`` decodes draws from the prior N(0, I) under the chosen condition.
fig, axes = plt.subplots(10, 8, figsize=(6, 7.5))
for digit in range(10):
    for ax, image in zip(axes[digit], model.sample(8, random_state=digit, condition=digit)):
        ax.imshow(image.reshape(shape), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[digit, 0].set_ylabel(str(digit))
fig.suptitle("model.sample(8, condition=digit)")

# %%
# One latent dimension at a time, under one class
# -----------------------------------------------
# With the class fixed, the latent dimensions carry the style: slant, stroke width, size.
plotting.plot_traversal(model, dimensions=[0, 1], n_steps=9, condition=4)

# %%
# The latent manifold of two classes
# ----------------------------------
for digit in (2, 7):
    fig = plotting.plot_manifold(model, image_shape=shape, n_per_side=12, condition=digit)
    fig.axes[0].set_title(f"decoded latent manifold, condition={digit}")

# %%
# The same latent point under every class
# ---------------------------------------
z = np.zeros((10, 2))
decoded = model.inverse_transform(z, condition=np.arange(10))
fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))
for digit, (ax, image) in enumerate(zip(axes, decoded)):
    ax.imshow(image.reshape(shape), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(str(digit))
    ax.axis("off")
plt.show()
