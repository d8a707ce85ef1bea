"""skvae._codes: statistics of the training codes and the "gmm" sampler."""

import numpy as np
import pytest
import torch

from skvae import VAETransformer
from skvae import _codes as code_statistics
from skvae import _net as net_module
from skvae._likelihoods import gaussian_kl_per_dim


def test_kl_per_dim_and_active_units(model_and_held_out, digits):
    vae, _ = model_and_held_out
    X, _ = digits
    assert vae.kl_per_dim_.shape == (4,) and np.all(vae.kl_per_dim_ >= 0)
    active = vae.transform(X[:1000]).var(axis=0) > 0.01
    assert vae.n_active_units_ == active.sum() >= 2
    # Active units carry information, the others sit at the prior.
    assert vae.kl_per_dim_[active].min() > 10 * vae.kl_per_dim_[~active].max(initial=0.001)


def _code_statistics(vae, X):
    """KL per latent dimension and variance of the posterior means, from every row of X."""
    mean, std = vae.transform(X, return_std=True)
    kl = gaussian_kl_per_dim(torch.from_numpy(mean), torch.from_numpy(2 * np.log(std)))
    return kl.mean(dim=0).numpy(), mean.var(axis=0)


def test_code_statistics_from_a_subset_match_the_whole_training_set(digits, monkeypatch):
    X, _ = digits
    monkeypatch.setattr(code_statistics, "DIAGNOSTIC_ROWS", 300)
    encoded = []
    encode = net_module.VAENet.encode
    monkeypatch.setattr(net_module.VAENet, "encode",
                        lambda net, rows, **kw: encoded.append(len(rows)) or encode(net, rows, **kw))
    vae = VAETransformer(n_components=4, max_epochs=5, batch_size=64, lr=3e-3,
                         sampler="prior", neighbor_weight=0, random_state=0).fit(X[:1000])
    assert sum(encoded) == 300
    kl_per_dim, mean_var = _code_statistics(vae, X[:1000])
    active = mean_var > 0.01
    assert vae.n_active_units_ == active.sum() >= 2
    np.testing.assert_allclose(vae.kl_per_dim_[active], kl_per_dim[active], rtol=0.15)
    # The "gmm" sampler is fitted to up to SAMPLER_ROWS codes, which the
    # statistics then use too.
    monkeypatch.setattr(code_statistics, "SAMPLER_ROWS", 800)
    encoded.clear()
    vae.set_params(sampler="gmm", n_sampler_components=2, warm_start=True, max_epochs=1)
    vae.fit(X[:1000])
    assert sum(encoded) == 800
    vae.fit(X[:700])
    assert sum(encoded) == 1500
    np.testing.assert_allclose(vae.kl_per_dim_, _code_statistics(vae, X[:700])[0],
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(vae.code_range_, np.quantile(vae.transform(X[:700]),
                                                            [0.01, 0.99], axis=0), rtol=1e-5)


def test_oversized_latent_collapses_and_warns(digits):
    X, _ = digits
    with pytest.warns(UserWarning, match=r"Only \d+ of 64 latent dimensions are active"):
        vae = VAETransformer(n_components=64, max_epochs=10, batch_size=64, lr=3e-3,
                             random_state=0).fit(X[:600])
    assert vae.n_active_units_ < 32
    inactive = vae.kl_per_dim_ < 0.01
    assert inactive.sum() >= 32


def test_gmm_sampler_is_the_default_and_draws_from_the_training_codes(digits):
    X, _ = digits
    vae = VAETransformer(n_components=2, n_sampler_components=5, max_epochs=5,
                         batch_size=64, random_state=0).fit(X[:500])
    assert vae.sampler_.n_components == 5
    codes = vae.transform(X[:500])
    samples = vae.sample(400, random_state=0)
    assert samples.shape == (400, 8, 8)
    np.testing.assert_array_equal(samples, vae.sample(400, random_state=0))
    # Decoded GMM draws re-encode near the training codes; prior draws need not.
    redrawn = vae.transform(samples)
    np.testing.assert_allclose(redrawn.mean(axis=0), codes.mean(axis=0), atol=0.25)
    prior = VAETransformer(n_components=2, max_epochs=5, batch_size=64, sampler="prior",
                           random_state=0).fit(X[:500])
    assert not hasattr(prior, "sampler_")


def test_merged_code_samples_stay_uniform_over_a_long_stream():
    # 100 chunks of 1,000 rows, each code the chunk's number: a kept sample
    # of the stream holds each chunk's codes in proportion to its rows.
    kept = None
    for chunk in range(100):
        new = code_statistics.CodeSample(np.full((1000, 1), float(chunk)), 1000, np.zeros(1))
        merged = new if kept is None else code_statistics.merge_samples(
            kept, new, code_statistics.SAMPLER_ROWS, seed=chunk)
        kept = code_statistics.kept(merged, seed=chunk)
    ids = kept.codes[:, 0]
    assert kept.n_rows == 100_000 and len(ids) <= code_statistics.KEPT_CODES
    assert abs(np.mean(ids < 50) - 0.5) < 0.05
    assert abs(np.mean(ids >= 90) - 0.1) < 0.03
