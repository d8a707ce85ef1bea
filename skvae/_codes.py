"""What a fit learns about its training codes: diagnostics and the sampler.

``kl_per_dim_`` and ``n_active_units_`` say which latent dimensions the
model uses, ``code_range_`` where the codes lie; ``sampler_`` (with
``sampler="gmm"``) is a Gaussian mixture of the training codes that
:meth:`skvae.VAETransformer.sample` draws from.
"""

import warnings

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from sklearn.utils.random import sample_without_replacement

from ._likelihoods import gaussian_kl_per_dim

#: Training rows read and encoded at a time for the code statistics at the end of fit.
SUMMARY_CHUNK_ROWS = 4096
#: Training rows, drawn at random, that ``kl_per_dim_``, ``n_active_units_``
#: and ``code_range_`` are estimated from when no sampler needs more.
#: The variance of an active unit's means (about 1) is then known to within
#: a few percent, far from the 0.01 that tells a collapsed unit.
DIAGNOSTIC_ROWS = 1024
#: Training rows, drawn at random, whose codes the "gmm" sampler is fitted
#: to: the mixture's ten components are then each fitted to thousands of
#: codes, while fit on a memory-mapped ``X`` of millions of rows neither
#: encodes nor holds them all.
SAMPLER_ROWS = 100_000
#: Quantiles of the training codes that ``code_range_`` gives per dimension.
CODE_RANGE_QUANTILES = (0.01, 0.99)


def summarise_codes(net, X, *, sampler, n_sampler_components, seed):
    """The fitted attributes that depend on the training codes, as a dict.

    Computed from the codes of a random subset of the training rows:
    :data:`DIAGNOSTIC_ROWS` of them, or :data:`SAMPLER_ROWS` when the
    "gmm" sampler is fitted. Rows are encoded a chunk at a time, sorted,
    so a memory-mapped ``X`` is read front to back and never held whole.
    """
    n_rows = SAMPLER_ROWS if sampler == "gmm" else DIAGNOSTIC_ROWS
    rows = np.arange(len(X))
    if len(X) > n_rows:
        # Memory O(n_rows), not O(len(X)) as a permutation would take.
        rows = np.sort(sample_without_replacement(
            len(X), n_rows, method="tracking_selection", random_state=seed))
    mu, log_var = (np.concatenate(parts) for parts in zip(
        *(net.encode(X[rows[start:start + SUMMARY_CHUNK_ROWS]])
          for start in range(0, len(rows), SUMMARY_CHUNK_ROWS))))
    kl = gaussian_kl_per_dim(torch.from_numpy(mu), torch.from_numpy(log_var))
    # Burda et al.'s definition: a unit is active when its posterior mean
    # varies across the data, Cov_x(E_q[z_u]) > 0.01.
    fitted = {"kl_per_dim_": kl.double().mean(dim=0).numpy(),
              "n_active_units_": int(np.sum(mu.var(axis=0, dtype=np.float64) > 0.01))
              if len(mu) > 1 else 0,
              "code_range_": np.quantile(mu, CODE_RANGE_QUANTILES, axis=0)}
    # A mixture needs two distinct codes, and has no more components than
    # there are; a model of one sample draws from the prior.
    distinct = len(np.unique(mu, axis=0))
    if sampler == "gmm" and distinct > 1:
        # In float64: float32 codes bunched tightly (a collapsed dimension)
        # make covariances that lose positive definiteness in float32.
        fitted["sampler_"] = GaussianMixture(min(n_sampler_components, distinct),
                                             random_state=seed).fit(mu.astype(np.float64))
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
