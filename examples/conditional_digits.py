"""
Conditional generation: ask for a digit, redraw a handwriting
=============================================================

A conditional VAE (``VAETransformer(conditional=True)``, fitted on
``(X, y)``) models p(x | z, y): the label says which digit, the latent code
z everything else (slant, stroke width, size). So

* ``vae.sample(n, y=7)`` draws sevens, and
* ``vae.inverse_transform(vae.transform(X), y=k)`` keeps the style of the
  images ``X`` but redraws them as digit ``k`` ("style transfer").

The example fits one on the first 80% of the images and holds out the rest.
It then asks a judge that never saw a generated image, a
``LogisticRegression`` trained on the real training pixels, what the
generated images show, and prints the fraction it labels as the class that
was asked for, next to its accuracy on the real held-out images (the best
a generated image can hope for; chance is 10%).

The documentation builds this page with small settings: scikit-learn's 8x8
digits, or the 10,000 MNIST test images for 5 epochs when the environment
variable ``SKVAE_MNIST_DIR`` names a folder holding the MNIST test split.
At full size (the 10,000 MNIST test images, 10 epochs, a few
minutes on a laptop CPU)::

    python examples/conditional_digits.py --dataset mnist \\
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
from sklearn.linear_model import LogisticRegression

from skvae import VAETransformer
from skvae.datasets import load_mnist
from skvae.plotting import plot_conditional_samples, plot_style_transfer

MNIST_DIR = os.environ.get("SKVAE_MNIST_DIR")
DATA_NAMES = {"digits": "8x8 digit", "mnist": "MNIST"}
parser = argparse.ArgumentParser(description="Conditional generation with a VAE.")
parser.add_argument("--dataset", choices=("digits", "mnist"),
                    default="mnist" if MNIST_DIR else "digits",
                    help="scikit-learn's 8x8 digits, or the 10,000 28x28 MNIST test "
                         "images (default: mnist when $SKVAE_MNIST_DIR is set)")
parser.add_argument("--data-home", default=MNIST_DIR,
                    help="for mnist: folder holding the MNIST files, or a scikit-learn "
                         "data home (default: $SKVAE_MNIST_DIR)")
parser.add_argument("--n-samples", type=int, default=None,
                    help="use only the first N images, for a quick run")
parser.add_argument("--epochs", type=int, default=None,
                    help="training epochs (default: 60 on digits, 5 on MNIST)")
parser.add_argument("--latent-dim", type=int, default=2,
                    help="latent dimensions (default: 2: a small code leaves the "
                         "class to the label)")
parser.add_argument("--adversary-weight", type=float, default=None,
                    help="weight of the class adversary (default: the estimator's 5 on "
                         "MNIST, 0 on digits)")
parser.add_argument("--n-judge", type=int, default=100,
                    help="samples per class for the classifier to judge; twice as "
                         "many held-out images are redrawn as every class (default: 100)")
parser.add_argument("--out", type=Path, default=None,
                    help="also save the figures as PNG files in this folder")
parser.add_argument("--random-state", type=int, default=0)
args = parser.parse_args()

# %%
# Training on images and labels
# -----------------------------
if args.dataset == "mnist":
    X, y = load_mnist("test", data_home=args.data_home, return_X_y=True)
    epochs = args.epochs or 5
    params = {"adversary_weight": 5.0}
else:
    digits = load_digits()
    X, y = (digits.images / 16).astype(np.float32), digits.target
    epochs = args.epochs or 60
    # Dense layers train 8x8 images several times faster than convolutions.
    # An 8x8 digit holds little style beyond its class: the class adversary,
    # which keeps the class out of the code, would push this 2-D code all
    # the way to the prior (fit warns that no dimension is active).
    params = {"architecture": "mlp", "lr": 3e-3, "adversary_weight": 0.0}
if args.adversary_weight is not None:
    params["adversary_weight"] = args.adversary_weight
X, y = X[:args.n_samples], y[:args.n_samples]
n_test = len(X) // 5
X_train, y_train, X_test, y_test = X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:]

vae = VAETransformer(n_components=args.latent_dim, conditional=True, max_epochs=epochs,
                     batch_size=128, random_state=args.random_state, **params)
print(f"Training a conditional VAE (n_components={args.latent_dim}) on {len(X_train)} "
      f"{DATA_NAMES[args.dataset]} images for {epochs} epochs...")
start = time.perf_counter()
vae.fit(X_train, y_train)
print(f"Trained in {time.perf_counter() - start:.1f} s; log p(x | y) >= "
      f"{vae.score(X_test, y_test):.2f} nats (ELBO) on {len(X_test)} held-out images.")

# %%
# Style transfer
# --------------
# Each held-out digit (first column), encoded, then decoded as every class.
transfer_figure = plot_style_transfer(vae, X_test[:8])

# %%
# Samples of each class
# ---------------------
samples_figure = plot_conditional_samples(vae, n_per_class=8,
                                          random_state=args.random_state)

# %%
# What a classifier of real digits reads in them
# ----------------------------------------------
judge = LogisticRegression(max_iter=500)
judge.fit(X_train.reshape(len(X_train), -1), y_train)


def labelled_as_asked(images, asked):
    """Fraction of ``images`` the judge labels as the class asked for."""
    return float(np.mean(judge.predict(images.reshape(len(images), -1)) == asked))


classes = vae.classes_
rng = np.random.RandomState(args.random_state)
samples = np.concatenate([vae.sample(args.n_judge, random_state=rng, y=k) for k in classes])
asked_samples = np.repeat(classes, args.n_judge)
n_redraw = min(len(X_test), 2 * args.n_judge)
codes = vae.transform(X_test[:n_redraw])
transfers = np.concatenate([vae.inverse_transform(codes, y=k) for k in classes])
asked_transfers = np.repeat(classes, n_redraw)

print(f"Judge: LogisticRegression trained on the {len(X_train)} real training "
      "images (chance: 10%)")
rows = [
    ("real held-out images, labelled correctly",
     judge.score(X_test.reshape(len(X_test), -1), y_test), f"{len(X_test)} images"),
    ("samples, labelled as the class asked for",
     labelled_as_asked(samples, asked_samples),
     f"{args.n_judge} per class x {len(classes)} classes"),
    ("style transfers, labelled as the class asked for",
     labelled_as_asked(transfers, asked_transfers),
     f"{n_redraw} held-out images x {len(classes)} classes"),
]
for what, fraction, n in rows:
    print(f"  {what:<50} {fraction:6.1%}  ({n})")

# %%
# Run as a script with ``--out``, the example also saves both figures.
if args.out:
    args.out.mkdir(parents=True, exist_ok=True)
    transfer_figure.savefig(args.out / "conditional_transfer.png", dpi=100)
    samples_figure.savefig(args.out / "conditional_samples.png", dpi=100)
    print(f"Wrote {args.out / 'conditional_transfer.png'} and "
          f"{args.out / 'conditional_samples.png'}")
plt.show()
