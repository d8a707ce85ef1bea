"""PyTorch encoders, decoders and the VAE that joins them.

Plain torch: nothing in this module knows about scikit-learn or skorch, so the
networks can be reused, tested or scripted on their own.
"""

import math
from collections import namedtuple

import torch
from torch import nn
from torch.distributions import Normal

from ._likelihoods import gaussian_kl, make_likelihood

__all__ = ["ClassAdversary", "ConditionalDecoder", "GaussianEncoder", "VAE", "VAEOutput",
           "build_vae", "conv_decoder", "conv_encoder", "init_weights", "mlp_decoder",
           "mlp_encoder"]

VAEOutput = namedtuple("VAEOutput", ["log_lik", "kl", "mu", "log_var"])
VAEOutput.__doc__ = """What one forward pass of :class:`VAE` returns.

Parameters
----------
log_lik : Tensor of shape (K, n)
    The log-likelihood log p(x | z_k) of K posterior samples z_k, summed over features.
kl : Tensor of shape (n,)
    KL(q(z | x) || p(z)), in closed form.
mu : Tensor of shape (n, latent_dim)
    Means of q(z | x).
log_var : Tensor of shape (n, latent_dim)
    Log-variances of q(z | x).
"""

# exp(log_var) must stay finite in float32 and bf16 even for a diverging
# encoder; the bounds are far outside anything a trained model uses.
LOG_VAR_MIN, LOG_VAR_MAX = -30.0, 20.0


def _downsampled(size):
    # Spatial size after a stride-2, kernel-3, padding-1 convolution.
    return (size + 1) // 2


class GaussianEncoder(nn.Module):
    """Maps features to the mean and log-variance of a diagonal Gaussian.

    Parameters
    ----------
    body : torch.nn.Module
        Feature extractor ending in a flat vector of ``body_dim`` features.
    body_dim : int
        Width of the body's output.
    latent_dim : int
        Dimensions of the code.
    """

    def __init__(self, body, body_dim, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.body = body
        self.head = nn.Linear(body_dim, 2 * latent_dim)

    def forward(self, x):
        """Parameters of q(z | x).

        Parameters
        ----------
        x : Tensor of shape (n, ...)
            A batch, in the shape the body takes.

        Returns
        -------
        mu : Tensor of shape (n, latent_dim)
            Means.
        log_var : Tensor of shape (n, latent_dim)
            Log-variances, clamped to a range whose exponential stays finite.
        """
        mu, log_var = self.head(self.body(x)).chunk(2, dim=-1)
        return mu, log_var.clamp(LOG_VAR_MIN, LOG_VAR_MAX)


class ConditionalDecoder(nn.Module):
    """Decoder taking a latent code and, optionally, a condition vector.

    The condition (e.g. a one-hot class) is concatenated to the code, so a
    conditional VAE needs no other change to the network.

    Parameters
    ----------
    body : torch.nn.Module
        Maps ``latent_dim + condition_dim`` inputs to the likelihood's
        parameters of shape ``(n, *event_shape)``.
    condition_dim : int, default=0
        Width of the condition; 0 for an unconditional decoder.
    """

    def __init__(self, body, condition_dim=0):
        super().__init__()
        self.body = body
        self.condition_dim = condition_dim

    def forward(self, z, condition=None):
        """Likelihood parameters for a batch of codes.

        Parameters
        ----------
        z : Tensor of shape (n, latent_dim)
            Codes.
        condition : Tensor of shape (n, condition_dim), default=None
            Required when ``condition_dim`` is not 0, ignored otherwise.

        Returns
        -------
        params : Tensor of shape ``(n, *event_shape)``
            Logits or means, as the likelihood takes them.
        """
        if self.condition_dim:
            z = torch.cat([z, condition.to(z.dtype)], dim=-1)
        return self.body(z)


def _mlp(widths, activation):
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out), activation()]
    return nn.Sequential(*layers)


def mlp_encoder(n_features, latent_dim, hidden_dims, activation=nn.SiLU):
    """A fully connected encoder for tabular data.

    Parameters
    ----------
    n_features : int
        Width of the input.
    latent_dim : int
        Dimensions of the code.
    hidden_dims : tuple of int
        Widths of the hidden layers, first to last.
    activation : type of torch.nn.Module, default=torch.nn.SiLU
        Activation after every hidden layer.

    Returns
    -------
    encoder : GaussianEncoder
        Maps ``(n, n_features)`` to the mean and log-variance of q(z | x).
    """
    return GaussianEncoder(
        _mlp((n_features, *hidden_dims), activation), hidden_dims[-1], latent_dim
    )


def mlp_decoder(n_features, latent_dim, hidden_dims, condition_dim=0, activation=nn.SiLU):
    """A fully connected decoder mirroring :func:`mlp_encoder`.

    Parameters
    ----------
    n_features : int
        Width of the output.
    latent_dim : int
        Dimensions of the code.
    hidden_dims : tuple of int
        Widths of the encoder's hidden layers, which the decoder runs in reverse.
    condition_dim : int, default=0
        Width of a condition vector concatenated to the code.
    activation : type of torch.nn.Module, default=torch.nn.SiLU
        Activation after every hidden layer.

    Returns
    -------
    decoder : ConditionalDecoder
        Maps ``(n, latent_dim)`` codes to ``(n, n_features)`` parameters.
    """
    widths = (latent_dim + condition_dim, *reversed(hidden_dims))
    body = nn.Sequential(_mlp(widths, activation), nn.Linear(hidden_dims[0], n_features))
    return ConditionalDecoder(body, condition_dim)


def conv_encoder(image_shape, latent_dim, channels, hidden_dim, activation=nn.SiLU,
                 n_dense=2):
    """A convolutional encoder for images of any size.

    One stride-2 convolution per entry of ``channels`` (each halves the
    height and width, rounding up), then ``n_dense`` dense layers of
    ``hidden_dim`` units. Downsampling from the first layer keeps
    full-resolution work, the dominant cost on a CPU, to one thin
    convolution; the wide dense layers are what the tutorial's 32-unit
    bottleneck lacked, and the second one is what lets a 2-D code separate
    the classes.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` of the input images.
    latent_dim : int
        Dimensions of the code.
    channels : tuple of int
        Output channels of each stride-2 convolution.
    hidden_dim : int
        Width of the dense layers.
    activation : type of torch.nn.Module, default=torch.nn.SiLU
        Activation after every layer but the last.
    n_dense : int, default=2
        Number of dense layers after the convolutions.

    Returns
    -------
    encoder : GaussianEncoder
        Maps ``(n, C, H, W)`` images to the mean and log-variance of q(z | x).
    """
    n_channels, height, width = image_shape
    layers = []
    for c_in, c_out in zip((n_channels, *channels[:-1]), channels):
        layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), activation()]
        height, width = _downsampled(height), _downsampled(width)
    flat = channels[-1] * height * width
    layers += [nn.Flatten(), _mlp((flat, *[hidden_dim] * n_dense), activation)]
    return GaussianEncoder(nn.Sequential(*layers), hidden_dim, latent_dim)


def conv_decoder(image_shape, latent_dim, channels, hidden_dim, condition_dim=0,
                 activation=nn.SiLU, n_dense=2):
    """A transposed-convolution decoder mirroring :func:`conv_encoder`.

    Each stride-2 transposed convolution doubles the size, and its padding
    picks the exact size the encoder saw, so odd sizes (e.g. 7x7 inside
    28x28) come back exactly. Kernels are 4 wide, a multiple of the stride:
    every output pixel then gets the same number of taps, where a 3-wide
    kernel alternates one and two and leaves a checkerboard (Odena et al.,
    2016). The last one outputs the likelihood's parameters (logits or means) directly.

    Parameters
    ----------
    image_shape : tuple of int
        ``(C, H, W)`` of the output images.
    latent_dim : int
        Dimensions of the code.
    channels : tuple of int
        The encoder's ``channels``, which the decoder runs in reverse.
    hidden_dim : int
        Width of the dense layers.
    condition_dim : int, default=0
        Width of a condition vector concatenated to the code.
    activation : type of torch.nn.Module, default=torch.nn.SiLU
        Activation after every layer but the last.
    n_dense : int, default=2
        Number of dense layers before the transposed convolutions.

    Returns
    -------
    decoder : ConditionalDecoder
        Maps ``(n, latent_dim)`` codes to ``(n, C, H, W)`` parameters.
    """
    n_channels, height, width = image_shape
    sizes = [(height, width)]
    for _ in channels:
        sizes.append(tuple(_downsampled(s) for s in sizes[-1]))
    h, w = sizes[-1]
    widths = (latent_dim + condition_dim, *[hidden_dim] * n_dense, channels[-1] * h * w)
    layers = [_mlp(widths, activation), nn.Unflatten(1, (channels[-1], h, w))]
    out_channels = (n_channels, *channels[:-1])
    for i in reversed(range(len(channels))):
        padding, output_padding = zip(*map(_upsampling_padding, sizes[i + 1], sizes[i]))
        layers.append(nn.ConvTranspose2d(channels[i], out_channels[i], 4, stride=2,
                                         padding=padding, output_padding=output_padding))
        if i:
            layers.append(activation())
    return ConditionalDecoder(nn.Sequential(*layers), condition_dim)


def _upsampling_padding(size, target):
    # A stride-2, kernel-4 transposed conv outputs 2 * size + 2 - 2 * padding
    # + output_padding: padding 1 doubles the size; padding 2 with one row of
    # output padding gives the odd size 2 * size - 1.
    output_padding = 2 * size - target
    return 1 + output_padding, output_padding


class ClassAdversary(nn.Module):
    """A classifier of the class from the code, and the encoder's penalty for helping it.

    A conditional decoder is given the class, yet an encoder left alone
    still writes the class into the code (the cheapest way to lower the
    reconstruction loss early in training); the decoder then reads it from
    there, ignores the condition, and class-conditional samples show other
    classes. This head learns to predict the class from the posterior mean
    (on a detached copy, so only the head learns from that loss), and the
    encoder is charged for any confidence the head has: the cross-entropy of
    the head's prediction against the uniform distribution (a confusion
    loss, Tzeng et al., 2015). Unlike a reversed gradient, whose encoder
    wins by making the head confidently wrong, which needs the class in the
    code, this penalty is bounded and is zero only when the code says
    nothing about the class.

    Parameters
    ----------
    latent_dim : int
        Dimensions of the code.
    n_classes : int
        Number of classes.
    hidden_dim : int
        Width of the head's hidden layer.
    weight : float
        Weight of the encoder's penalty.
    """

    def __init__(self, latent_dim, n_classes, hidden_dim, weight):
        super().__init__()
        self.weight = weight
        self.head = nn.Sequential(_mlp((latent_dim, hidden_dim), nn.SiLU),
                                  nn.Linear(hidden_dim, n_classes))

    def forward(self, mu, condition):
        """Per-sample loss: the head's cross-entropy plus the encoder's weighted confusion.

        Parameters
        ----------
        mu : Tensor of shape (n, latent_dim)
            Posterior means.
        condition : Tensor of shape (n, n_classes)
            One-hot classes.

        Returns
        -------
        loss : Tensor of shape (n,)
            The head's loss plus ``weight`` times the encoder's.
        """
        head_loss = nn.functional.cross_entropy(self.head(mu.detach()), condition.argmax(-1),
                                                reduction="none")
        frozen = {name: p.detach() for name, p in self.head.named_parameters()}
        log_p = torch.func.functional_call(self.head, frozen, (mu,)).log_softmax(-1)
        confusion = -log_p.mean(-1) - math.log(log_p.shape[-1])
        return head_loss + self.weight * confusion


class VAE(nn.Module):
    """A variational autoencoder: encoder, decoder and likelihood.

    Parameters
    ----------
    encoder : torch.nn.Module
        Returns ``(mu, log_var)`` of q(z | x), e.g. a :class:`GaussianEncoder`.
    decoder : ConditionalDecoder
        Returns the likelihood's parameters for a batch of codes.
    likelihood : torch.nn.Module
        Has ``log_prob(x, params)`` and ``mean(params)``; see
        :mod:`skvae._likelihoods`.
    adversary : ClassAdversary, default=None
        For a conditional model: a head whose loss the training criterion
        adds (it is not part of the ELBO, so ``forward`` leaves it out).
    """

    def __init__(self, encoder, decoder, likelihood, adversary=None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.adversary = adversary

    def decode(self, z, condition=None):
        """Likelihood parameters for codes of shape ``(..., latent_dim)``.

        Parameters
        ----------
        z : Tensor of shape (..., latent_dim)
            Codes, with any number of leading dimensions.
        condition : Tensor of shape (n, condition_dim), default=None
            Condition vectors of a conditional decoder, broadcast over the
            leading dimensions of ``z``.

        Returns
        -------
        params : Tensor of shape ``(..., *event_shape)``
            Logits or means, as the likelihood takes them.
        """
        lead = z.shape[:-1]
        flat = z.reshape(-1, z.shape[-1])
        if condition is not None:
            condition = condition.expand(*lead, condition.shape[-1]).reshape(-1, condition.shape[-1])
        params = self.decoder(flat, condition)
        return params.reshape(*lead, *params.shape[1:])

    def _posterior_sample(self, x, eps, condition):
        """``(mu, log_var, z, log p(x | z))`` for noise ``eps`` (one fresh draw if None)."""
        mu, log_var = self.encoder(x)
        if eps is None:
            eps = torch.randn_like(mu).unsqueeze(0)
        # std = exp(log_var / 2): the encoder predicts the log-variance.
        z = mu + torch.exp(0.5 * log_var) * eps
        return mu, log_var, z, self.likelihood.log_prob(x, self.decode(z, condition))

    def forward(self, x, condition=None, eps=None):
        """Encode, draw posterior samples, decode and score.

        Parameters
        ----------
        x : Tensor of shape ``(n, *event_shape)``
            A batch of data.
        condition : Tensor of shape (n, condition_dim), default=None
            Condition vectors of a conditional model.
        eps : Tensor of shape (K, n or 1, latent_dim), default=None
            Standard normal noise for the reparameterisation; one fresh
            draw (K = 1) when omitted.

        Returns
        -------
        output : VAEOutput
            The log-likelihood of each posterior sample, the KL term and
            the posterior's parameters.
        """
        mu, log_var, _, log_lik = self._posterior_sample(x, eps, condition)
        return VAEOutput(log_lik, gaussian_kl(mu, log_var), mu, log_var)

    def log_weights(self, x, eps, condition=None):
        """Importance log-weights log p(x, z_k) - log q(z_k | x), shape (K, n).

        Their log-mean-exp over K is the importance-weighted bound on
        log p(x) (Burda et al., 2015); K = 1 gives a single-sample ELBO.

        Parameters
        ----------
        x : Tensor of shape ``(n, *event_shape)``
            A batch of data.
        eps : Tensor of shape (K, n or 1, latent_dim)
            Standard normal noise, one draw per importance sample.
        condition : Tensor of shape (n, condition_dim), default=None
            Condition vectors of a conditional model.

        Returns
        -------
        log_w : Tensor of shape (K, n), float64
            One log-weight per importance sample and data point.
        """
        mu, log_var, z, log_lik = self._posterior_sample(x, eps, condition)
        mu, std, z = mu.double(), torch.exp(0.5 * log_var).double(), z.double()
        prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
        posterior = Normal(mu, std)
        log_prior = prior.log_prob(z).sum(-1, dtype=torch.float64)
        log_posterior = posterior.log_prob(z).sum(-1, dtype=torch.float64)
        return log_lik + log_prior - log_posterior


def build_vae(*, architecture, event_shape, latent_dim, likelihood="bernoulli",
              channels=None, hidden_dim=256, condition_dim=0, adversary_weight=0.0):
    """Assemble a :class:`VAE` for samples of ``event_shape``.

    Every argument is a plain value, so a skorch net can take this function
    as its ``module`` and the arguments as ``module__*`` parameters: the
    network's structure is then part of the net's parameters.

    Parameters
    ----------
    architecture : {"conv", "mlp"}
        "conv" needs ``event_shape == (C, H, W)``; "mlp" flattens nothing
        and expects ``event_shape == (n_features,)``.
    event_shape : tuple of int
        Shape of one sample: ``(C, H, W)`` or ``(n_features,)``.
    latent_dim : int
        Dimensions of the code.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        See :func:`skvae._likelihoods.make_likelihood`.
    channels : tuple of int, default=None
        Convolution widths; required by "conv", unused by "mlp".
    hidden_dim : int, default=256
        Width of the dense layers.
    condition_dim : int, default=0
        Width of a condition vector the decoder takes beside the code.
    adversary_weight : float, default=0.0
        With a condition, the weight of a :class:`ClassAdversary`; 0 for none.

    Returns
    -------
    vae : VAE
        The network, He-initialised (:func:`init_weights`).

    Examples
    --------
    >>> import torch
    >>> from skvae._modules import build_vae
    >>> vae = build_vae(architecture="conv", event_shape=(1, 28, 28), latent_dim=2,
    ...                 channels=(32, 64))
    >>> out = vae(torch.rand(5, 1, 28, 28))
    >>> out.mu.shape, out.log_lik.shape
    (torch.Size([5, 2]), torch.Size([1, 5]))
    """
    event_shape = tuple(event_shape)
    if architecture == "conv":
        channels = tuple(channels)
        encoder = conv_encoder(event_shape, latent_dim, channels, hidden_dim)
        decoder = conv_decoder(event_shape, latent_dim, channels, hidden_dim, condition_dim)
    else:
        (n_features,) = event_shape
        hidden_dims = (hidden_dim, hidden_dim)
        encoder = mlp_encoder(n_features, latent_dim, hidden_dims)
        decoder = mlp_decoder(n_features, latent_dim, hidden_dims, condition_dim)
    adversary = None
    if condition_dim and adversary_weight:
        adversary = ClassAdversary(latent_dim, condition_dim, hidden_dim, adversary_weight)
    return init_weights(VAE(encoder, decoder, make_likelihood(likelihood, event_shape),
                            adversary))


def init_weights(module):
    """He (Kaiming) normal initialisation of every linear and conv layer, zero biases.

    PyTorch's default (uniform with variance 1 / (3 fan_in)) shrinks the
    signal at every layer. Through the encoder's and decoder's four dense
    layers that leaves the decoder nearly blind to the code at the start,
    the KL term then pushes latent dimensions to the prior, and a
    16-dimensional model spends most of a short run climbing back out. He
    initialisation keeps the activations' scale through the ReLU-like
    SiLU layers.

    Parameters
    ----------
    module : torch.nn.Module
        The network, initialised in place.

    Returns
    -------
    module : torch.nn.Module
        The same network.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            # A transposed conv's weight is (in, out, kH, kW): its "fan_out"
            # in torch's convention is the fan-in of the convolution it undoes.
            mode = "fan_out" if isinstance(layer, nn.ConvTranspose2d) else "fan_in"
            nn.init.kaiming_normal_(layer.weight, mode=mode, nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return module
