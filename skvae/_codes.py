"""What the training codes say of a fitted model: diagnostics and the sampler.

The KL per dimension and the number of active units say which latent
dimensions the model uses, the code range where the codes lie; the "gmm"
sampler is a Gaussian mixture of the training codes that ``sample`` draws
from. Each is computed from a *code sample*: the codes of a uniform random
sample of all the rows the model was trained on, which a stream of
``partial_fit`` calls keeps up to date in bounded memory (older codes are
those the encoder gave when their rows were seen).
"""

from collections import namedtuple

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from sklearn.utils.random import sample_without_replacement

from ._data import chunk_rows
from ._likelihoods import gaussian_kl_per_dim

#: Training rows, drawn at random, that the diagnostics are estimated from
#: when no sampler needs more. The variance of an active unit's means
#: (about 1) is then known to within a few percent, far from the 0.01 that
#: tells a collapsed unit.
DIAGNOSTIC_ROWS = 1024
#: Training rows, drawn at random, whose codes the "gmm" sampler is fitted
#: to: the mixture's ten components are then each fitted to thousands of
#: codes, while fit on a memory-mapped ``X`` of millions of rows neither
#: encodes nor holds them all.
SAMPLER_ROWS = 100_000
#: Codes a fitted model keeps for later ``partial_fit`` calls to merge
#: their own with: enough for the mixture and the quantiles, a small part
#: of the model's size.
KEPT_CODES = 5_000
#: Quantiles of the training codes that ``code_range_`` gives per dimension.
CODE_RANGE_QUANTILES = (0.01, 0.99)

#: The codes of a uniform sample of ``n_rows`` training rows, and the mean
#: KL per dimension over those rows.
CodeSample = namedtuple("CodeSample", ["codes", "n_rows", "kl_per_dim"])

#: What the code sample says: the fitted attributes ``kl_per_dim_``,
#: ``n_active_units_``, ``code_range_`` and ``sampler_`` (None: the prior).
CodeStatistics = namedtuple("CodeStatistics",
                            ["kl_per_dim", "n_active_units", "code_range", "sampler"])


def encode_sample(net, X, n_rows, seed):
    """The :class:`CodeSample` of up to ``n_rows`` random rows of ``X``.

    Rows are encoded a chunk at a time, sorted, so a memory-mapped ``X`` is
    read front to back and never held whole. Raises ``FloatingPointError``
    when a code is not finite.
    """
    rows = np.arange(len(X))
    if len(X) > n_rows:
        # Memory O(n_rows), not O(len(X)) as a permutation would take.
        rows = np.sort(sample_without_replacement(
            len(X), n_rows, method="tracking_selection", random_state=seed))
    step = chunk_rows(np.prod(X.shape[1:]))
    mu, log_var = (np.concatenate(parts) for parts in zip(
        *(net.encode(X[rows[start:start + step]]) for start in range(0, len(rows), step))))
    if not (np.isfinite(mu).all() and np.isfinite(log_var).all()):
        raise FloatingPointError("The trained encoder gives non-finite codes.")
    kl = gaussian_kl_per_dim(torch.from_numpy(mu), torch.from_numpy(log_var))
    return CodeSample(mu, len(X), kl.double().mean(dim=0).numpy())


def merge_samples(old, new, size, seed):
    """One :class:`CodeSample` of up to ``size`` codes for the rows of both.

    Each part gives codes in proportion to the rows it stands for (a
    hypergeometric draw, as if ``size`` rows were drawn from all of them),
    so the result is a uniform sample of all the rows, however long the
    stream and whichever way it is sorted.
    """
    rng = np.random.default_rng(seed)
    n_rows = old.n_rows + new.n_rows
    # No larger than each part can fill with its share: topping one part up
    # for the other would tilt the sample towards the newest rows.
    size = int(min([size] + [len(part.codes) * n_rows / part.n_rows
                             for part in (old, new) if part.n_rows]))
    if n_rows < 10**9:
        drawn = rng.hypergeometric(new.n_rows, old.n_rows, size)
    else:  # beyond numpy's hypergeometric; drawing with replacement is as good there
        drawn = rng.binomial(size, new.n_rows / n_rows)
    from_new = min(len(new.codes), int(drawn))
    from_old = min(len(old.codes), size - from_new)
    codes = np.concatenate([
        part.codes[rng.choice(len(part.codes), k, replace=False)]
        for part, k in ((old, from_old), (new, from_new))])
    kl = (old.kl_per_dim * old.n_rows + new.kl_per_dim * new.n_rows) / n_rows
    return CodeSample(codes, n_rows, kl)


def kept(sample, seed):
    """``sample`` cut to :data:`KEPT_CODES` codes, still uniform over its rows."""
    if len(sample.codes) <= KEPT_CODES:
        return sample
    rows = np.random.default_rng(seed).choice(len(sample.codes), KEPT_CODES, replace=False)
    return sample._replace(codes=sample.codes[np.sort(rows)])


def code_statistics(sample, *, sampler, n_sampler_components, seed):
    """The :class:`CodeStatistics` of a :class:`CodeSample`."""
    mu = sample.codes
    # Burda et al.'s definition: a unit is active when its posterior mean
    # varies across the data, Cov_x(E_q[z_u]) > 0.01.
    n_active = int(np.sum(mu.var(axis=0, dtype=np.float64) > 0.01)) if len(mu) > 1 else 0
    mixture = None
    # A mixture needs two distinct codes, and has no more components than
    # there are; a model of one sample draws from the prior.
    distinct = len(np.unique(mu, axis=0))
    if sampler == "gmm" and distinct > 1:
        # In float64: float32 codes bunched tightly (a collapsed dimension)
        # make covariances that lose positive definiteness in float32.
        mixture = GaussianMixture(min(n_sampler_components, distinct),
                                  random_state=seed).fit(mu.astype(np.float64))
    return CodeStatistics(sample.kl_per_dim, n_active,
                          np.quantile(mu, CODE_RANGE_QUANTILES, axis=0), mixture)


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
