"""
Generate new handwritten digits
===============================

Fits a :class:`skvae.VAETransformer` to handwritten digits, then draws new
digits from it: ``vae.sample(n)`` draws codes from a Gaussian mixture
fitted to the training codes (``sampler="gmm"``, the default), passes them
through the decoder, and returns the decoder's mean (pixel probabilities)
for each. Reconstructions of digits the model has seen show
what the code keeps of an image.

The documentation builds this page on scikit-learn's 8x8 digits, which take
seconds. The 28x28 MNIST test images take minutes::

    python examples/generate_digits.py --dataset mnist \\
        --data-home ../shared/data/mnist --epochs 10 --out figures
"""

# %%
# Options
# -------
# Run as a script, the example takes these options; the documentation
# build runs it without any.
import argparse
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skvae import VAETransformer
from skvae.datasets import load_mnist
from skvae.plotting import plot_reconstructions, plot_samples

parser = argparse.ArgumentParser(description="Generate handwritten digits with a VAE.")
parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                    help="scikit-learn's 8x8 digits (default), or the 10,000 28x28 "
                         "MNIST test images")
parser.add_argument("--data-home", default=os.environ.get("SKVAE_MNIST_DIR"),
                    help="for mnist: folder holding the MNIST t10k files, or a "
                         "scikit-learn data home (default: $SKVAE_MNIST_DIR)")
parser.add_argument("--n-samples", type=int, default=None,
                    help="train on only the first N images, for a quick run")
parser.add_argument("--epochs", type=int, default=None,
                    help="training epochs (default: 80 for digits, 10 for mnist)")
parser.add_argument("--latent-dim", type=int, default=8,
                    help="latent dimensions (default: 8)")
parser.add_argument("--n-generate", type=int, default=64,
                    help="number of digits to generate (default: 64)")
parser.add_argument("--out", type=Path, default=None,
                    help="also save the figures as PNG files in this folder")
parser.add_argument("--random-state", type=int, default=0)
args = parser.parse_args()

# %%
# Training
# --------
# On the 8x8 digits a fully connected network (``architecture="mlp"``)
# trains several times faster than the convolutional one on a CPU.
if args.dataset == "digits":
    X = (load_digits().images / 16.0).astype(np.float32)  # (n, 8, 8) in [0, 1]
    params = {"architecture": "mlp", "batch_size": 128, "lr": 3e-3}
    epochs = args.epochs or 80
else:
    X, _ = load_mnist("test", data_home=args.data_home, return_X_y=True)
    params = {"batch_size": 128}
    epochs = args.epochs or 10
X = X[:args.n_samples]

vae = VAETransformer(n_components=args.latent_dim, max_epochs=epochs,
                     random_state=args.random_state, **params)
vae.fit(X)
print(f"Fitted on {len(X)} images of shape {X.shape[1:]} for {epochs} epochs: "
      f"ELBO {vae.score(X):.2f} nats per image.")

# %%
# New digits
# ----------
# ``sample`` answers in the layout ``fit`` was given: ``(n, H, W)`` here.
generated = vae.sample(args.n_generate, random_state=args.random_state)
print(f"Generated {len(generated)} images of shape {generated.shape[1:]}, "
      f"pixel values in [{generated.min():.2f}, {generated.max():.2f}].")
samples_figure = plot_samples(vae, n=args.n_generate, random_state=args.random_state)

# %%
# Reconstructions
# ---------------
# ``inverse_transform(transform(X))``: the decoder's mean at each image's code.
reconstructions_figure = plot_reconstructions(vae, X, n=10)

# %%
# Run as a script with ``--out``, the example also saves both figures.
if args.out:
    args.out.mkdir(parents=True, exist_ok=True)
    samples_figure.savefig(args.out / "generated_digits.png", dpi=100)
    reconstructions_figure.savefig(args.out / "reconstructions.png", dpi=100)
    print(f"Wrote {args.out / 'generated_digits.png'} and {args.out / 'reconstructions.png'}")
plt.show()
