"""
The VAE tutorial: a 2-D latent space and the digit manifold
===========================================================

Trains a convolutional VAE with a two-dimensional latent space on
handwritten digits, as in Kingma and Welling (2014) and the Keras VAE
tutorial, then draws the two classic figures: the codes of held-out
digits, coloured by digit (the classes form clusters although the VAE
never saw a label), and the images the decoder makes from a regular grid
of codes over the plane where they lie, which morph from one digit into
the next.

This page is drawn on the MNIST test split: the first 8,000 images train
the model for 10 epochs at the default batch size (a little over a
minute on one CPU thread), and the last 2,000 are held out. That is fewer
than the 45 epochs that :class:`~skvae.VAETransformer`'s defaults
(``max_epochs="auto"``) give a 2-D map of 8,000 images, which separate
the classes better (kNN accuracy 0.945 to 0.957 of the held-out codes,
see :doc:`/benchmarks`) in four and a half times the time::

    python examples/plot_mnist_manifold.py --epochs 45 --out figures

Without MNIST (the environment variable ``SKVAE_MNIST_DIR`` names the
folder that holds it), the page falls back to scikit-learn's 8x8 digits,
which train in seconds but draw coarser figures.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skvae import VAETransformer
from skvae.datasets import load_mnist
from skvae.plotting import plot_latent_space, plot_manifold

# What the documentation build runs; as a script, ``--epochs 1`` or
# ``--n-samples 500`` change them (DATASET: "mnist" or "digits").
DATASET = "mnist" if os.environ.get("SKVAE_MNIST_DIR") else "digits"
EPOCHS = None     # None: 10 on MNIST, 80 on the digits
N_SAMPLES = None  # None: all (10,000 MNIST images, 1,797 digits)
GRID = None       # tiles per side of the manifold: 15 on MNIST, 8 on digits
OUT = None        # a folder to save the figures in
RANDOM_STATE = 0

# sphinx_gallery_start_ignore
# Run as a script, ``--name value`` replaces a setting above
# (``--n-samples 500`` sets N_SAMPLES); see _settings.py.
from _settings import override  # noqa: E402

override(globals())
# sphinx_gallery_end_ignore

# %%
# The data
# --------
# Pixel intensities in [0, 1], as images of shape ``(n, H, W)``: the VAE
# picks a convolutional network and a Bernoulli likelihood for them. The
# last fifth is held out to draw the latent space.
# :func:`~skvae.datasets.load_mnist` reads the folder
# ``$SKVAE_MNIST_DIR`` names, or downloads MNIST as scikit-learn would.
if DATASET == "mnist":
    X, y = load_mnist("test", data_home=os.environ.get("SKVAE_MNIST_DIR"),
                      return_X_y=True)
    name, epochs, grid = "MNIST", EPOCHS or 10, GRID or 15
    params = {}
else:
    digits = load_digits()
    X, y = (digits.images / 16).astype(np.float32), digits.target
    name, epochs, grid = "8x8 digit", EPOCHS or 80, GRID or 8
    # Dense layers train 8x8 images several times faster on a CPU.
    params = {"architecture": "mlp", "batch_size": 64}
X, y = X[:N_SAMPLES], y[:N_SAMPLES]
n_test = len(X) // 5
X_train, X_test, y_test = X[:-n_test], X[-n_test:], y[-n_test:]

# %%
# Training
# --------
# Two latent dimensions, so that the codes can be drawn as they are; at
# ``n_components=2`` the default ``neighbor_weight="auto"`` also trains
# the codes to keep each image's neighbors (:doc:`/user_guide/maps`).
# ``verbose=1`` would print the losses of each epoch, ``verbose=2`` adds a
# progress bar.
vae = VAETransformer(n_components=2, max_epochs=epochs,
                     random_state=RANDOM_STATE, **params)
print(f"Training on {len(X_train)} {name} images of shape {X.shape[1:]} "
      f"for {epochs} epochs...")
start = time.perf_counter()
vae.fit(X_train)
print(f"Trained in {time.perf_counter() - start:.1f} s; "
      f"ELBO on {len(X_test)} held-out images: "
      f"{vae.score(X_test):.2f} nats.")

# %%
# The latent space
# ----------------
# ``transform`` gives the posterior means of the codes.
latent_fig, ax = plt.subplots(figsize=(7, 6), layout="constrained")
plot_latent_space(vae, X_test, y_test, ax=ax)
ax.set_title(f"{len(X_test)} held-out digits in the 2-D latent space")

# %%
# The manifold
# ------------
# Codes on a grid over the box where the training codes lie
# (``code_range_``), through the decoder (``inverse_transform``).
manifold_fig, ax = plt.subplots(figsize=(8, 8), layout="constrained")
plot_manifold(vae, n=grid, ax=ax)

# %%
# Run as a script with ``--out``, the example also saves both figures.
if OUT:
    os.makedirs(OUT, exist_ok=True)
    for fig, file in [(latent_fig, "mnist_latent.png"),
                      (manifold_fig, "mnist_manifold.png")]:
        fig.savefig(os.path.join(OUT, file), dpi=100)
        print(f"Wrote {os.path.join(OUT, file)}")
plt.show()
