"""Importance-weighted likelihoods, posterior uncertainty and latent diagnostics."""

import numpy as np
import pandas as pd
import pytest
import torch

from skvae import VAETransformer, estimator
from skvae import net as net_module
from skvae.likelihoods import gaussian_kl_per_dim


@pytest.fixture(scope="module")
def model(digits):
    X, _ = digits
    vae = VAETransformer(latent_dim=4, max_epochs=20, batch_size=64, lr=3e-3,
                         lr_schedule="constant", random_state=0)
    return vae.fit(X[:1000]), X[1000:1300]


def test_importance_weighted_bound_rises_above_the_elbo(model):
    vae, X = model
    X = X[:, None]
    elbo = np.mean([vae.net_.elbo(X, seed=s).mean() for s in range(10)])
    iw = {k: np.mean([vae.net_.importance_weighted_bound(X, k, seed=s).mean() for s in range(3)])
          for k in (10, 200)}
    assert elbo < iw[10] < iw[200]
    # The ELBO is a visibly looser bound than K = 200 samples give.
    assert iw[200] - elbo > 0.2


def test_importance_weighted_score_api(model):
    vae, X = model
    per_sample = vae.score_samples(X, n_importance=20)
    assert per_sample.shape == (len(X),) and per_sample.dtype == np.float32
    assert vae.score(X, n_importance=20) == pytest.approx(per_sample.mean())
    # Deterministic, and a sample's bound does not depend on its batch mates
    # (up to float32 rounding, which differs with the batch size).
    np.testing.assert_allclose(vae.score_samples(X[:7], n_importance=20), per_sample[:7],
                               atol=1e-4)
    with pytest.raises(ValueError, match="n_importance == 0, must be >= 1"):
        vae.score(X, n_importance=0)


def test_many_importance_samples_are_batched_exactly(model, monkeypatch):
    vae, X = model
    X = X[:5, None]
    whole = vae.net_.importance_weighted_bound(X, 300)
    # A small budget splits both the rows and the 300 samples into chunks.
    monkeypatch.setitem(net_module.INFERENCE_BATCH_SIZE, "cpu", 64)
    np.testing.assert_allclose(vae.net_.importance_weighted_bound(X, 300), whole, atol=1e-5)


def test_transform_return_std(model):
    vae, X = model
    mean, std = vae.transform(X, return_std=True)
    assert mean.shape == std.shape == (len(X), 4)
    assert np.all(std > 0)
    np.testing.assert_array_equal(mean, vae.transform(X))
    # Encoded data is more certain than the N(0, 1) prior on average.
    assert std.mean() < 1
    vae.set_output(transform="pandas")
    try:
        mean_df, std_pandas = vae.transform(X, return_std=True)
        assert isinstance(mean_df, pd.DataFrame) and list(mean_df.columns) == list(
            vae.get_feature_names_out())
        np.testing.assert_array_equal(std_pandas, std)
    finally:
        vae.set_output(transform="default")


def test_kl_per_dim_and_active_units(model, digits):
    vae, _ = model
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
    monkeypatch.setattr(estimator, "DIAGNOSTIC_ROWS", 300)
    encoded = []
    encode = net_module.VAENet.encode
    monkeypatch.setattr(net_module.VAENet, "encode",
                        lambda net, rows: encoded.append(len(rows)) or encode(net, rows))
    vae = VAETransformer(latent_dim=4, max_epochs=5, batch_size=64, lr=3e-3,
                         random_state=0).fit(X[:1000])
    assert sum(encoded) == 300
    kl_per_dim, mean_var = _code_statistics(vae, X[:1000])
    active = mean_var > 0.01
    assert vae.n_active_units_ == active.sum() >= 2
    np.testing.assert_allclose(vae.kl_per_dim_[active], kl_per_dim[active], rtol=0.15)
    # With the "gmm" sampler every code is encoded anyway, and used.
    encoded.clear()
    vae.set_params(sampler="gmm", n_sampler_components=2, warm_start=True, max_epochs=1)
    vae.fit(X[:1000])
    assert sum(encoded) == 1000
    np.testing.assert_allclose(vae.kl_per_dim_, _code_statistics(vae, X[:1000])[0],
                               rtol=1e-4, atol=1e-6)


def test_oversized_latent_collapses_and_warns(digits):
    X, _ = digits
    with pytest.warns(UserWarning, match=r"Only \d+ of 64 latent dimensions are active"):
        vae = VAETransformer(latent_dim=64, max_epochs=10, batch_size=64, lr=3e-3,
                             random_state=0).fit(X[:600])
    assert vae.n_active_units_ < 32
    inactive = vae.kl_per_dim_ < 0.01
    assert inactive.sum() >= 32


def test_gmm_sampler_draws_from_the_training_codes(digits):
    X, _ = digits
    vae = VAETransformer(latent_dim=2, sampler="gmm", n_sampler_components=5, max_epochs=5,
                         batch_size=64, random_state=0).fit(X[:500])
    assert vae.sampler_.n_components == 5
    codes = vae.transform(X[:500])
    samples = vae.sample(400, random_state=0)
    assert samples.shape == (400, 8, 8)
    np.testing.assert_array_equal(samples, vae.sample(400, random_state=0))
    # Decoded GMM draws re-encode near the training codes; prior draws need not.
    redrawn = vae.transform(samples)
    np.testing.assert_allclose(redrawn.mean(axis=0), codes.mean(axis=0), atol=0.25)
    prior = VAETransformer(latent_dim=2, max_epochs=5, batch_size=64, random_state=0).fit(X[:500])
    assert not hasattr(prior, "sampler_")
