"""VAETransformer inference: transform, inverse_transform, sample, score_samples and score."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skvae import VAETransformer



def test_not_fitted_errors():
    vae = VAETransformer()
    for call in (lambda: vae.transform(np.zeros((2, 4))),
                 lambda: vae.inverse_transform(np.zeros((2, 2))),
                 lambda: vae.sample(2),
                 lambda: vae.score(np.zeros((2, 4))),
                 lambda: vae.get_feature_names_out()):
        with pytest.raises(NotFittedError):
            call()


def test_transform_is_deterministic_posterior_mean(fitted_digits, digits):
    X, _ = digits
    np.testing.assert_array_equal(fitted_digits.transform(X[:50]), fitted_digits.transform(X[:50]))
    mu, _ = fitted_digits.net_.encode(X[:50, None])
    np.testing.assert_array_equal(fitted_digits.transform(X[:50]), mu)


def test_transform_return_std(model_and_held_out):
    vae, X = model_and_held_out
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


@pytest.mark.parametrize(
    "Z, message",
    [
        (np.ones((3, 3)), r"Z has 3 columns but the model has 2 latent dimensions"),
        (np.array([[0.0, np.nan]]), "Input Z contains NaN"),
        (np.array([[0.0, np.inf]]), "Input Z contains infinity"),
        (np.ones(2), "Expected 2D array"),
    ],
)
def test_bad_codes_to_inverse_transform(fitted_30, Z, message):
    with pytest.raises(ValueError, match=message):
        fitted_30.inverse_transform(Z)


def test_sample_is_reproducible_and_varies(fitted_digits):
    a = fitted_digits.sample(4, random_state=0)
    np.testing.assert_array_equal(a, fitted_digits.sample(4, random_state=0))
    assert not np.allclose(a, fitted_digits.sample(4, random_state=1))


@pytest.mark.parametrize("n", [-1, 0])
def test_sample_needs_a_positive_count(fitted_30, n):
    with pytest.raises(ValueError, match=f"n_samples == {n}, must be >= 1"):
        fitted_30.sample(n)


def test_sample_refuses_a_bool_count(fitted_digits):
    with pytest.raises(TypeError, match="n_samples must be an int >= 1, not the bool True"):
        fitted_digits.sample(True)


def test_elbo_is_log_likelihood_minus_kl(fitted_digits, digits):
    """score_samples is sum_pixels log p(x|z) - KL with std = exp(log_var / 2)."""
    X, _ = digits
    x = torch.from_numpy(X[:20, None])
    module = fitted_digits.net_.module_
    with torch.no_grad():
        mu, log_var = module.encoder(x)
        eps = torch.randn((1, 1, 2), generator=torch.Generator().manual_seed(0))
        z = mu + torch.exp(log_var / 2) * eps[0]
        logits = module.decoder(z)
        log_lik = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits, x, reduction="none").sum(dim=(1, 2, 3))
        kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(dim=1)
    np.testing.assert_allclose(fitted_digits.score_samples(X[:20]), (log_lik - kl).numpy(),
                               rtol=1e-5)


def test_importance_weighted_score_api(model_and_held_out):
    vae, X = model_and_held_out
    per_sample = vae.score_samples(X, n_importance=20)
    assert per_sample.shape == (len(X),) and per_sample.dtype == np.float32
    assert vae.score(X, n_importance=20) == pytest.approx(per_sample.mean())
    # Deterministic, and a sample's bound does not depend on its batch mates
    # (up to float32 rounding, which differs with the batch size).
    np.testing.assert_allclose(vae.score_samples(X[:7], n_importance=20), per_sample[:7],
                               atol=1e-4)
    with pytest.raises(ValueError, match="n_importance == 0, must be >= 1"):
        vae.score(X, n_importance=0)
