"""What a fit learns about its training codes: diagnostics and the sampler.

``kl_per_dim_`` and ``n_active_units_`` say which latent dimensions the
model uses; ``sampler_`` (with ``sampler="gmm"``) is a Gaussian mixture of
the training codes that :meth:`skvae.VAETransformer.sample` draws from.
"""

import warnings

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from sklearn.utils.random import sample_without_replacement

from .likelihoods import gaussian_kl_per_dim

#: Training rows encoded at a time for the code statistics at the end of fit.
SUMMARY_CHUNK_ROWS = 65536
#: Training rows, drawn at random, that ``kl_per_dim_`` and
#: ``n_active_units_`` are estimated from when no sampler needs every code.
#: The variance of an active unit's means (about 1) is then known to within
#: a few percent, far from the 0.01 that tells a collapsed unit.
DIAGNOSTIC_ROWS = 1024


def summarise_codes(net, X, *, sampler, n_sampler_components, seed):
    """The fitted attributes that depend on the training codes, as a dict.

    The diagnostics need no more than a random subset of
    :data:`DIAGNOSTIC_ROWS` rows; the "gmm" sampler needs every code, and
    then the diagnostics use them all. Codes are encoded a chunk of rows at
    a time and reduced to float64 sums, so a memory-mapped ``X`` is never
    held whole.
    """
    if sampler != "gmm" and len(X) > DIAGNOSTIC_ROWS:
        # Memory O(DIAGNOSTIC_ROWS), not O(len(X)) as a permutation
        # would take; sorted, so a memory-mapped X is read front to back.
        X = X[np.sort(sample_without_replacement(
            len(X), DIAGNOSTIC_ROWS, method="tracking_selection", random_state=seed))]
    kl_sum = mu_sum = mu_sq_sum = 0.0
    codes = []
    for start in range(0, len(X), SUMMARY_CHUNK_ROWS):
        mu, log_var = net.encode(X[start:start + SUMMARY_CHUNK_ROWS])
        kl = gaussian_kl_per_dim(torch.from_numpy(mu), torch.from_numpy(log_var))
        kl_sum = kl_sum + kl.sum(dim=0).numpy()
        mu_sum = mu_sum + mu.sum(axis=0, dtype=np.float64)
        mu_sq_sum = mu_sq_sum + np.square(mu, dtype=np.float64).sum(axis=0)
        if sampler == "gmm":
            codes.append(mu)
    n = len(X)
    mu_var = mu_sq_sum / n - np.square(mu_sum / n)
    # Burda et al.'s definition: a unit is active when its posterior mean
    # varies across the data, Cov_x(E_q[z_u]) > 0.01.
    fitted = {"kl_per_dim_": kl_sum / n,
              "n_active_units_": int(np.sum(mu_var > 0.01)) if n > 1 else 0}
    if sampler == "gmm":
        fitted["sampler_"] = GaussianMixture(min(n_sampler_components, n),
                                             random_state=seed).fit(np.concatenate(codes))
    return fitted


def warn_if_collapsed(n_active_units, n_components, n_samples, beta):
    """Warn when fewer than half of the latent dimensions carry information."""
    if n_samples > 1 and n_active_units < n_components / 2:
        warnings.warn(
            f"Only {n_active_units} of {n_components} latent dimensions are active; "
            "the others collapsed to the prior and carry no information. Train "
            f"longer, lower beta (now {beta:g}), add a KL warm-up, or use a smaller "
            "n_components.",
            UserWarning,
            # Through fit_net and fit's _fit_context wrapper to the caller of fit.
            stacklevel=6,
        )


def draw_codes(sampler, n_samples, n_components, rng):
    """``n_samples`` codes from the prior (``sampler`` None) or the fitted mixture."""
    Z = rng.standard_normal((n_samples, n_components))
    if sampler is not None:
        # Drawn here rather than by GaussianMixture.sample, so that the
        # caller's random_state is honoured and the draws come out shuffled.
        component = rng.choice(len(sampler.weights_), size=n_samples, p=sampler.weights_)
        scale = np.linalg.cholesky(sampler.covariances_)[component]
        Z = sampler.means_[component] + np.einsum("nij,nj->ni", scale, Z)
    return Z.astype(np.float32)
