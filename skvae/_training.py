"""How a :class:`skvae.VAETransformer` fit builds, continues and commits its net.

The estimator's parameters split in two. *Structural* ones shape the
network (:data:`MODULE_PARAMS` maps each ``module__*`` parameter of the net
to the estimator parameter behind it); training can only continue while
they are unchanged. Every other parameter configures training and takes
effect at each ``fit`` or ``partial_fit``: each call builds a new net from
the current parameters and, when continuing, hands it a copy of the fitted
network, optimizer state and history (:meth:`skvae._net.VAENet.resume`).
"""

import multiprocessing
import warnings
from contextlib import contextmanager

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, ProgressBar
from skorch.callbacks.scoring import ScoringBase
from skorch.dataset import ValidSplit
from sklearn.utils import check_random_state

from . import _labels as labels, _layout as layout
from ._callbacks import KLWarmup, lr_schedule
from ._codes import summarise_codes, warn_if_collapsed
from ._neighbors import fuzzy_graph
from ._net import VAENet

INT32_MAX = np.iinfo(np.int32).max

#: ``module__*`` parameter of the net -> the estimator parameter that sets it.
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

#: What ``neighbor_weight="auto"`` means for an unconditional model, by
#: ``n_components``; 0 elsewhere. A conditional model gets 0: the loss's
#: repulsion between the batch's codes sorts the classes apart in the code,
#: and the decoder then takes the class from there instead of from ``y``.
AUTO_NEIGHBOR_WEIGHT = {2: 200.0}

#: Names of the worker processes of joblib's process-based backends (loky,
#: multiprocessing): the ones ``GridSearchCV(n_jobs>1)`` starts on one machine.
_LOCAL_WORKER_NAMES = ("LokyProcess", "ForkPoolWorker", "SpawnPoolWorker",
                       "ForkServerPoolWorker")


def warn_if_sharing_gpu():
    """Warn when a CUDA fit runs in one of several local joblib workers.

    Each such process would hold its own copy of the model, data and CUDA
    context on the same GPU, and they would queue for it rather than run in
    parallel.
    """
    if multiprocessing.current_process().name.startswith(_LOCAL_WORKER_NAMES):
        warnings.warn(
            "VAETransformer is training on CUDA inside a joblib worker process "
            "(e.g. GridSearchCV(n_jobs>1)): several processes share one GPU, each "
            "with its own CUDA context and copy of the data, and gain little. Use "
            "n_jobs=1 on one GPU, or scale out with one GPU per worker (joblib's "
            "Dask backend with dask_cuda.LocalCUDACluster): see 'Scaling out' in "
            "the README.",
            RuntimeWarning,
            stacklevel=6,
        )


def resolve_device(device):
    """The torch device string ``device`` ("auto", "cpu", "cuda", ...) stands for."""
    device = str(device)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        kind = torch.device(device).type
    except RuntimeError as error:
        raise ValueError(f"device={device!r} is not a torch device; use 'auto', 'cpu', "
                         "'cuda' or e.g. 'cuda:1'.") from error
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not "
                         "available; use device='cpu' or device='auto'.")
    if kind == "cuda":
        warn_if_sharing_gpu()
    return device


@contextmanager
def seeded_torch(seed, device):
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


@contextmanager
def rollback_on_error(estimator):
    """Restore ``estimator``'s attributes if the block raises.

    A fit works on new objects (a new net; a copy of the fitted one when
    continuing) and only rebinds attributes, so a shallow copy of the
    attribute dict is the whole previous state.
    """
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


def module_params(estimator, *, architecture, event_shape, likelihood, condition_dim):
    """The ``module__*`` parameters of the net the estimator's parameters ask for."""
    params = {"architecture": architecture, "event_shape": tuple(event_shape),
              "likelihood": likelihood, "latent_dim": int(estimator.n_components),
              "hidden_dim": int(estimator.hidden_dim), "condition_dim": condition_dim}
    if architecture == "conv":
        params["channels"] = tuple(int(c) for c in estimator.channels)
    if condition_dim:
        params["adversary_weight"] = float(estimator.adversary_weight)
    return params


def structural_changes(fitted, wanted):
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


def callback_instances(callbacks):
    """The callbacks of a ``callbacks`` parameter, without their names."""
    return [cb[1] if isinstance(cb, tuple) else cb for cb in callbacks or []]


def make_net(estimator, module, *, incremental, seed, device):
    """A new, uninitialized net for one ``fit`` (or, ``incremental``, ``partial_fit``).

    ``module`` holds the ``module__*`` parameters. The user's callbacks run
    after skvae's own, so that they see what those set, and are used as
    given, as skorch does (a logger keeps its writer). A ``partial_fit``
    trains one epoch at the peak learning rate without early stopping, as
    scikit-learn's MLP does.
    """
    own = []
    schedule = None if incremental else lr_schedule(estimator.lr_schedule)
    if schedule is not None and not any(isinstance(cb, LRScheduler)
                                        for cb in callback_instances(estimator.callbacks)):
        own.append(("lr_schedule", schedule))
    if estimator.kl_warmup_epochs:
        own.append(("kl_warmup", KLWarmup(estimator.kl_warmup_epochs,
                                          float(estimator.beta))))
    if estimator.verbose >= 2:
        own.append(("progress_bar", ProgressBar()))
    validation = estimator.early_stopping and not incremental
    if validation:
        own.append(("early_stopping", EarlyStopping(
            patience=estimator.n_iter_no_change, load_best=True)))
    return VAENet(
        **{f"module__{key}": value for key, value in module.items()},
        criterion__beta=float(estimator.beta),
        criterion__neighbor_weight=neighbor_weight(estimator, module["latent_dim"]),
        optimizer=estimator.optimizer,
        optimizer__weight_decay=float(estimator.weight_decay),
        lr=float(estimator.lr),
        max_epochs=1 if incremental else estimator.max_epochs,
        batch_size=int(estimator.batch_size),
        # Seeded by random_state alone, so that a warm-started fit holds
        # out the same rows as the fit before it.
        train_split=(ValidSplit(estimator.validation_fraction, random_state=seed)
                     if validation else None),
        callbacks=own + list(estimator.callbacks or []),
        precision=estimator.precision,
        channels_last=bool(estimator.channels_last),
        compile_training=bool(estimator.compile),
        device=device,
        verbose=int(estimator.verbose >= 1),
    )


def check_callbacks(callbacks, validation):
    """Each callback is a skorch one, and one that reads validation scores gets them."""
    for cb in callbacks or []:
        if isinstance(cb, tuple) and not (len(cb) == 2 and isinstance(cb[0], str)):
            cb = None
        cb = cb[1] if isinstance(cb, tuple) else cb
        if not (isinstance(cb, Callback) or isinstance(cb, type) and issubclass(cb, Callback)):
            raise ValueError(f"callbacks must be a list of skorch callbacks or (name, "
                             f"callback) tuples; got {cb!r}.")
        if validation:
            continue
        monitor = getattr(cb, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid_"):
            raise ValueError(
                f"{type(cb).__name__} monitors {monitor!r}, but this call holds out no "
                "validation data: set early_stopping=True (which holds out "
                "validation_fraction of X in fit), or monitor the training loss, e.g. "
                f"{type(cb).__name__}(monitor='{monitor.replace('valid_', 'train_', 1)}')."
            )
        if isinstance(cb, ScoringBase) and not cb.on_train:
            raise ValueError(
                f"{type(cb).__name__}({cb.name!r}) scores the validation data, but this call "
                "holds out none: set early_stopping=True, or score the training data "
                "with on_train=True."
            )


def fit_net(estimator, X, y, *, incremental, classes=None):
    """Train ``estimator`` on ``X``: the whole of its ``fit``, or ``partial_fit``.

    ``fit`` trains ``max_epochs`` epochs of a new network, or with
    ``warm_start`` of the fitted one; ``partial_fit`` (``incremental``) one
    epoch of the fitted network, if any. Nothing of the estimator changes
    unless the call succeeds (:func:`rollback_on_error`); a training
    interrupted by Ctrl-C or early stopping succeeds with the model trained
    so far.
    """
    continuing = estimator.__sklearn_is_fitted__() and (incremental or estimator.warm_start)
    method = "partial_fit" if incremental else "fit"
    with rollback_on_error(estimator):
        check_param_values(estimator)
        check_callbacks(estimator.callbacks, estimator.early_stopping and not incremental)
        device = resolve_device(estimator.device)
        seed = draw_seed(estimator.random_state)
        if continuing:
            module = continued_module(estimator)
            X = layout.validate_X(estimator, X, reset=False, training=True)
            condition = count_classes(estimator, y, len(X), method)
        else:
            X = layout.validate_X(estimator, X, reset=True)
            condition = fit_classes(estimator, y, len(X), classes)
            module = module_params(
                estimator, architecture=estimator.architecture_,
                likelihood=estimator.likelihood_, event_shape=layout.event_shape(estimator),
                condition_dim=condition_dim(estimator, estimator.conditional))
        net = make_net(estimator, module, incremental=incremental, seed=seed, device=device)
        # Continuing draws another seed each call, so that it does not replay
        # the first epochs' shuffling and noise.
        seed = (seed + estimator.n_iter_ + 1) % INT32_MAX if continuing else seed
        with seeded_torch(seed, device):
            if continuing:
                net.resume(estimator.net_)
            else:
                net.initialize()
        data = {"x": X, "condition": condition}
        if net.criterion__neighbor_weight:
            data["graph"] = fuzzy_graph(
                X, estimator.n_neighbors, random_state=seed,
                groups=None if condition is None else condition.argmax(axis=1))
        with seeded_torch(seed, device):
            net.partial_fit(data)
        if not (incremental or estimator.warm_start):
            # Only continued training needs the optimizer's running state
            # (Adam's: twice the weights); without it the fitted model,
            # and what pickles and travels to Dask workers, is its weights.
            net.optimizer_.state.clear()
        set_fitted(estimator, net, X, seed, device)
    return estimator


def neighbor_weight(estimator, n_components):
    """The weight of the neighbor-embedding loss that ``neighbor_weight`` stands for."""
    if estimator.neighbor_weight == "auto":
        return 0.0 if estimator.conditional else AUTO_NEIGHBOR_WEIGHT.get(n_components, 0.0)
    return float(estimator.neighbor_weight)


def draw_seed(random_state):
    """A torch seed from ``random_state``: the same for an int, new each call for None."""
    return int(check_random_state(random_state).randint(INT32_MAX))


def check_param_values(estimator):
    """What ``_parameter_constraints`` cannot say: the contents of tuples and lists."""
    layout.as_image_shape(estimator.image_shape)
    layout.positive_ints(estimator.channels, "channels", range(1, 9), "1 to 8")


def continued_module(estimator):
    """The fitted net's module parameters, if the structural parameters still match.

    The parameters are resolved as a new fit would resolve them, against
    the fitted layout: ``image_shape=None`` means the training images' own
    shape, and tabular data when the model was fitted on 2-D ``X``.
    """
    fitted = estimator.net_.get_params_for("module")
    image_shape = layout.as_image_shape(estimator.image_shape)
    if image_shape is None and estimator.input_ndim_ > 2:
        image_shape = estimator.image_shape_
    architecture = layout.resolve_architecture(estimator.architecture, image_shape)
    wanted = module_params(
        estimator, architecture=architecture,
        event_shape=image_shape if architecture == "conv" else (estimator.n_features_in_,),
        likelihood=(estimator.likelihood_ if estimator.likelihood == "auto"
                    else estimator.likelihood),
        condition_dim=condition_dim(estimator, estimator.conditional))
    changes = structural_changes(fitted, wanted)
    if changes:
        raise ValueError(
            "Cannot continue training: these parameters shape the network and "
            f"changed since it was fitted: {'; '.join(changes)}. Set them back, or "
            "train a new network with fit and warm_start=False."
        )
    return fitted


def condition_dim(estimator, conditional):
    """Width of the one-hot condition of a network for ``conditional``.

    The number of classes of the fitted model; 1 stands for "some" when a
    conditional network is asked of a model fitted without classes.
    """
    return len(getattr(estimator, "classes_", [None])) if conditional else 0


def fit_classes(estimator, y, n_samples, classes=None):
    """Learn ``classes_`` and their counts from ``y``; return its one-hot conditions.

    None for an unconditional model. ``classes`` (from ``partial_fit``)
    lists classes that later calls may bring.
    """
    for name in ("classes_", "class_count_", "class_prior_"):
        vars(estimator).pop(name, None)
    if not estimator.conditional:
        return None
    y = labels.check_labels(labels.require_labels(y))
    estimator.classes_ = labels.fit_classes(y, n_samples, classes)
    condition = labels.one_hot(estimator.classes_, y)
    _set_class_counts(estimator, condition.sum(axis=0, dtype=np.float64))
    return condition


def count_classes(estimator, y, n_samples, method):
    """One-hot conditions of ``y`` for continued training, counted into ``class_prior_``."""
    if not hasattr(estimator, "classes_"):
        return None
    condition = labels.conditions(estimator, y, n_samples, method)
    _set_class_counts(estimator, estimator.class_count_ + condition.sum(axis=0))
    return condition


def _set_class_counts(estimator, counts):
    estimator.class_count_ = counts
    estimator.class_prior_ = counts / counts.sum()


def set_fitted(estimator, net, X, seed, device):
    """Commit a trained ``net`` and what the training codes say of it."""
    vars(estimator).pop("sampler_", None)
    vars(estimator).update(summarise_codes(
        net, X, sampler=estimator.sampler, n_sampler_components=estimator.n_sampler_components,
        seed=seed))
    estimator.net_ = net
    estimator.n_components_ = net.module_.encoder.latent_dim
    estimator.device_ = device
    estimator.loss_curve_ = loss_curve(net)
    estimator.n_iter_ = len(estimator.loss_curve_)
    warn_if_collapsed(estimator.n_active_units_, estimator.n_components_, len(X), estimator.beta)


def loss_curve(net):
    """The training loss of each completed epoch of ``net``'s history."""
    return [float(epoch["train_loss"]) for epoch in net.history if "train_loss" in epoch]
