"""
Generate new handwritten digits
===============================

Fits a :class:`skvae.VAETransformer` to handwritten digits, then draws new
digits from it: ``vae.sample(n)`` draws codes from a Gaussian mixture
fitted to the training codes (``sampler="gmm"``, the default), passes them
through the decoder, and returns the decoder's mean (pixel probabilities)
for each. Reconstructions of digits the model has seen show what the code
keeps of an image.

The documentation builds this page on scikit-learn's 8x8 digits, which
take seconds. The 28x28 MNIST test images (in the folder
``$SKVAE_MNIST_DIR`` names) take minutes::

    python examples/generate_digits.py --dataset mnist --out figures
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skvae import VAETransformer
from skvae.datasets import load_mnist
from skvae.plotting import plot_reconstructions, plot_samples

# What the documentation build runs; as a script, ``--epochs 1`` or
# ``--dataset mnist`` change them.
DATASET = "digits"  # or "mnist"
EPOCHS = None       # None: 80 on the digits, 10 on MNIST
N_SAMPLES = None    # None: all images
LATENT_DIM = 8
N_GENERATE = 64     # digits to generate
OUT = None          # a folder to save the figures in
RANDOM_STATE = 0

# sphinx_gallery_start_ignore
# Run as a script, ``--name value`` replaces a setting above
# (``--n-samples 500`` sets N_SAMPLES); see _settings.py.
from _settings import override  # noqa: E402

override(globals())
# sphinx_gallery_end_ignore

# %%
# Training
# --------
# On the 8x8 digits a fully connected network (``architecture="mlp"``)
# trains several times faster than the convolutional one on a CPU.
if DATASET == "digits":
    X = (load_digits().images / 16.0).astype(np.float32)  # in [0, 1]
    params = {"architecture": "mlp", "batch_size": 128, "lr": 3e-3}
    epochs = EPOCHS or 80
else:
    X, _ = load_mnist("test", data_home=os.environ.get("SKVAE_MNIST_DIR"),
                      return_X_y=True)
    params = {"batch_size": 128}
    epochs = EPOCHS or 10
X = X[:N_SAMPLES]

vae = VAETransformer(n_components=LATENT_DIM, max_epochs=epochs,
                     random_state=RANDOM_STATE, **params)
vae.fit(X)
print(f"Fitted on {len(X)} images of shape {X.shape[1:]} for {epochs} "
      f"epochs: ELBO {vae.score(X):.2f} nats per image.")

# %%
# New digits
# ----------
# ``sample`` answers in the layout ``fit`` was given: ``(n, H, W)`` here.
generated = vae.sample(N_GENERATE, random_state=RANDOM_STATE)
print(f"Generated {len(generated)} images of shape {generated.shape[1:]}, "
      f"pixel values in [{generated.min():.2f}, {generated.max():.2f}].")
samples_fig = plot_samples(vae, n=N_GENERATE, random_state=RANDOM_STATE)

# %%
# Reconstructions
# ---------------
# ``inverse_transform(transform(X))``: the decoder's mean at each image's
# code.
reconstructions_fig = plot_reconstructions(vae, X, n=10)

# %%
# Run as a script with ``--out``, the example also saves both figures.
if OUT:
    os.makedirs(OUT, exist_ok=True)
    for fig, file in [(samples_fig, "generated_digits.png"),
                      (reconstructions_fig, "reconstructions.png")]:
        fig.savefig(os.path.join(OUT, file), dpi=100)
        print(f"Wrote {os.path.join(OUT, file)}")
plt.show()
