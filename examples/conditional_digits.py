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
At full size (the 10,000 MNIST test images, 10 epochs, a few minutes on
a laptop CPU)::

    python examples/conditional_digits.py --dataset mnist --epochs 10
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from skvae import VAETransformer
from skvae.datasets import load_mnist
from skvae.plotting import plot_conditional_samples, plot_style_transfer

# What the documentation build runs; as a script, ``--epochs 1`` or
# ``--n-samples 300`` change them (DATASET: "mnist" or "digits").
DATASET = "mnist" if os.environ.get("SKVAE_MNIST_DIR") else "digits"
EPOCHS = None            # None: 5 on MNIST, 60 on the digits
N_SAMPLES = None         # None: all images
LATENT_DIM = 2           # a small code leaves the class to the label
ADVERSARY_WEIGHT = None  # None: 5 (the default) on MNIST, 0 on digits
N_JUDGE = 100            # samples per class for the judge
OUT = None               # a folder to save the figures in
RANDOM_STATE = 0

# sphinx_gallery_start_ignore
# Run as a script, ``--name value`` replaces a setting above
# (``--n-samples 500`` sets N_SAMPLES); see _settings.py.
from _settings import override  # noqa: E402

override(globals())
# sphinx_gallery_end_ignore

# %%
# Training on images and labels
# -----------------------------
if DATASET == "mnist":
    X, y = load_mnist("test", data_home=os.environ.get("SKVAE_MNIST_DIR"),
                      return_X_y=True)
    name, epochs = "MNIST", EPOCHS or 5
    params = {"adversary_weight": 5.0}
else:
    digits = load_digits()
    X, y = (digits.images / 16).astype(np.float32), digits.target
    name, epochs = "8x8 digit", EPOCHS or 60
    # Dense layers train 8x8 images several times faster than convolutions.
    # An 8x8 digit holds little style beyond its class: the class adversary,
    # which keeps the class out of the code, would push this 2-D code all
    # the way to the prior (fit warns that no dimension is active).
    params = {"architecture": "mlp", "lr": 3e-3, "adversary_weight": 0.0}
if ADVERSARY_WEIGHT is not None:
    params["adversary_weight"] = float(ADVERSARY_WEIGHT)
X, y = X[:N_SAMPLES], y[:N_SAMPLES]
n_test = len(X) // 5
X_train, y_train = X[:-n_test], y[:-n_test]
X_test, y_test = X[-n_test:], y[-n_test:]

vae = VAETransformer(n_components=LATENT_DIM, conditional=True,
                     max_epochs=epochs, batch_size=128,
                     random_state=RANDOM_STATE, **params)
print(f"Training a conditional VAE (n_components={LATENT_DIM}) on "
      f"{len(X_train)} {name} images for {epochs} epochs...")
start = time.perf_counter()
vae.fit(X_train, y_train)
print(f"Trained in {time.perf_counter() - start:.1f} s; log p(x | y) >= "
      f"{vae.score(X_test, y_test):.2f} nats (ELBO) on {len(X_test)} "
      "held-out images.")

# %%
# Style transfer
# --------------
# Each held-out digit (first column), encoded, then decoded as every class.
transfer_figure = plot_style_transfer(vae, X_test[:8])

# %%
# Samples of each class
# ---------------------
samples_figure = plot_conditional_samples(vae, n_per_class=8,
                                          random_state=RANDOM_STATE)

# %%
# What a classifier of real digits reads in them
# ----------------------------------------------
judge = LogisticRegression(max_iter=500)
judge.fit(X_train.reshape(len(X_train), -1), y_train)


def labelled_as_asked(images, asked):
    """Fraction of ``images`` the judge labels as the class asked for."""
    predicted = judge.predict(images.reshape(len(images), -1))
    return float(np.mean(predicted == asked))


classes = vae.classes_
rng = np.random.RandomState(RANDOM_STATE)
samples = np.concatenate([vae.sample(N_JUDGE, random_state=rng, y=k)
                          for k in classes])
asked_samples = np.repeat(classes, N_JUDGE)
n_redraw = min(len(X_test), 2 * N_JUDGE)
codes = vae.transform(X_test[:n_redraw])
transfers = np.concatenate([vae.inverse_transform(codes, y=k)
                            for k in classes])
asked_transfers = np.repeat(classes, n_redraw)

print(f"Judge: LogisticRegression trained on the {len(X_train)} real training "
      "images (chance: 10%)")
rows = [
    ("real held-out images, labelled correctly",
     judge.score(X_test.reshape(len(X_test), -1), y_test),
     f"{len(X_test)} images"),
    ("samples, labelled as the class asked for",
     labelled_as_asked(samples, asked_samples),
     f"{N_JUDGE} per class x {len(classes)} classes"),
    ("style transfers, labelled as the class asked for",
     labelled_as_asked(transfers, asked_transfers),
     f"{n_redraw} held-out images x {len(classes)} classes"),
]
for what, fraction, n in rows:
    print(f"  {what:<50} {fraction:6.1%}  ({n})")

# %%
# Run as a script with ``--out``, the example also saves both figures.
if OUT:
    os.makedirs(OUT, exist_ok=True)
    for fig, file in [(transfer_figure, "conditional_transfer.png"),
                      (samples_figure, "conditional_samples.png")]:
        fig.savefig(os.path.join(OUT, file), dpi=100)
        print(f"Wrote {os.path.join(OUT, file)}")
plt.show()
