"""skvae._likelihoods: the observation models and the KL term."""

import numpy as np
import torch

from skvae._likelihoods import BernoulliLikelihood, gaussian_kl


def test_kl_and_bernoulli_log_prob_closed_forms():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    log_var = torch.tensor([[0.0, 0.0], [np.log(4.0), 0.0]])
    np.testing.assert_allclose(
        gaussian_kl(mu, log_var).numpy(),
        [0.0, 0.5 * (1 + 4 - 1 - np.log(4)) + 0.5 * 4],
    )
    x = torch.tensor([[1.0, 0.0]])
    logits = torch.zeros(3, 1, 2)  # K = 3 samples, p = 0.5 everywhere
    np.testing.assert_allclose(BernoulliLikelihood().log_prob(x, logits).numpy(),
                               np.full((3, 1), 2 * np.log(0.5)), rtol=1e-6)
