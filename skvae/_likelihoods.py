"""Observation models p(x | z) and the KL term of the ELBO.

Every ``log_prob`` accepts decoder outputs with any number of leading sample
dimensions, ``(K, n, *event_shape)``, against data of shape
``(n, *event_shape)``, and sums over the event dimensions. That is what lets
the same likelihood score one posterior sample (the ELBO) or K of them (an
importance-weighted bound).
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BernoulliLikelihood", "GaussianLikelihood", "gaussian_kl", "gaussian_kl_per_dim",
           "make_likelihood"]


def _sum_event(log_prob, event_ndim):
    # Summing in float64 makes a sample's score independent of how many
    # other samples share its batch (float32 sums differ in the last bit),
    # and costs nothing next to the network.
    dims = tuple(range(-event_ndim, 0))
    return log_prob.sum(dim=dims, dtype=torch.float64) if dims else log_prob.double()


class BernoulliLikelihood(nn.Module):
    """Bernoulli likelihood parameterised by logits, for data in [0, 1].

    Fractional targets are allowed (the continuous relaxation used for grey
    levels), which is why this is binary cross-entropy on logits rather than
    ``torch.distributions.Bernoulli``, whose support check rejects them.

    Parameters
    ----------
    *args, **kwargs
        Passed to ``torch.nn.Module``; the likelihood has no parameters.
    """

    def log_prob(self, x, logits):
        """Log-likelihood of ``x`` under each set of logits, summed over the event.

        Parameters
        ----------
        x : Tensor of shape ``(n, *event_shape)``
            Data in [0, 1].
        logits : Tensor of shape ``(..., n, *event_shape)``
            Decoder outputs, with any number of leading sample dimensions.

        Returns
        -------
        log_p : Tensor of shape (..., n), float64
            Log-likelihood of each sample.
        """
        # Computed in float32 even under bf16 autocast: hundreds of per-pixel
        # terms summed in bf16 would lose whole nats.
        logits = logits.float()
        bce = F.binary_cross_entropy_with_logits(
            logits, x.float().expand_as(logits), reduction="none"
        )
        return -_sum_event(bce, x.dim() - 1)

    def mean(self, logits):
        """Pixel probabilities, the mean of the Bernoulli.

        Parameters
        ----------
        logits : Tensor
            Decoder outputs.

        Returns
        -------
        mean : Tensor, float32
            ``sigmoid(logits)``.
        """
        return torch.sigmoid(logits.float())


class GaussianLikelihood(nn.Module):
    """Gaussian likelihood with a learned standard deviation per feature.

    Meant for standardized real-valued data; the decoder output is the mean.

    Parameters
    ----------
    event_shape : tuple of int
        Shape of one sample, e.g. ``(n_features,)`` or ``(C, H, W)``.
    """

    min_log_scale = math.log(1e-3)

    def __init__(self, event_shape):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(event_shape))

    def scale(self):
        """Standard deviation of each feature.

        Returns
        -------
        scale : Tensor of shape event_shape
            The learned scale, at least 1e-3.
        """
        # A floor on the scale keeps the likelihood bounded: without it a
        # feature that is constant in the training data drives its scale to
        # zero and the ELBO to +inf.
        return torch.exp(self.log_scale.clamp(min=self.min_log_scale))

    def log_prob(self, x, mean):
        """Log-likelihood of ``x`` under each set of means, summed over the event.

        Parameters
        ----------
        x : Tensor of shape ``(n, *event_shape)``
            Data.
        mean : Tensor of shape ``(..., n, *event_shape)``
            Decoder outputs, with any number of leading sample dimensions.

        Returns
        -------
        log_p : Tensor of shape (..., n), float64
            Log-likelihood of each sample.
        """
        dist = torch.distributions.Normal(mean.float(), self.scale(), validate_args=False)
        return _sum_event(dist.log_prob(x.float()), x.dim() - 1)

    def mean(self, mean):
        """The decoder output itself, which is the mean.

        Parameters
        ----------
        mean : Tensor
            Decoder outputs.

        Returns
        -------
        mean : Tensor, float32
            The same values.
        """
        return mean.float()


LIKELIHOODS = {"bernoulli": BernoulliLikelihood, "gaussian": GaussianLikelihood}


def make_likelihood(name, event_shape):
    """Build the likelihood module called ``name`` for samples of ``event_shape``.

    Parameters
    ----------
    name : {"bernoulli", "gaussian"}
        Which likelihood.
    event_shape : tuple of int
        Shape of one sample; the Gaussian learns a scale per entry.

    Returns
    -------
    likelihood : BernoulliLikelihood or GaussianLikelihood
        The module.
    """
    if name == "gaussian":
        return GaussianLikelihood(event_shape)
    return LIKELIHOODS[name]()


def gaussian_kl_per_dim(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, 1)) of each latent dimension, in float64.

    Parameters
    ----------
    mu : Tensor of shape (..., latent_dim)
        Posterior means.
    log_var : Tensor of shape (..., latent_dim)
        Posterior log-variances.

    Returns
    -------
    kl : Tensor of shape (..., latent_dim), float64
        The divergence of each dimension, in nats.
    """
    mu, log_var = mu.double(), log_var.double()
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var)


def gaussian_kl(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, I)) per sample, summed over latent dims.

    Parameters
    ----------
    mu : Tensor of shape (..., latent_dim)
        Posterior means.
    log_var : Tensor of shape (..., latent_dim)
        Posterior log-variances.

    Returns
    -------
    kl : Tensor of shape (...,), float64
        The divergence, in nats.
    """
    return gaussian_kl_per_dim(mu, log_var).sum(dim=-1)
