"""
Anomaly detection with a VAE: find the nines among digits it never saw
======================================================================

A VAE is a density model: ``vae.score_samples(X)`` is a lower bound on
log p(x) for each image, and an image the model finds unlikely is a
candidate anomaly. This example fits a VAE on the digits 0 to 8 only, then
ranks held-out digits, nines included, by ``-score_samples``: ideally the
nines come first. It prints the ROC AUC of four anomaly scores side by side
(0.5 is chance, 1 a perfect ranking):

* skvae's ELBO, ``score_samples(X)`` (K=1 posterior sample);
* skvae's importance-weighted bound with K=100 samples,
  ``score_samples(X, n_importance=100)``, a tighter bound on log p(x);
* the exact log-likelihood of probabilistic PCA
  (``PCA(n_components=16).score_samples``) fitted on the same images;
* ``IsolationForest``, a non-density baseline, on the raw pixels.

Expect sobering numbers: on MNIST, AUCs not far from 0.5 for every method
(a 30-epoch run on the 10,000 test images gave 0.62, 0.56, 0.45 and 0.36).
Nines are a hard case, since a nine is a four or a seven with a closed or
curled stroke, so a good density of the other digits gives many nines a
high likelihood too. Likelihoods also rate simple images (few, thin
strokes) above complex ones whatever their class, so a low likelihood
flags an odd image, not reliably a new class (nor always another data set:
Nalisnick et al., "Do deep generative models know what they don't know?",
2019).

The documentation builds this page with small settings: scikit-learn's 8x8
digits, or the 10,000 MNIST test images for 5 epochs when the environment
variable ``SKVAE_MNIST_DIR`` names a folder holding the MNIST test split.
At full size::

    python examples/anomaly_detection.py --dataset mnist --epochs 10
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import RocCurveDisplay, roc_auc_score

from skvae import VAETransformer
from skvae.datasets import load_mnist

ANOMALY = 9

# What the documentation build runs; as a script, ``--epochs 1`` or
# ``--n-samples 300`` change them (DATASET: "mnist" or "digits").
DATASET = "mnist" if os.environ.get("SKVAE_MNIST_DIR") else "digits"
EPOCHS = None       # None: 5 on MNIST, 60 on the digits
N_SAMPLES = None    # None: all images
LATENT_DIM = 16     # latent dimensions of the VAE
N_COMPONENTS = 16   # components of the PCA baseline
N_IMPORTANCE = 100  # posterior samples K of the tighter bound
OUT = None          # a folder to save the figure in
RANDOM_STATE = 0

# sphinx_gallery_start_ignore
# Run as a script, ``--name value`` replaces a setting above
# (``--n-samples 500`` sets N_SAMPLES); see _settings.py.
from _settings import override  # noqa: E402

override(globals())
# sphinx_gallery_end_ignore

# %%
# A model of the digits 0 to 8
# ----------------------------
# The first 80% of the images, without their nines, train it; the last
# 20%, all ten digits, are ranked.
if DATASET == "mnist":
    X, y = load_mnist("test", data_home=os.environ.get("SKVAE_MNIST_DIR"),
                      return_X_y=True)
    name, epochs = "MNIST", EPOCHS or 5
    params = {"batch_size": 128}
else:
    digits = load_digits()
    X, y = (digits.images / 16).astype(np.float32), digits.target
    name, epochs = "8x8 digit", EPOCHS or 60
    params = {"architecture": "mlp", "batch_size": 128, "lr": 3e-3}
X, y = X[:N_SAMPLES], y[:N_SAMPLES]
n_test = len(X) // 5
X_train, y_train = X[:-n_test], y[:-n_test]
X_test, y_test = X[-n_test:], y[-n_test:]
X_train = X_train[y_train != ANOMALY]  # the model never sees a nine
is_anomaly = y_test == ANOMALY
flat_train = X_train.reshape(len(X_train), -1)
flat_test = X_test.reshape(n_test, -1)

vae = VAETransformer(n_components=LATENT_DIM, max_epochs=epochs,
                     random_state=RANDOM_STATE, **params)
print(f"Training on {len(X_train)} {name} images of the digits 0-8 "
      f"for {epochs} epochs...")
start = time.perf_counter()
vae.fit(X_train)
print(f"Trained in {time.perf_counter() - start:.1f} s.")

# %%
# Four anomaly scores
# -------------------
# Higher means more anomalous, so each is minus a log-density (or, for the
# forest, minus its normality score).
K = N_IMPORTANCE
scores = {"skvae ELBO (K=1)": -vae.score_samples(X_test)}
start = time.perf_counter()
scores[f"skvae bound (K={K})"] = -vae.score_samples(X_test, n_importance=K)
print(f"Importance-weighted bound with K={K} in "
      f"{time.perf_counter() - start:.1f} s.")
pca = PCA(n_components=N_COMPONENTS, random_state=RANDOM_STATE)
pca.fit(flat_train)
scores[f"PCA ({N_COMPONENTS} components)"] = -pca.score_samples(flat_test)
forest = IsolationForest(random_state=RANDOM_STATE).fit(flat_train)
scores["IsolationForest"] = -forest.score_samples(flat_test)

print(f"Ranking {n_test} held-out images, {is_anomaly.sum()} of them nines "
      "(the anomalies), by each score:")
print(f"  {'method':<28} {'ROC AUC':>7}")
for method, score in scores.items():
    print(f"  {method:<28} {roc_auc_score(is_anomaly, score):7.3f}")

# %%
# ROC curves, and where the nines fall
# ------------------------------------
# The histogram shows how far the skvae scores of the nines stand apart
# from those of the other digits.
fig, (ax_roc, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.5),
                                      layout="constrained")
for method, score in scores.items():
    RocCurveDisplay.from_predictions(is_anomaly, score, name=method,
                                     ax=ax_roc)
ax_roc.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1)
ax_roc.set_title("Nines as anomalies: ROC curves")
vae_bound = scores[f"skvae bound (K={K})"]
bins = np.histogram_bin_edges(vae_bound, bins=40)
ax_hist.hist(vae_bound[~is_anomaly], bins=bins, alpha=0.6, density=True,
             label="digits 0-8")
ax_hist.hist(vae_bound[is_anomaly], bins=bins, alpha=0.6, density=True,
             label="nines")
ax_hist.set_xlabel(f"-log p(x) bound, K={K} (nats)")
ax_hist.set_ylabel("density")
ax_hist.set_title("skvae anomaly scores of held-out digits")
ax_hist.legend()

# %%
# Run as a script with ``--out``, the example also saves the figure.
if OUT:
    os.makedirs(OUT, exist_ok=True)
    fig.savefig(os.path.join(OUT, "anomaly_roc.png"), dpi=100)
    print(f"Wrote {os.path.join(OUT, 'anomaly_roc.png')}")
plt.show()
