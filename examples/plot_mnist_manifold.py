"""
The VAE tutorial: a 2-D latent space and the digit manifold
===========================================================

Trains a convolutional VAE with a two-dimensional latent space on
handwritten digits, as in Kingma and Welling (2014) and the Keras VAE
tutorial, then draws the two classic figures: the codes of held-out digits,
coloured by digit (the classes form clusters although the VAE never saw a
label), and the images the decoder makes from a regular grid of codes
over the plane where they lie, which morph from one digit into the next.

The documentation builds this page on scikit-learn's 8x8 digits, in
seconds, unless the environment variable ``SKVAE_MNIST_DIR`` names a folder
holding the MNIST test split: then it draws the README's figure, from the
10,000 MNIST test images and 10 epochs (about a minute on two CPU cores).
That run, as a script::

    python examples/plot_mnist_manifold.py --dataset mnist \\
        --data-home ../shared/data/mnist --epochs 10 --out figures
"""

# %%
# Options
# -------
# Run as a script, the example takes these options; the documentation
# build runs it without any.
import argparse
import os
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skvae import VAETransformer
from skvae.datasets import load_mnist
from skvae.plotting import plot_latent_space, plot_manifold

MNIST_DIR = os.environ.get("SKVAE_MNIST_DIR")
DATA_NAMES = {"digits": "8x8 digit", "mnist": "MNIST"}
parser = argparse.ArgumentParser(description="A 2-D VAE's latent space and digit manifold.")
parser.add_argument("--dataset", choices=("digits", "mnist"),
                    default="mnist" if MNIST_DIR else "digits",
                    help="scikit-learn's 8x8 digits, or the 10,000 28x28 MNIST test "
                         "images (default: mnist when $SKVAE_MNIST_DIR is set)")
parser.add_argument("--data-home", default=MNIST_DIR,
                    help="for mnist: folder holding the MNIST files, or a scikit-learn "
                         "data home (default: $SKVAE_MNIST_DIR)")
parser.add_argument("--subset", choices=("test", "train"), default="test",
                    help="for mnist: the split to use (default: test, the 10,000 t10k "
                         "images; train needs the 60,000 training images)")
parser.add_argument("--n-samples", type=int, default=None,
                    help="use only the first N images, for a quick run")
parser.add_argument("--epochs", type=int, default=None,
                    help="training epochs (default: 40 on digits, 10 on MNIST)")
parser.add_argument("--grid", type=int, default=None,
                    help="images per side of the manifold (default: 10 on digits, "
                         "15 on MNIST)")
parser.add_argument("--out", type=Path, default=None,
                    help="also save the figures as PNG files in this folder")
parser.add_argument("--random-state", type=int, default=0)
args = parser.parse_args()

# %%
# The data
# --------
# Pixel intensities in [0, 1], as images of shape ``(n, H, W)``: the VAE
# picks a convolutional network and a Bernoulli likelihood for them. The
# last fifth is held out to draw the latent space.
if args.dataset == "mnist":
    X, y = load_mnist(args.subset, data_home=args.data_home, return_X_y=True)
    epochs, grid = args.epochs or 10, args.grid or 15
else:
    digits = load_digits()
    X, y = (digits.images / 16).astype(np.float32), digits.target
    epochs, grid = args.epochs or 40, args.grid or 10
X, y = X[:args.n_samples], y[:args.n_samples]
n_test = len(X) // 5
X_train, X_test, y_test = X[:-n_test], X[-n_test:], y[-n_test:]

# %%
# Training
# --------
# Two latent dimensions, so that the codes can be drawn as they are.
vae = VAETransformer(n_components=2, max_epochs=epochs, batch_size=128,
                     random_state=args.random_state)
print(f"Training on {len(X_train)} {DATA_NAMES[args.dataset]} images of shape {X.shape[1:]} "
      f"for {epochs} epochs...")
start = time.perf_counter()
vae.fit(X_train)
print(f"Trained in {time.perf_counter() - start:.1f} s; "
      f"ELBO on {len(X_test)} held-out images: {vae.score(X_test):.2f} nats.")

# %%
# The latent space
# ----------------
# ``transform`` gives the posterior means of the codes.
ax = plot_latent_space(vae, X_test, y_test)
ax.set_title(f"{len(X_test)} held-out digits in the 2-D latent space")
latent_figure = ax.figure

# %%
# The manifold
# ------------
# Codes on a grid over the box where the training codes lie (``code_range_``),
# through the decoder (``inverse_transform``).
manifold_figure = plot_manifold(vae, n=grid).figure

# %%
# Run as a script with ``--out``, the example also saves both figures.
if args.out:
    args.out.mkdir(parents=True, exist_ok=True)
    latent_figure.savefig(args.out / "mnist_latent.png", dpi=100)
    manifold_figure.savefig(args.out / "mnist_manifold.png", dpi=100)
    print(f"Wrote {args.out / 'mnist_latent.png'} and {args.out / 'mnist_manifold.png'}")
plt.show()
