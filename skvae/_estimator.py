"""The scikit-learn face of skvae: :class:`VAETransformer`."""

from numbers import Integral, Real

import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._callbacks import LR_SCHEDULES
from ._inference import InferenceMixin
from ._persistence import VersionedPickleMixin
from ._training import fit_net


class VAETransformer(VersionedPickleMixin, InferenceMixin, BaseEstimator):
    """Variational autoencoder as a scikit-learn transformer.

    ``fit`` trains a VAE (convolutional for images, fully connected for
    tables) with skorch; ``transform`` gives the posterior means of the
    latent codes, ``inverse_transform`` decodes codes, ``sample`` draws new
    data, and ``score`` is the mean ELBO per sample in nats, so model
    selection needs no scorer.

    A call that raises leaves the estimator as it was. ``partial_fit``, and
    ``fit`` with ``warm_start=True``, continue training the fitted network
    with the parameters as they are now: the *structural* ones
    (``n_components``, ``architecture``, ``likelihood``, ``conditional``,
    ``adversary_weight``, ``image_shape``, ``channels``, ``hidden_dim``)
    must be unchanged, and every other one takes effect at each call.

    Parameters
    ----------
    n_components : int, default=2
        Number of latent dimensions, i.e. of output features of ``transform``.

    architecture : {"auto", "conv", "mlp"}, default="auto"
        "conv" (strided convolutions, mirrored in the decoder) for images of
        any size, "mlp" (fully connected) for tables; "auto" picks "conv" for
        images (3-D or 4-D ``X``, or ``image_shape`` given).

    likelihood : {"auto", "bernoulli", "gaussian"}, default="auto"
        Observation model p(x | z): "bernoulli" (logits, binary
        cross-entropy) for data in [0, 1] such as pixel intensities,
        "gaussian" (learned variance per feature) for real-valued data,
        ideally standardized. "auto" picks "bernoulli" when the training
        data lies in [0, 1], else "gaussian" (``likelihood_``).

    beta : float, default=1.0
        Weight of the KL term (beta-VAE); 1 trains on the ELBO.

    conditional : bool, default=False
        Train p(x | z, y) on ``fit(X, y)`` for class labels y (numbers or
        strings): ``sample(n, y=7)`` draws sevens, ``inverse_transform(Z,
        y=k)`` redraws codes as class k. ``transform(X)`` needs no labels;
        its codes carry style, not class.

    adversary_weight : float, default=5.0
        With ``conditional=True``, how hard the encoder is pushed to leave
        the class out of the code (a small classifier reads the class from
        the code, and the encoder pays for its confidence), so that the
        decoder takes the class from ``y``. 0 turns it off.

    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(C, H, W)``: view 2-D ``X`` of shape
        ``(n_samples, C * H * W)`` as images.

    channels : tuple of int, default=(32, 64)
        Widths of the stride-2 convolution stages of "conv".

    hidden_dim : int, default=256
        Width of the dense layers.

    max_epochs : int, default=30
        Passes over the training data in each ``fit``.

    batch_size : int, default=32
        Samples per gradient step.

    lr : float, default=2e-3
        Peak learning rate.

    lr_schedule : {"onecycle", "cosine", "constant"}, default="onecycle"
        Learning rate over the steps of each ``fit``, run by torch's
        schedulers through skorch's ``LRScheduler``: "onecycle" rises
        linearly from ``lr / 25`` over 30% of the steps, then anneals along
        a cosine to ``lr / 1e4``; "cosine" only anneals. ``partial_fit``,
        "constant", or a ``LRScheduler`` in ``callbacks`` keep ``lr`` as is.

    kl_warmup_epochs : int, default=0
        Ramp the KL weight linearly from 0 to ``beta`` over this many epochs.

    optimizer : torch optimizer class, default=torch.optim.AdamW
        Called as ``optimizer(params, lr=lr, weight_decay=weight_decay)``
        (``functools.partial`` binds more), with its fused kernel where
        torch has one, unless ``foreach`` or ``fused`` is bound.

    weight_decay : float, default=0.3
        The optimizer's weight decay. On the decoder's first layer it makes
        every unit of code costlier, so codes cluster more by content.

    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Run after skvae's own, e.g. ``Checkpoint``, ``EpochScoring``,
        ``LRScheduler`` or ``LoadInitState``; each ``fit`` uses fresh
        copies. Without ``early_stopping`` there is no validation data:
        monitor the training loss (``Checkpoint(monitor="train_loss_best")``).

    neighbor_weight : float or "auto", default="auto"
        Weight of a loss that keeps the training data's neighborhoods on
        the map (UMAP's cross-entropy between a fuzzy k-nearest-neighbor
        graph of the rows and their codes, McInnes et al. 2018; see
        :mod:`skvae._neighbors`), added to the negative ELBO. "auto" turns it
        on for ``n_components=2``, where codes are meant to be looked at,
        and off otherwise, and always off for a conditional model (its
        repulsion sorts the classes apart in the code, and the decoder
        then ignores ``y``); 0 turns it off.

    n_neighbors : int, default=15
        Neighbors of each row in that graph (within its class, for a
        conditional model).

    sampler : {"gmm", "prior"}, default="gmm"
        Where ``sample`` draws codes from: a Gaussian mixture fitted to the
        training codes (Ghosh et al. 2019), or the N(0, I) prior, which
        falls between the codes once they are not N(0, I)-shaped.

    n_sampler_components : int, default=10
        Components of the "gmm" sampler.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of ``X``; stop when its loss has
        not improved for ``n_iter_no_change`` epochs, keeping the best weights.

    validation_fraction : float, default=0.1
        Fraction held out for early stopping.

    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.

    warm_start : bool, default=False
        Whether ``fit`` on a fitted estimator continues training its network.
        Without it the optimizer's running state is dropped after ``fit``,
        so the model pickles at about the size of its weights.

    precision : {"fp32", "bf16"}, default="fp32"
        "bf16" runs the network under bfloat16 autocast; losses stay float32.

    channels_last : bool, default=False
        Store conv weights and image batches channels-last (NHWC).

    compile : bool, default=False
        Train through ``torch.compile``, on batches of one size (the ragged
        remainder of each epoch is left out); inference runs eagerly.

    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device; "auto" is "cuda" when available, else "cpu".

    verbose : int, default=0
        1 prints the losses of each epoch; 2 also shows a progress bar.

    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and noise; the same seed gives the
        same model on the CPU. Global torch and numpy states are untouched.

    Attributes
    ----------
    net_ : skvae._net.VAENet
        The fitted skorch net: ``net_.history`` has the losses per epoch and
        batch, ``net_.module_`` the torch module.

    n_components_ : int
        Number of latent dimensions of the fitted network.

    n_iter_ : int
        Number of training epochs completed, over all calls.

    loss_curve_ : list of float
        Training loss of each completed epoch: the negative ELBO per sample,
        plus the weighted neighbor loss while ``neighbor_weight`` is on (so
        it drops when the weight is switched off between calls). A
        validation split's loss (``early_stopping``) is the negative ELBO
        alone.

    classes_ : ndarray of shape (n_classes,)
        Class labels seen in fit; only with ``conditional=True``.

    class_count_ : ndarray of shape (n_classes,)
        Training samples of each class, over all calls; only with
        ``conditional=True``.

    class_prior_ : ndarray of shape (n_classes,)
        ``class_count_`` as frequencies: the p(k) of ``score(X)``.

    n_features_in_ : int
        Number of features (pixels times channels for images) seen in fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.

    image_shape_ : tuple of int or None
        ``(C, H, W)`` of the training images; None for tables.

    input_ndim_ : int
        Dimensionality of ``X`` in fit (2, 3 or 4): the layout decoded data
        comes back in.

    architecture_ : str
        "conv" or "mlp".

    likelihood_ : str
        "bernoulli" or "gaussian".

    device_ : str
        The device the model was trained on.

    kl_per_dim_ : ndarray of shape (`n_components_`,)
        Mean KL(q(z_u | x) || p(z_u)) of each latent dimension, in nats;
        near 0 for an unused one. From up to 100,000 random training rows
        with ``sampler="gmm"``, else 1,024.

    code_range_ : ndarray of shape (2, `n_components_`)
        The 1% and 99% quantiles of each dimension of those rows' codes:
        where :func:`skvae.plotting.plot_manifold` looks.

    n_active_units_ : int
        Latent dimensions whose posterior mean varies across those rows
        (variance above 0.01); ``fit`` warns when fewer than half are.

    sampler_ : sklearn.mixture.GaussianMixture
        The density of the training codes; only with ``sampler="gmm"``.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> X = load_digits().data / 16.0
    >>> vae = VAETransformer(n_components=2, image_shape=(8, 8), max_epochs=2,
    ...                      random_state=0).fit(X)
    >>> vae.transform(X[:5]).shape
    (5, 2)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    """

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "architecture": [StrOptions({"auto", "conv", "mlp"})],
        "likelihood": [StrOptions({"auto", "bernoulli", "gaussian"})],
        "beta": [Interval(Real, 0, None, closed="left")],
        "conditional": ["boolean"],
        "adversary_weight": [Interval(Real, 0, None, closed="left")],
        "image_shape": [tuple, list, None],
        "channels": [tuple, list],
        "hidden_dim": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "optimizer": [callable],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "callbacks": [list, None],
        "neighbor_weight": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "sampler": [StrOptions({"gmm", "prior"})],
        "n_sampler_components": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "precision": [StrOptions({"fp32", "bf16"})],
        "channels_last": ["boolean"],
        "compile": ["boolean"],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self, n_components=2, *, architecture="auto", likelihood="auto", beta=1.0,
        conditional=False, adversary_weight=5.0, image_shape=None, channels=(32, 64),
        hidden_dim=256, max_epochs=30, batch_size=32, lr=2e-3, lr_schedule="onecycle",
        kl_warmup_epochs=0, optimizer=torch.optim.AdamW, weight_decay=0.3, callbacks=None,
        neighbor_weight="auto", n_neighbors=15, sampler="gmm", n_sampler_components=10,
        early_stopping=False,
        validation_fraction=0.1, n_iter_no_change=10, warm_start=False, precision="fp32",
        channels_last=False, compile=False, device="auto", verbose=0, random_state=None,
    ):
        self.n_components = n_components
        self.architecture = architecture
        self.likelihood = likelihood
        self.beta = beta
        self.conditional = conditional
        self.adversary_weight = adversary_weight
        self.image_shape = image_shape
        self.channels = channels
        self.hidden_dim = hidden_dim
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.kl_warmup_epochs = kl_warmup_epochs
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.callbacks = callbacks
        self.neighbor_weight = neighbor_weight
        self.n_neighbors = n_neighbors
        self.sampler = sampler
        self.n_sampler_components = n_sampler_components
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.precision = precision
        self.channels_last = channels_last
        self.compile = compile
        self.device = device
        self.verbose = verbose
        self.random_state = random_state

    # -- fitting ----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the VAE on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), (n_samples, H, W) or \
(n_samples, C, H, W)
            Training data; in [0, 1] for the Bernoulli likelihood. A
            memory-mapped array (``np.load(path, mmap_mode="r")``,
            ``np.memmap``) of any numeric dtype is never loaded whole: each
            shuffled batch is read from it, so it may exceed memory.
        y : array-like of shape (n_samples,), default=None
            Class labels, required with ``conditional=True``; otherwise
            ignored (so the estimator fits in supervised pipelines).

        Returns
        -------
        self : VAETransformer
            The fitted estimator.
        """
        return fit_net(self, X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Train one more epoch on ``X`` (starting a model if needed).

        One epoch at the peak learning rate, without early stopping, as
        scikit-learn's MLP does; the optimizer's running state carries over
        from call to call.

        Parameters
        ----------
        X : array-like, same layouts as in :meth:`fit`
            Training data of this step.
        y : array-like of shape (n_samples,), default=None
            Class labels, as in :meth:`fit`.
        classes : array-like, default=None
            Every class ``y`` will hold, for a conditional model's first
            call, when it does not bring them all; ignored later.

        Returns
        -------
        self : VAETransformer
            The estimator, trained one epoch more.
        """
        if self.__sklearn_is_fitted__():
            # _fit_context trusts a fitted estimator's parameters in
            # partial_fit; set_params may have changed them since.
            self._validate_params()
        return fit_net(self, X, y, incremental=True, classes=classes)

    # -- scikit-learn plumbing ----------------------------------------------
    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.positive_only = self.likelihood == "bernoulli"
        tags.target_tags.required = bool(self.conditional)
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
