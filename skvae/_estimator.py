"""The scikit-learn face of skvae: :class:`VAETransformer`.

The estimator owns its state: the helpers it calls take values and return
values, and only its own methods set its fitted attributes. ``fit`` and
``partial_fit`` run :meth:`VAETransformer._fit`, which validates the data,
builds a skorch net from the parameters, trains it and commits the result;
the inference methods read the fitted net.
"""

import math
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                          _fit_context)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, check_scalar, validate_data
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from . import _auto, _codes, _labels, _layout
from ._callbacks import (LR_SCHEDULES, KLWarmup, TrainingDivergedError, callback_instances,
                         check_callbacks, lr_schedule)
from ._data import TrainingData
from ._doc_link import DocLinkMixin
from ._neighbors import fuzzy_graph
from ._net import VAENet, resolve_device
from ._version import __version__
from ._warn import warn_user

INT32_MAX = np.iinfo(np.int32).max

#: ``module__*`` parameter of the net -> the estimator parameter that sets it.
#: These are the *structural* parameters: training can only continue while
#: they are unchanged.
MODULE_PARAMS = {
    "architecture": "architecture",
    "event_shape": "image_shape",
    "likelihood": "likelihood",
    "latent_dim": "n_components",
    "channels": "channels",
    "hidden_dim": "hidden_dim",
    "condition_dim": "conditional",
    "adversary_weight": "adversary_weight",
}

class VAETransformer(DocLinkMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                     BaseEstimator):
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

    max_epochs : int or "auto", default="auto"
        Passes over the training data in each ``fit``. "auto" trains 30,
        or, for a 2-D map (``n_components<=2`` with the neighbor loss on,
        see ``neighbor_weight``), enough epochs for about 360,000 rows'
        worth of steps, from 30 up to 60: 60 for up to 6,000 rows trained
        on, 45 for 8,000 and 30 from 12,000. The map forms from gradient
        steps, of which small data gives few per epoch, while the ELBO
        alone needs no more. The epochs follow the rows of each call, so
        that a cross-validation fold may train more epochs than the refit
        on all rows.

    batch_size : int, default=32
        Samples per gradient step.

    lr : float or "auto", default="auto"
        Peak learning rate. "auto" is 6e-3 while the neighbor loss is on
        (``neighbor_weight``), whose layout of the codes forms from larger
        steps than the ELBO alone takes well, and 2e-3 otherwise. The rate
        in effect is ``net_.lr``.

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
        (``functools.partial`` binds more; the estimator's ``lr`` and
        ``weight_decay`` override what it binds for these two), with its fused kernel where
        torch has one, unless ``foreach`` or ``fused`` is bound.

    weight_decay : float or "auto", default="auto"
        The optimizer's weight decay. "auto" is 0.03 while the neighbor
        loss is on (see ``neighbor_weight``), which orders the codes
        itself, and 0.3 otherwise, where on the decoder's first layer it
        makes every unit of code costlier, so that codes cluster more by
        content. Both values suit AdamW's decoupled decay, which shrinks
        the weights by ``lr * weight_decay`` at every step; set a number
        for another optimizer. The decay in effect is in
        ``net_.optimizer_.param_groups``.

    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Run after skvae's own, e.g. ``Checkpoint``, ``EpochScoring``,
        ``LRScheduler`` or ``LoadInitState``, used as given (as skorch
        does: a callback keeps its state from call to call). Without
        ``early_stopping`` there is no validation data: monitor the
        training loss (``Checkpoint(monitor="train_loss_best")``).

    neighbor_weight : float or "auto", default="auto"
        Weight of a loss that keeps the training data's neighborhoods on
        the map (UMAP's cross-entropy between a fuzzy k-nearest-neighbor
        graph of the rows and their codes, McInnes et al. 2018; see the
        user guide's page on 2-D maps), added to the negative ELBO. It
        is recorded apart in the history (``train_neighbor``), beside the
        negative ELBO (``train_nelbo``). It gathers the codes by
        neighborhood, which makes better maps and better features for a
        classifier, at a cost in ELBO that grows with the weight, and in
        fit time and memory (the graph takes about 2 KB per row). "auto"
        weighs it 200 for ``n_components<=2``, a map to look at, halved
        with every two dimensions more (25 at 8, 12.5 at 10), and turns it
        off above 10 dimensions, where the code serves the density model
        (``score``, ``sample``), and for a conditional model (its
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
        1 prints the choices a fit resolved (architecture, likelihood,
        neighbor loss, epochs, learning rate, weight decay, device) and the
        losses of each epoch; 2 also shows a progress bar. A fit of
        MNIST-sized data takes minutes on a CPU: ``verbose=2`` shows how
        far it is.

    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and noise; the same seed gives the
        same model on the CPU. Global torch and numpy states are untouched
        (None draws fresh entropy each call).

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net: ``net_.history`` has the losses per epoch and
        batch (``train_loss``, the objective trained on; ``train_nelbo``,
        its negative ELBO part, comparable with a validation split's
        ``valid_loss``; ``train_neighbor``, the weighted neighbor loss,
        while ``neighbor_weight`` is on; ``train_adversary``, a conditional
        model's adversary term), ``net_.module_`` the torch module.

    n_components_ : int
        Number of latent dimensions of the fitted network.

    n_iter_ : int
        Number of training epochs completed, over all calls.

    loss_curve_ : list of float
        Training loss of each completed epoch: the negative ELBO per sample,
        plus the weighted neighbor loss while ``neighbor_weight`` is on (so
        it drops when the weight is switched off between calls) and a
        conditional model's adversary term (see ``net_``). A validation
        split's loss (``early_stopping``) is the negative ELBO alone.

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
        near 0 for an unused one. Like the attributes below, it describes
        all the data the model was trained on (the ``X`` of ``fit``, or every
        ``partial_fit`` call's), estimated from the codes of a uniform
        random sample of those rows (up to 100,000 with ``sampler="gmm"``,
        else 1,024), each encoded when its call trained.

    code_range_ : ndarray of shape (2, `n_components_`)
        The 1% and 99% quantiles of each dimension of the training codes:
        where :func:`skvae.plotting.plot_manifold` looks.

    n_active_units_ : int
        Latent dimensions whose posterior mean varies across the training rows
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
        "max_epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "optimizer": [callable],
        "weight_decay": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
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
        hidden_dim=256, max_epochs="auto", batch_size=32, lr="auto", lr_schedule="onecycle",
        kl_warmup_epochs=0, optimizer=torch.optim.AdamW, weight_decay="auto", callbacks=None,
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
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, classes=None):
        """Train one more epoch on ``X`` (starting a model if needed).

        One epoch at the peak learning rate, without early stopping, as
        scikit-learn's MLP does; the optimizer's running state carries over
        from call to call, and the code statistics (``sampler_``,
        ``code_range_``, ...) describe the rows of every call so far.

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
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X, y, *, incremental, classes=None):
        """Train on ``X``: the whole of ``fit``, or (``incremental``) of ``partial_fit``.

        ``fit`` trains ``max_epochs`` epochs of a new network, or with
        ``warm_start`` of the fitted one; ``partial_fit`` one epoch of the
        fitted network, if any. Each call builds a new net from the current
        parameters; continuing, it starts from the fitted net's weights,
        optimizer state and history. Nothing of the estimator changes unless
        the call succeeds; a training interrupted by Ctrl-C or early
        stopping succeeds with the model trained so far.
        """
        continuing = self.__sklearn_is_fitted__() and (incremental or self.warm_start)
        validation = self.early_stopping and not incremental
        with self._restored_on_error():
            self._check_param_contents()
            check_callbacks(self.callbacks, validation)
            device = resolve_device(self.device)
            seed = _draw_seed(self.random_state)
            if continuing:
                module = self._continued_module()
                X, _ = self._validate_X(X, reset=False, training=True)
                condition = self._count_classes(y, len(X),
                                                "partial_fit" if incremental else "fit")
            else:
                X, _ = self._validate_X(X, reset=True)
                condition = self._fit_classes(y, len(X), classes)
                module = self._module_params(self.architecture_, self._event_shape(),
                                             self.likelihood_, self._condition_dim())
            if validation:
                self._check_validation_rows(len(X))
            # A warm-started fit holds out the same rows as the fit before it.
            split_seed = self._split_seed if continuing else seed
            training = self._training(module["latent_dim"],
                                      self._n_train(len(X)) if validation else len(X),
                                      incremental)
            net = self._make_net(module, training, incremental=incremental,
                                 split_seed=split_seed, device=device)
            # Continuing draws another seed each call, so that it does not
            # replay the first epochs' shuffling and noise.
            seed = (seed + self.n_iter_ + 1) % INT32_MAX if continuing else seed
            with _seeded_torch(seed, device):
                if continuing:
                    net.initialize_from(self.net_)
                else:
                    net.initialize()
            graph = None
            if training.neighbor_weight:
                graph = fuzzy_graph(X, self.n_neighbors, random_state=seed,
                                    groups=None if condition is None else condition.argmax(axis=1))
            if self.verbose:
                print(self._describe(module, training, device), flush=True)
            with _seeded_torch(seed, device):
                net.partial_fit(TrainingData(X, condition, graph))
            sample = self._code_sample_of(net, X, seed, merge=incremental and continuing)
            if not (incremental or self.warm_start):
                # Only continued training needs the optimizer's running state
                # (Adam's: twice the weights); without it the fitted model,
                # and what pickles and travels to Dask workers, is its weights.
                net.optimizer_.state.clear()
            stats = _codes.code_statistics(sample, sampler=self.sampler,
                                           n_sampler_components=self.n_sampler_components,
                                           seed=seed)
            self.net_ = net
            self.n_components_ = module["latent_dim"]
            self.device_ = device
            self.loss_curve_ = [float(epoch["train_loss"]) for epoch in net.history
                                if "train_loss" in epoch]
            self.n_iter_ = len(self.loss_curve_)
            self.kl_per_dim_ = stats.kl_per_dim
            self.n_active_units_ = stats.n_active_units
            self.code_range_ = stats.code_range
            if stats.sampler is None:
                vars(self).pop("sampler_", None)
            else:
                self.sampler_ = stats.sampler
            self._code_sample = _codes.kept(sample, seed)
            self._split_seed = split_seed
        if len(X) > 1 and self.n_active_units_ < self.n_components_ / 2:
            warn_user(
                f"Only {self.n_active_units_} of {self.n_components_} latent dimensions are "
                "active; the others collapsed to the prior and carry no information. Train "
                f"longer, lower beta (now {self.beta:g}), add a KL warm-up, or use a smaller "
                "n_components."
            )
        return self

    @contextmanager
    def _restored_on_error(self):
        """Restore the estimator's attributes if the block raises.

        A fit works on new objects (a new net, which copies the fitted
        one's state when continuing) and only rebinds attributes, so a
        shallow copy of the attribute dict is the whole previous state.
        """
        saved = dict(vars(self))
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(saved)
            raise

    def _check_param_contents(self):
        """What ``_parameter_constraints`` cannot say: the contents of tuples and lists."""
        _layout.as_image_shape(self.image_shape)
        _layout.positive_ints(self.channels, "channels", range(1, 9), "1 to 8")

    def _validate_X(self, X, *, reset, training=None):
        """Check ``X``; return it as ``(n_samples, *event_shape)``, and whether to clip it.

        The dtype is kept (casting to float32 happens batch by batch on the
        way to the device), so large or memory-mapped inputs are not copied
        whole. With ``reset``, the layout attributes are (re)set from ``X``
        and the parameters. Training data (``training``, by default
        ``reset``) is held to the Bernoulli range strictly; new data with a
        few entries outside [0, 1] is to be clipped, batch by batch.
        """
        ndim, data_shape, X = _layout.read_images(X)
        if not reset:
            _layout.check_new_layout(data_shape, self.image_shape_, self.n_features_in_)
        X = validate_data(self, X, reset=reset, dtype="numeric")
        lo, hi = _layout.value_range(X)
        if reset:
            self.input_ndim_ = ndim
            self.image_shape_ = _layout.fit_image_shape(self.image_shape, data_shape,
                                                        self.n_features_in_)
            self.architecture_ = _layout.resolve_architecture(self.architecture,
                                                              self.image_shape_)
            self.likelihood_ = _layout.resolve_likelihood(self.likelihood, lo, hi)
            if self.likelihood == "auto" and self.likelihood_ == "gaussian" \
                    and self.image_shape_ is not None:
                warn_user(
                    f"X holds images with values from {lo:g} to {hi:g}, outside [0, 1], so "
                    "likelihood='auto' chose likelihood_='gaussian'. If these are pixel "
                    "intensities, scale them to [0, 1] (divide 8-bit images by 255, or use "
                    "sklearn.preprocessing.MinMaxScaler) for the Bernoulli image model; "
                    "pass likelihood='gaussian' to keep the Gaussian one without this "
                    "warning."
                )
        clip = False
        if self.likelihood_ == "bernoulli":
            outside = _layout.count_outside_unit_interval(
                X, lo, hi, strict=reset if training is None else training)
            if outside:
                warn_user(
                    f"X ranges from {lo:.6g} to {hi:.6g}, outside the [0, 1] the model was "
                    f"trained on ({outside} of its {X.size} entries); clipped to [0, 1]. Use "
                    "MinMaxScaler(clip=True) upstream to clip explicitly."
                )
                clip = True
        return X.reshape(len(X), *self._event_shape()), clip

    def _event_shape(self):
        """The shape of one sample as the network sees it."""
        return _layout.event_shape(self.architecture_, self.image_shape_, self.n_features_in_)

    def _fit_classes(self, y, n_samples, classes=None):
        """Learn ``classes_`` and their counts from ``y``; return its one-hot conditions.

        None for an unconditional model. ``classes`` (from ``partial_fit``)
        lists classes that later calls may bring.
        """
        for name in ("classes_", "class_count_", "class_prior_"):
            vars(self).pop(name, None)
        if not self.conditional:
            return None
        y = _labels.check_labels(_labels.require_labels(y))
        self.classes_ = _labels.fit_classes(y, n_samples, classes)
        condition = _labels.one_hot(self.classes_, y)
        self._set_class_counts(condition.sum(axis=0, dtype=np.float64))
        return condition

    def _count_classes(self, y, n_samples, method):
        """One-hot conditions of ``y`` for continued training, counted into ``class_prior_``."""
        if not hasattr(self, "classes_"):
            return None
        condition = _labels.conditions(self.classes_, y, n_samples, method)
        self._set_class_counts(self.class_count_ + condition.sum(axis=0))
        return condition

    def _set_class_counts(self, counts):
        self.class_count_ = counts
        self.class_prior_ = counts / counts.sum()

    def _condition_dim(self):
        """Width of the one-hot condition of a network for ``conditional``.

        The number of classes of the fitted model; 1 stands for "some" when
        a conditional network is asked of a model fitted without classes.
        """
        return len(getattr(self, "classes_", [None])) if self.conditional else 0

    def _module_params(self, architecture, event_shape, likelihood, condition_dim):
        """The ``module__*`` parameters of the net the parameters ask for."""
        params = {"architecture": architecture, "event_shape": tuple(event_shape),
                  "likelihood": likelihood, "latent_dim": int(self.n_components),
                  "hidden_dim": int(self.hidden_dim), "condition_dim": condition_dim}
        if architecture == "conv":
            params["channels"] = tuple(int(c) for c in self.channels)
        if condition_dim:
            params["adversary_weight"] = float(self.adversary_weight)
        return params

    def _continued_module(self):
        """The fitted net's module parameters, if the structural parameters still match.

        The parameters are resolved as a new fit would resolve them, against
        the fitted layout: ``image_shape=None`` means the training images'
        own shape, and tabular data when the model was fitted on 2-D ``X``.
        """
        fitted = self.net_.get_params_for("module")
        image_shape = _layout.as_image_shape(self.image_shape)
        if image_shape is None and self.input_ndim_ > 2:
            image_shape = self.image_shape_
        architecture = _layout.resolve_architecture(self.architecture, image_shape)
        wanted = self._module_params(
            architecture,
            image_shape if architecture == "conv" else (self.n_features_in_,),
            self.likelihood_ if self.likelihood == "auto" else self.likelihood,
            self._condition_dim())
        changes = _structural_changes(fitted, wanted)
        if changes:
            raise ValueError(
                "Cannot continue training: these parameters shape the network and "
                f"changed since it was fitted: {'; '.join(changes)}. Set them back, or "
                "train a new network with fit and warm_start=False."
            )
        return fitted

    def _n_train(self, n_samples):
        """The rows left to train on when early stopping holds out its share."""
        return n_samples - math.ceil(self.validation_fraction * n_samples)

    def _check_validation_rows(self, n_samples):
        """Early stopping needs a row to validate on and one to train on."""
        if self._n_train(n_samples) >= 1:
            return
        needed = next(n for n in range(2, 10**9) if self._n_train(n) >= 1)
        raise ValueError(
            f"early_stopping=True holds out validation_fraction="
            f"{self.validation_fraction:g} of X to validate on, which leaves no row to "
            f"train on with {n_samples} sample(s). Pass at least {needed} samples, lower "
            "validation_fraction, or set early_stopping=False."
        )

    def _neighbor_weight(self, n_components):
        """The weight of the neighbor-embedding loss that ``neighbor_weight`` stands for."""
        return _auto.neighbor_weight(self.neighbor_weight, n_components, self.conditional)

    def _training(self, n_components, n_train, incremental=False):
        """The training choices "auto" parameters resolve to (:func:`skvae._auto.training`)."""
        return _auto.training(self._neighbor_weight(n_components), lr=self.lr,
                              weight_decay=self.weight_decay, max_epochs=self.max_epochs,
                              n_components=n_components, n_train=n_train,
                              incremental=incremental)

    def _make_net(self, module, training, *, incremental, split_seed, device):
        """A new, uninitialized net for one ``fit`` (or, ``incremental``, ``partial_fit``).

        ``module`` holds the ``module__*`` parameters, ``training`` the
        resolved training choices (:func:`skvae._auto.training`). The user's callbacks
        run after skvae's own, so that they see what those set. A
        ``partial_fit`` trains one epoch at the peak learning rate without
        early stopping, as scikit-learn's MLP does.
        """
        own = []
        schedule = None if incremental else lr_schedule(self.lr_schedule)
        if schedule is not None and not any(
                isinstance(cb, LRScheduler) or isinstance(cb, type) and issubclass(cb, LRScheduler)
                for cb in callback_instances(self.callbacks)):
            own.append(("lr_schedule", schedule))
        if self.kl_warmup_epochs:
            own.append(("kl_warmup", KLWarmup(self.kl_warmup_epochs, float(self.beta))))
        if self.verbose >= 2:
            own.append(("progress_bar", ProgressBar()))
        validation = self.early_stopping and not incremental
        if validation:
            own.append(("early_stopping", EarlyStopping(
                patience=self.n_iter_no_change, load_best=True)))
        return VAENet(
            **{f"module__{key}": value for key, value in module.items()},
            criterion__beta=float(self.beta),
            criterion__neighbor_weight=training.neighbor_weight,
            optimizer=self.optimizer,
            optimizer__weight_decay=training.weight_decay,
            lr=training.lr,
            max_epochs=training.max_epochs,
            batch_size=int(self.batch_size),
            train_split=(ValidSplit(self.validation_fraction, random_state=split_seed)
                         if validation else None),
            callbacks=own + list(self.callbacks or []),
            precision=self.precision,
            channels_last=bool(self.channels_last),
            compile_training=bool(self.compile),
            device=device,
            verbose=int(self.verbose >= 1),
        )

    def _describe(self, module, training, device):
        """One line on the choices a fit resolved, for ``verbose`` output."""
        if module["architecture"] == "conv":
            net = "convolutional net for {} images".format("x".join(map(str, self.image_shape_)))
        else:
            net = f"fully connected net for {self.n_features_in_} features"
            side = math.isqrt(self.n_features_in_)
            if side >= 4 and side * side == self.n_features_in_:
                net += (f" (if the rows are images, image_shape=({side}, {side}) trains "
                        "the convolutional net)")
        neighbors = (f", neighbor loss weight {training.neighbor_weight:.3g}"
                     if training.neighbor_weight else ", no neighbor loss")
        return (f"VAETransformer: a {net}, {module['likelihood']} likelihood, "
                f"{module['latent_dim']} latent dimensions{neighbors}, {training.max_epochs} "
                f"epoch{'s' * (training.max_epochs != 1)}, learning rate {training.lr:.3g}, "
                f"weight decay {training.weight_decay:.3g}, on {device}.")

    def _code_sample_of(self, net, X, seed, *, merge):
        """The code sample the statistics are computed from, for a trained ``net``.

        From ``X`` alone, or merged (``merge``) with the one kept from the
        calls before. Raises :class:`TrainingDivergedError` if the weights
        or the codes are not finite: a step can turn them so after the
        last loss was recorded.
        """
        n_rows = _codes.SAMPLER_ROWS if self.sampler == "gmm" else _codes.DIAGNOSTIC_ROWS
        try:
            if not all(torch.isfinite(p).all() for p in net.module_.parameters()):
                raise FloatingPointError
            sample = _codes.encode_sample(net, X, n_rows, seed)
        except FloatingPointError:
            raise TrainingDivergedError(
                "The network's weights or codes became NaN or infinite in the last steps "
                "of training, though no batch loss had. Training stopped; a "
                "VAETransformer keeps the state it had before this call. Try a lower "
                f"learning rate (lr={net.lr:g} now), e.g. lr={net.lr / 10:g}, or check the "
                "data for extreme values."
            ) from None
        if merge:
            sample = _codes.merge_samples(self._code_sample, sample, n_rows, seed)
        return sample

    # -- inference ----------------------------------------------------------
    def transform(self, X, return_std=False):
        """Posterior means of the latent codes.

        Parameters
        ----------
        X : array-like, same layouts as in :meth:`fit`
            Data to encode.
        return_std : bool, default=False
            Also return the posterior standard deviations, the model's
            uncertainty about each code.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), float32
            Means of q(z | x).
        Z_std : ndarray of shape (n_samples, n_components), float32
            Standard deviations of q(z | x); only with ``return_std=True``
            (a plain array even under ``set_output(transform="pandas")``,
            which wraps the first output only).
        """
        check_is_fitted(self)
        X, clip = self._validate_X(X, reset=False)
        mu, log_var = self.net_.encode(X, clip=clip)
        if return_std:
            return mu, np.exp(0.5 * log_var)
        return mu

    def inverse_transform(self, Z, y=None):
        """Decode latent codes to data (the decoder's mean).

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of :meth:`transform`.
        y : label or array-like of shape (n_samples,), default=None
            Class to draw each code as; required by a conditional model,
            an error for any other. ``inverse_transform(transform(X), y=k)``
            redraws the handwriting of ``X`` as class k.

        Returns
        -------
        X : ndarray, float32, in the layout ``fit`` was given
            Pixel probabilities for the Bernoulli likelihood, means for
            the Gaussian one.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32, input_name="Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"Z has {Z.shape[1]} columns but the model has {self.n_components_} latent "
                f"dimensions; pass codes of shape (n_samples, {self.n_components_}), e.g. the "
                "output of transform."
            )
        condition = _labels.conditions(getattr(self, "classes_", None), y, len(Z),
                                       "inverse_transform")
        return self._to_layout(self.net_.decode(Z, condition))

    def sample(self, n_samples=1, random_state=None, *, y=None):
        """Draw new data: codes from the sampler (``sampler``) through the decoder.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw of the codes; the same seed gives the same samples.
        y : label or array-like of shape (n_samples,), default=None
            Class of the samples; required by a conditional model, an error
            for any other.

        Returns
        -------
        X : ndarray of shape (n_samples, ...), float32, in the layout of fit
            The decoder's mean for each drawn code.
        """
        check_is_fitted(self)
        if isinstance(n_samples, (bool, np.bool_)):
            raise TypeError(f"n_samples must be an int >= 1, not the bool {n_samples!r}.")
        check_scalar(n_samples, "n_samples", Integral, min_val=1)
        condition = _labels.conditions(getattr(self, "classes_", None), y, n_samples, "sample")
        Z = _codes.draw_codes(getattr(self, "sampler_", None), n_samples, self.n_components_,
                              check_random_state(random_state))
        return self._to_layout(self.net_.decode(Z, condition))

    def score_samples(self, X, y=None, n_importance=1):
        """Lower bound on log p(x) for each sample, in nats.

        With ``n_importance=1`` (the default) this is the evidence lower
        bound (ELBO): log p(x | z) summed over all features, for one
        posterior sample z, minus KL(q(z | x) || p(z)) in closed form. With
        ``n_importance=K > 1`` it is the importance-weighted bound of Burda
        et al. (2015) with K posterior samples, which is tighter on average
        and rises towards log p(x) as K grows. Higher is better. A
        conditional model scores log p(x | y), or without ``y`` the bound
        on log p(x) = log sum_k p(k) p(x | k), with the training class
        frequencies ``class_prior_`` as p(k) (a pass per class). Every row
        uses the same posterior noise, so a row's score does not depend on
        the other rows of the call, up to float32 rounding in the network.

        Parameters
        ----------
        X : array-like, same layouts as in :meth:`fit`
            Data to score.
        y : array-like of shape (n_samples,), default=None
            Class labels of a conditional model (or None, see above);
            ignored by any other.
        n_importance : int, default=1
            Number of posterior samples K.

        Returns
        -------
        log_p : ndarray of shape (n_samples,), float32
            The bound for each sample.
        """
        check_is_fitted(self)
        check_scalar(n_importance, "n_importance", Integral, min_val=1)
        X, clip = self._validate_X(X, reset=False)
        classes = getattr(self, "classes_", None)
        condition = (_labels.conditions(classes, y, len(X), "score_samples")
                     if classes is not None and y is not None else None)
        return self.net_.log_bound(X, condition, n_importance,
                                   class_prior=getattr(self, "class_prior_", None),
                                   clip=clip).astype(np.float32)

    def score(self, X, y=None, n_importance=1):
        """Mean lower bound on log p(x) per sample, in nats (higher is better).

        The ELBO by default, so ``GridSearchCV`` can select models by
        held-out ELBO with no scorer; see :meth:`score_samples`.

        Parameters
        ----------
        X : array-like, same layouts as in :meth:`fit`
            Data to score.
        y : array-like of shape (n_samples,), default=None
            Class labels; see :meth:`score_samples`.
        n_importance : int, default=1
            Number of posterior samples K of the importance-weighted bound.

        Returns
        -------
        score : float
            The mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X, y, n_importance=n_importance),
                             dtype=np.float64))

    def _to_layout(self, flat):
        return _layout.to_layout(flat, self.input_ndim_, self.image_shape_)

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

    @property
    def _n_features_out(self):
        check_is_fitted(self)
        return self.n_components_

    def __getstate__(self):
        state = super().__getstate__()
        state["_skvae_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_skvae_version", "unknown")
        if saved != __version__:
            warn_user(
                f"This VAETransformer was saved by skvae {saved} and is loaded by "
                f"skvae {__version__}; it may not work as before. Refit it, or load "
                f"it with skvae {saved}."
            )
        super().__setstate__(state)


def _draw_seed(random_state):
    """A torch seed from ``random_state``: the same for an int, new each call otherwise.

    ``None`` draws from fresh entropy rather than numpy's global state,
    which a fit leaves untouched.
    """
    if random_state is None:
        return int(np.random.default_rng().integers(INT32_MAX))
    return int(check_random_state(random_state).randint(INT32_MAX))


@contextmanager
def _seeded_torch(seed, device):
    """Seed torch for one fit without touching the caller's RNG state."""
    device = torch.device(device)
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.random.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(cuda[0]):
                torch.cuda.manual_seed(seed)
        yield


def _structural_changes(fitted, wanted):
    """Estimator parameters whose change separates module params ``wanted`` from ``fitted``."""
    changes = []
    for key, param in MODULE_PARAMS.items():
        if key == "event_shape" and fitted["architecture"] != wanted["architecture"]:
            continue  # the shape a network takes follows its architecture
        if key in fitted and key in wanted and fitted[key] != wanted[key]:
            old, new = fitted[key], wanted[key]
            if key == "condition_dim":
                old, new = bool(old), bool(new)
            changes.append(f"{param} ({old!r} when fitted, {new!r} now)")
    return changes
