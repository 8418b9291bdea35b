"""
The explorer in the browser
===========================

:mod:`sivae_sklearn.explorer` serves an interactive page (Dash) for a fitted model: the embedding, one slider per
latent dimension, the decoded sample at the sliders' position, and beside it the loadings of the dimension being
moved and the feature awareness of every feature. ``sivae explore MODEL DATA`` serves it from a shell.

This example fits a small model on the digits, serves the explorer on loopback in a background thread, clicks a
sample in headless Chromium (Playwright driving Debian's ``chromium`` package) and shows the screenshot. It
needs the ``explorer`` and ``docs`` extras and a ``chromium`` binary (``apt-get install chromium``, or set
``SIVAE_CHROMIUM``); without one it stops with an error saying so.

Run from the repository root::

    python examples/explorer_screenshot.py [--out docs/images/explorer.png] [--epochs 50]
"""

import argparse
import os
import shutil
import tempfile

import matplotlib.pyplot as plt
from playwright.sync_api import sync_playwright

from sivae_sklearn import SiVAE
from sivae_sklearn.datasets import load_digits_images
from sivae_sklearn.explorer import create_app, serve

parser = argparse.ArgumentParser(description="Serve the explorer and take a screenshot of it.")
parser.add_argument("--out", default=None, help="also save the screenshot to this PNG file")
parser.add_argument("--epochs", type=int, default=50, help="maximum training epochs (default: 50)")
args = parser.parse_args()

chromium = os.environ.get("SIVAE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if chromium is None:
    raise RuntimeError(
        "explorer_screenshot.py needs a chromium binary for its screenshot: apt-get install chromium "
        "(or set SIVAE_CHROMIUM to one)."
    )

# %%
# A model and the explorer, served on loopback
# --------------------------------------------
# ``serve(..., port=0)`` picks a free port; ``start_thread()`` serves in the background. From a shell,
# ``sivae explore model.sivae data.npy --image-shape 8 8`` does the same in the foreground.
X, y, shape = load_digits_images(scale="unit")
model = SiVAE(n_components=3, likelihood="bernoulli", max_epochs=args.epochs, random_state=0).fit(X)
server = serve(create_app(model, X, labels=y, image_shape=shape), host="127.0.0.1", port=0).start_thread()

# %%
# Click a sample and take a screenshot
# ------------------------------------
# Clicking a point loads its latent coordinates into the sliders; the decoded image, the loadings and the feature
# awareness follow.
screenshot = args.out or os.path.join(tempfile.mkdtemp(), "explorer.png")
flags = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
try:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.wait_for_selector("#embedding .scatterlayer .points path", timeout=60_000)
        page.wait_for_selector("#decoded .heatmaplayer, #decoded .hm", state="attached", timeout=60_000)
        point = page.locator("#embedding .scatterlayer .trace .points path").nth(17).bounding_box()
        page.mouse.click(point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)
        page.wait_for_function(
            "() => document.querySelector('#selection').innerText.startsWith('Selected sample')", timeout=30_000
        )
        page.wait_for_timeout(1000)  # let the figures redraw
        os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
        page.screenshot(path=screenshot, full_page=True)
        browser.close()
finally:
    server.shutdown()
print(f"screenshot: {screenshot}")

fig, ax = plt.subplots(figsize=(12, 9), layout="constrained")
ax.imshow(plt.imread(screenshot))
ax.axis("off")
plt.show()
