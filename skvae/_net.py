"""The skorch net that trains a :class:`skvae._modules.VAE`.

skorch runs the training loop (callbacks, history, checkpoints, printing);
this subclass plugs into its documented hooks: ``get_dataset`` and
``get_iterator`` feed the data (see :mod:`skvae._data`), ``get_loss`` is the
criterion's negative ELBO plus the training-only terms (the neighbor loss,
the class adversary's), each recorded in the history, ``infer`` adds
autocast and the compiled training module, and a default callback stops
training on a non-finite loss. The module is built by
:func:`skvae._modules.build_vae` from the net's ``module__*`` parameters, so
the network's structure is part of the net's parameters.
"""

import copy
import inspect
import multiprocessing
import sys
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from scipy.special import logsumexp
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler, PassthroughScoring
from skorch.history import History
from skorch.utils import to_device
from torch import nn

from ._callbacks import DivergenceCheck, TrainingDivergedError
from ._data import Batch, IndexBatches, TrainingData, MemmapDataset, TensorDataset, is_memory_mapped
from ._modules import build_vae
from ._neighbors import NeighborSampler, neighbor_embedding_loss
from ._warn import warn_user

__all__ = ["NegativeELBO", "TrainingDivergedError", "VAENet", "build_optimizer",
           "resolve_device", "warn_if_sharing_gpu"]

#: Rows per forward pass in ``transform``, ``score_samples`` and friends.
INFERENCE_BATCH_SIZE = {"cpu": 1024, "cuda": 8192}

#: Fraction of free device memory the training data may take before fit
#: falls back to keeping it on the host and copying batch by batch.
DEVICE_DATA_FRACTION = 0.5

#: The history's per-epoch record of the loss's parts on the training
#: batches: the negative ELBO (comparable with ``valid_loss``), the weighted
#: neighbor loss and a conditional model's adversary term; ``train_loss`` is
#: their sum.
LOSS_PARTS = ("train_nelbo", "train_neighbor", "train_adversary")  # train_ + terms' keys

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
        warn_user(
            "VAETransformer is training on CUDA inside a joblib worker process "
            "(e.g. GridSearchCV(n_jobs>1)): several processes share one GPU, each "
            "with its own CUDA context and copy of the data, and gain little. Use "
            "n_jobs=1 on one GPU, or scale out with one GPU per worker (joblib's "
            "Dask backend with dask_cuda.LocalCUDACluster): see the user guide's "
            "'Scaling out with Dask'.",
            RuntimeWarning,
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
def _cudnn_autotuning(device):
    """Let cuDNN pick the fastest conv kernels while training on CUDA.

    Training batches have one shape (but the last), so the autotuner's
    one-off search pays for itself; the global flag is restored afterwards.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


@contextmanager
def dask_worker_threads():
    """Give torch the thread count of the Dask worker running this code, if any.

    A Dask worker is lent a number of threads (cores); without this, torch
    sizes its intra-op pool from the environment instead, so several workers
    on one machine would fight over its cores. Outside a Dask worker, and
    wherever ``distributed`` was never imported, nothing changes. The
    calling thread's previous setting is restored afterwards.
    """
    # A process that never imported distributed cannot be one of its
    # workers, and importing it here would cost every fit half a second.
    distributed = sys.modules.get("distributed")
    try:
        worker = distributed.get_worker() if distributed is not None else None
    except ValueError:
        worker = None
    if worker is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(worker.state.nthreads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class NegativeELBO(nn.Module):
    """The loss: minus the ELBO per sample, plus the training-only terms.

    Parameters
    ----------
    beta : float
        Weight of the KL term (beta-VAE); 1 gives the ELBO. Callbacks may
        change it during training (KL warm-up).
    neighbor_weight : float
        Weight of :func:`skvae._neighbors.neighbor_embedding_loss` on
        batches that bring a neighbor of each row; 0 for none.
    neighbor_scale : float
        Factor on the distances between 2-D (or 1-D) codes in that loss;
        codes of ``d > 2`` dimensions have theirs multiplied by
        ``neighbor_scale * 2 / d``.
    """

    def __init__(self, beta=1.0, neighbor_weight=0.0, neighbor_scale=4.0):
        super().__init__()
        self.beta = beta
        self.neighbor_weight = neighbor_weight
        self.neighbor_scale = neighbor_scale

    def terms(self, output, batch, module):
        """The batch means of the loss's parts, as a dict of scalar tensors.

        ``"nelbo"`` is minus the (beta-weighted) ELBO; a training batch of a
        model with a class adversary adds ``"adversary"``, and one that
        brings neighbors, with a neighbor weight, ``"neighbor"`` (weighted).

        Parameters
        ----------
        output : skvae._modules.VAEOutput
            The module's forward pass on ``batch.x``.
        batch : skvae._data.Batch
            The batch.
        module : skvae._modules.VAE
            The module, whose encoder and adversary the training terms use.

        Returns
        -------
        terms : dict of str to Tensor
            Each part, a scalar.
        """
        terms = {"nelbo": -(output.log_lik.mean(dim=0) - self.beta * output.kl).mean()}
        if module.training and module.adversary is not None and batch.condition is not None:
            terms["adversary"] = module.adversary(output.mu, batch.condition).mean()
        if module.training and batch.x_neighbor is not None and self.neighbor_weight:
            mu_neighbor, _ = module.encoder(batch.x_neighbor.flatten(0, 1))
            # More dimensions give the codes more room: the neighborhoods
            # can lie farther apart before the KL term pulls them in.
            scale = self.neighbor_scale * 2 / max(2, output.mu.shape[1])
            terms["neighbor"] = self.neighbor_weight * neighbor_embedding_loss(
                output.mu, mu_neighbor.unflatten(0, batch.x_neighbor.shape[:2]),
                scale, batch.index, batch.neighbor_index).mean()
        return terms

    def forward(self, output, batch, module):
        return sum(self.terms(output, batch, module).values())


def build_optimizer(optimizer, params, **kwargs):
    """``optimizer(params, **kwargs)``, with its fused kernel where torch has one.

    A fused Adam(W) updates every parameter in one kernel instead of a loop
    of per-tensor operations, which shortens a training step of the small
    default net noticeably even on a CPU. Optimizers without a ``fused`` option, torch
    before 2.4 on a CPU (no fused CPU kernels) and an explicit ``fused`` or
    ``foreach`` get the optimizer as asked.

    Parameters
    ----------
    optimizer : type of torch.optim.Optimizer
        The optimizer class, or a callable that makes one.
    params : iterable of torch.nn.Parameter or dict
        What to optimize, as the optimizer takes it.
    **kwargs
        The optimizer's other arguments (``lr``, ``weight_decay``, ...).

    Returns
    -------
    optimizer : torch.optim.Optimizer
        The optimizer, fused when it can be.
    """
    params = list(params)
    explicit = {"fused", "foreach"} & kwargs.keys()
    if "fused" in inspect.signature(optimizer).parameters and not explicit:
        try:
            return optimizer(params, fused=True, **kwargs)
        except RuntimeError:
            pass
    return optimizer(params, **kwargs)


class VAENet(NeuralNet):
    """The skorch ``NeuralNet`` for a :class:`skvae._modules.VAE`.

    Takes the usual ``NeuralNet`` parameters; by default the module is
    :func:`skvae._modules.build_vae`, configured by ``module__*`` parameters
    (``module__architecture``, ``module__event_shape``, ``module__latent_dim``,
    ...), and the criterion :class:`NegativeELBO`. And:

    Parameters
    ----------
    module : callable or torch.nn.Module, default=skvae._modules.build_vae
        As in ``NeuralNet``.
    *args
        ``NeuralNet``'s other positional parameters.
    criterion : type of torch.nn.Module, default=NegativeELBO
        As in ``NeuralNet``.
    precision : {"fp32", "bf16"}, default="fp32"
        "bf16" runs the forward pass under bfloat16 autocast; the loss is
        always accumulated in float32.
    channels_last : bool, default=False
        Keep conv weights and image batches in channels-last memory format.
    compile_training : bool, default=False
        Run training steps through ``torch.compile(module, dynamic=False)``,
        with every training batch of one size. Unlike skorch's own
        ``compile``, ``module_`` stays the plain module, so the net pickles
        and inference runs eagerly on batches of any size.
    **kwargs
        ``NeuralNet``'s other keyword parameters.
    """

    def __init__(self, module=build_vae, *args, criterion=NegativeELBO, precision="fp32",
                 channels_last=False, compile_training=False, **kwargs):
        super().__init__(module, *args, criterion=criterion, **kwargs)
        self.precision = precision
        self.channels_last = channels_last
        self.compile_training = compile_training

    # -- data -------------------------------------------------------------
    def get_dataset(self, X, y=None):
        """Wrap training data (:data:`skvae._data.TrainingData`, or bare rows) as a dataset.

        A memory-mapped ``X`` stays where it is and is read batch by batch;
        other data is copied to the device as float32 once. A graph makes
        each training batch draw a neighbor of each row. ``y`` is unused.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return X
        X, condition, graph = X if isinstance(X, TrainingData) else TrainingData(X)
        if is_memory_mapped(X):
            dataset = MemmapDataset(X, None if condition is None else torch.from_numpy(condition))
        else:
            condition = None if condition is None else self.to_training_tensor(condition)
            dataset = TensorDataset(self.to_training_tensor(X), condition)
        if graph is not None:
            dataset.neighbors = NeighborSampler(graph, dataset.device)
        return dataset

    def to_training_tensor(self, X):
        """Put ``X`` (numeric numpy) on the device as float32 when it fits, else on the host."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        # torch cannot share a read-only buffer (it warns and may write to it).
        X = torch.from_numpy(X if X.flags.writeable else X.copy())
        device = torch.device(self.device)
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if X.nbytes > DEVICE_DATA_FRACTION * free:
                return X.pin_memory()
        return X.to(device)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        data = getattr(dataset_train, "dataset", None)
        if dataset_valid is not None and getattr(data, "neighbors", None) is not None:
            # Validation rows drawn as neighbors would be trained on.
            data.neighbors = data.neighbors.within(dataset_train.indices)
        return dataset_train, dataset_valid

    def get_iterator(self, dataset, training=False):
        return IndexBatches(dataset, self.batch_size, shuffle=training, transfer=self.transfer,
                            drop_ragged=training and self.compile_training)

    def transfer(self, x):
        """Move a batch to the device, in the module's memory format."""
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    # -- training ---------------------------------------------------------
    def get_default_callbacks(self):
        # The loss's parts, averaged over each epoch's training batches.
        parts = [(name, PassthroughScoring(name, lower_is_better=None, on_train=True))
                 for name in LOSS_PARTS]
        return [*super().get_default_callbacks(), *parts,
                ("divergence_check", DivergenceCheck())]

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        # A torch scheduler holds the optimizer, and through it the weights:
        # kept by its callback, it would pickle them a second time with the
        # net. skorch's LRScheduler builds a new one when training begins.
        for _, cb in self.callbacks_:
            if isinstance(cb, LRScheduler):
                cb.lr_scheduler_ = None

    def autocast(self):
        if self.precision == "fp32":
            return nullcontext()
        return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)

    def initialize_optimizer(self, triggered_directly=None):
        """Build the optimizer with :func:`build_optimizer` (fused where possible)."""
        args, kwargs = self.get_params_for_optimizer("optimizer",
                                                     self.get_all_learnable_params())
        self.optimizer_ = build_optimizer(self.optimizer, *args, **kwargs)
        return self

    def initialize_module(self):
        super().initialize_module()
        if self.channels_last:
            self.module_.to(memory_format=torch.channels_last)
        self.__dict__.pop("_compiled", None)
        return self

    def initialize_from(self, previous):
        """Initialize this net to continue ``previous``'s training.

        skorch's way: initialize, then load the fitted module's and
        optimizer's state (the caller has checked that the structures
        match). The net keeps its own settings (learning rate, weight
        decay, batch size, callbacks, ...); ``previous`` is left untouched,
        so a failed continuation can be discarded. The optimizer state
        carries over when the optimizer class is the same.
        """
        self.initialize()
        self.module_.load_state_dict(previous.module_.state_dict())
        for group in self.optimizer_.param_groups:
            # What a torch scheduler resuming at a later epoch needs.
            group["initial_lr"] = group["lr"]
        if type(previous.optimizer_) is type(self.optimizer_):
            # A copy: loading shares tensors already on the right device,
            # and the fused step updates them in place.
            state = copy.deepcopy(previous.optimizer_.state_dict()["state"])
            self.optimizer_.load_state_dict(
                {"state": state, "param_groups": self.optimizer_.state_dict()["param_groups"]})
        # skorch only appends to the history and writes to the current
        # epoch's entry, so the finished epochs can be shared.
        self.history = History(previous.history)
        return self

    def infer(self, x, **fit_params):
        module = self.module_
        if self.compile_training and module.training:
            # Kept in a plain dict: skorch would otherwise register the
            # compiled wrapper as a second module to pickle and optimise.
            cache = self.__dict__.setdefault("_compiled", {})
            if "module" not in cache:
                cache["module"] = torch.compile(module, dynamic=False)
            module = cache["module"]
        batch = x if isinstance(x, Batch) else Batch(x)
        with self.autocast():
            return module(batch.x, batch.condition, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        batch = X if isinstance(X, Batch) else Batch(X)
        with self.autocast():
            terms = self.criterion_.terms(y_pred, batch, self.module_)
        if training:
            # Read in on_batch_end: reading them here, before the backward
            # pass, would wait for the device once more in every step.
            self.__dict__["_loss_terms"] = {name: term.detach() for name, term in terms.items()}
        return sum(terms.values())

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        super().on_batch_end(net, batch=batch, training=training, **kwargs)
        terms = self.__dict__.pop("_loss_terms", None)
        if training and terms is not None:
            # skorch has read this batch's loss by now, so the device is done.
            for name, term in terms.items():
                self.history.record_batch(f"train_{name}", term.item())

    def _not_a_predictor(self, *args, **kwargs):
        raise TypeError(
            "VAENet does not predict: a VAE's forward pass gives several outputs. "
            "Use the VAETransformer that owns this net: transform(X) for codes, "
            "inverse_transform(Z) to decode, score_samples(X) for the ELBO."
        )

    forward = forward_iter = predict = predict_proba = _not_a_predictor

    def __getstate__(self):
        state = super().__getstate__()
        # A compiled module does not pickle; it is rebuilt on the next fit.
        # Loss terms are left over only by a step that raised.
        state.pop("_compiled", None)
        state.pop("_loss_terms", None)
        return state

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            with _cudnn_autotuning(self.device), dask_worker_threads():
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            # skorch's partial_fit swallows the interrupt and keeps the
            # model; say so, since the caller only sees fit return early.
            # EarlyStopping stops training by the same exception.
            if not self._stopped_early():
                done = self.completed_epochs()
                batches = sum("train_loss" in b for b in self.history[-1]["batches"])
                partial = (f" and {batches} batch(es) of epoch {len(self.history)}"
                           if done < len(self.history) else "")
                warn_user(
                    f"Training was interrupted after {done} complete epoch(s){partial}; "
                    "keeping the model trained so far.",
                    RuntimeWarning,
                )
            raise

    def completed_epochs(self):
        """Epochs of the history whose training pass finished."""
        return sum("train_loss" in epoch for epoch in self.history)

    def _stopped_early(self):
        return any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
                   for _, cb in self.callbacks_)

    # -- inference --------------------------------------------------------
    def _inference_batch_size(self):
        return INFERENCE_BATCH_SIZE.get(torch.device(self.device).type, 1024)

    def _batches(self, *arrays, batch_size=None, clip=False):
        """Yield tuples of float32 device tensors of consecutive rows of numpy arrays.

        Only one batch is on the device at a time, so memory-mapped or
        otherwise huge arrays stream through. ``None`` stays ``None``. With
        ``clip``, the first array's batches are clipped to [0, 1].
        """
        batch_size = batch_size or self._inference_batch_size()
        for start in range(0, len(arrays[0]), batch_size):
            # Copies, not views: rows of a read-only memmap must not become
            # a tensor torch could write through.
            batch = [None if a is None else np.array(a[start:start + batch_size],
                                                     dtype=np.float32, order="C")
                     for a in arrays]
            if clip:
                np.clip(batch[0], 0, 1, out=batch[0])
            yield tuple(None if b is None else self.transfer(torch.from_numpy(b))
                        for b in batch)

    def _map_batches(self, fn, *arrays, batch_size=None, clip=False):
        """``fn`` of each batch of ``arrays``, in inference mode, as numpy arrays.

        ``fn`` returns a tensor or a tuple of tensors per batch; their
        batches are concatenated on the host.
        """
        self.module_.eval()
        parts = []
        with dask_worker_threads(), torch.inference_mode(), self.autocast():
            for batch in self._batches(*arrays, batch_size=batch_size, clip=clip):
                out = fn(*batch)
                parts.append(tuple(o.cpu() for o in (out if isinstance(out, tuple) else (out,))))
        joined = tuple(torch.cat(column).numpy() for column in zip(*parts))
        return joined if len(joined) > 1 else joined[0]

    def encode(self, X, clip=False):
        """Posterior means and log-variances of q(z | x), as float32 numpy arrays."""
        def posterior(xb):
            mu, log_var = self.module_.encoder(xb)
            return mu.float(), log_var.float()
        return self._map_batches(posterior, X, clip=clip)

    def decode(self, Z, condition=None):
        """Decoder means for codes ``Z`` (and one-hot conditions), as a numpy array."""
        module = self.module_
        return self._map_batches(
            lambda zb, cb: module.likelihood.mean(module.decode(zb, cb)).float(), Z, condition)

    def _common_noise(self, n_samples, seed):
        """``n_samples`` standard-normal draws shared by every row.

        Common random numbers: a row's score does not depend on which other
        rows share its call (so subsets and reorderings score the same), and
        each row's estimate is still unbiased.
        """
        gen = torch.Generator().manual_seed(seed)
        eps = torch.randn((n_samples, 1, self.module_.encoder.latent_dim), generator=gen)
        return to_device(eps, self.device)

    def log_bound(self, X, condition=None, n_importance=1, class_prior=None, clip=False,
                  seed=0):
        """A lower bound on log p(x), or log p(x | condition), of each row (float64).

        The ELBO with one posterior sample (the KL in closed form), the
        importance-weighted bound of Burda et al. with more. With
        ``class_prior`` and no condition it bounds log p(x) = log sum_k
        p(k) p(x | k): each class's bound is below its log p(x | k), so
        their prior-weighted log-sum-exp is below log p(x). ``seed`` picks
        the posterior noise, shared by every row.
        """
        if class_prior is not None and condition is None:
            bounds = [self.log_bound(X, np.broadcast_to(row, (len(X), len(row))), n_importance,
                                     clip=clip, seed=seed)
                      for row in np.eye(len(class_prior), dtype=np.float32)]
            with np.errstate(divide="ignore"):  # a class never seen has p(k) = 0
                log_prior = np.log(class_prior)
            return logsumexp(np.stack(bounds) + log_prior[:, None], axis=0)
        eps = self._common_noise(n_importance, seed)
        module = self.module_
        if n_importance == 1:
            def elbo(xb, cb):
                output = module(xb, condition=cb, eps=eps)
                return (output.log_lik[0] - output.kl).double()
            return self._map_batches(elbo, X, condition, clip=clip)
        # Rows and samples are both batched, so that about one inference
        # batch of images is decoded at a time whatever n_importance is.
        budget = self._inference_batch_size()

        def iwae(xb, cb):
            log_w = torch.cat([module.log_weights(xb, chunk, cb)
                               for chunk in torch.split(eps, budget)])
            return torch.logsumexp(log_w, dim=0) - np.log(n_importance)
        return self._map_batches(iwae, X, condition, clip=clip,
                                 batch_size=max(1, budget // n_importance))
