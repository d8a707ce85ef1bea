"""The skorch net that trains a :class:`skvae._modules.VAE`.

skorch runs the training loop (callbacks, history, checkpoints, printing);
this subclass plugs into its documented hooks: ``get_dataset`` and
``get_iterator`` feed the data (see :mod:`skvae._data`), ``get_loss`` is the
negative ELBO, ``infer`` adds autocast and the compiled training module, and
a default callback stops training on a non-finite loss. The module is built
by :func:`skvae._modules.build_vae` from the net's ``module__*`` parameters,
so the network's structure is part of the net's parameters.
"""

import copy
import inspect
import sys
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from scipy.special import logsumexp
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler
from skorch.history import History
from skorch.utils import to_device
from torch import nn

from ._callbacks import DivergenceCheck, TrainingDivergedError
from ._data import IndexBatches, MemmapDataset, TensorDataset, is_memory_mapped
from ._modules import build_vae
from ._neighbors import NeighborSampler, neighbor_embedding_loss

__all__ = ["NegativeELBO", "TrainingDivergedError", "VAENet", "build_optimizer"]

#: Rows per forward pass in ``transform``, ``score_samples`` and friends.
INFERENCE_BATCH_SIZE = {"cpu": 1024, "cuda": 8192}

#: Fraction of free device memory the training data may take before fit
#: falls back to keeping it on the host and copying batch by batch.
DEVICE_DATA_FRACTION = 0.5

#: What skvae 0.1.0 pickled as the net's ``module`` (which was ``module_`` itself).
_MODULE_IS_MODULE_ = "<module_>"


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
    """The loss: minus the ELBO per sample, averaged over the batch.

    Parameters
    ----------
    beta : float
        Weight of the KL term (beta-VAE); 1 gives the ELBO. Callbacks may
        change it during training (KL warm-up).
    neighbor_weight : float
        Weight of :func:`skvae._neighbors.neighbor_embedding_loss` on
        batches that bring a neighbor of each row; 0 for none.
    neighbor_scale : float
        Factor on code distances in that loss.
    """

    def __init__(self, beta=1.0, neighbor_weight=0.0, neighbor_scale=4.0):
        super().__init__()
        self.beta = beta
        self.neighbor_weight = neighbor_weight
        self.neighbor_scale = neighbor_scale

    def forward(self, output, target=None, index=None, neighbor_index=None):
        loss = -(output.log_lik.mean(dim=0) - self.beta * output.kl) + output.penalty
        if output.mu_neighbor is not None and self.neighbor_weight:
            loss = loss + self.neighbor_weight * neighbor_embedding_loss(
                output.mu, output.mu_neighbor, self.neighbor_scale, index, neighbor_index)
        return loss.mean()


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
        """Wrap numeric numpy data, or a dict of it, for training.

        The dict has ``"x"`` and optionally ``"condition"`` (a conditional
        model's one-hot conditions) and ``"graph"`` (the neighbor graph of
        :func:`skvae._neighbors.fuzzy_graph`, from which each training batch
        draws a neighbor of each row). A memory-mapped ``X`` stays where it
        is and is read batch by batch; other data is copied to the device as
        float32 once. ``y`` is unused.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return X
        X = X if isinstance(X, dict) else {"x": X}
        X, condition, graph = X["x"], X.get("condition"), X.get("graph")
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
        return [*super().get_default_callbacks(), ("divergence_check", DivergenceCheck())]

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
        previous = self.__dict__.get("_resuming")
        if previous is None:
            super().initialize_module()
        else:
            self.module_ = copy.deepcopy(previous.module_).to(self.device)
        if self.channels_last:
            self.module_.to(memory_format=torch.channels_last)
        self.__dict__.pop("_compiled", None)
        return self

    def resume(self, previous):
        """Initialize this net to continue ``previous``'s training.

        Takes copies of its module (weights), optimizer state and history,
        and keeps this net's own settings (learning rate, weight decay,
        batch size, callbacks, ...); ``previous`` is left untouched, so a
        failed continuation can be discarded. The optimizer state carries
        over when the optimizer class is the same.
        """
        self.__dict__["_resuming"] = previous
        try:
            self.initialize()
        finally:
            del self.__dict__["_resuming"]
        for group in self.optimizer_.param_groups:
            # What a torch scheduler resuming at a later epoch needs.
            group["initial_lr"] = group["lr"]
        if type(previous.optimizer_) is type(self.optimizer_):
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
        if isinstance(x, dict):
            fit_params = {**fit_params, **x}
            x = fit_params.pop("x")
            # Which rows the batch holds is the loss's business, not the module's.
            fit_params.pop("index", None)
            fit_params.pop("neighbor_index", None)
        with self.autocast():
            return module(x, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        X = X if isinstance(X, dict) else {}
        return self.criterion_(y_pred, index=X.get("index"),
                               neighbor_index=X.get("neighbor_index"))

    def __getstate__(self):
        state = super().__getstate__()
        # A compiled module does not pickle; it is rebuilt on the next fit.
        state.pop("_compiled", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(self.module, str) and self.module == _MODULE_IS_MODULE_:
            # Saved by skvae 0.1.0, whose nets were given the module instance.
            self.module = build_vae

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
                warnings.warn(
                    f"Training was interrupted after {done} complete epoch(s){partial}; "
                    "keeping the model trained so far.",
                    RuntimeWarning,
                    stacklevel=2,
                )
            raise

    def completed_epochs(self):
        """Epochs of the history whose training pass finished."""
        return sum("train_loss" in epoch for epoch in self.history)

    def _stopped_early(self):
        return any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
                   for _, cb in self.callbacks_)

    # -- inference --------------------------------------------------------
    def _batches(self, *arrays, batch_size=None):
        """Yield tuples of float32 device tensors of consecutive rows of numpy arrays.

        Only one batch is on the device at a time, so memory-mapped or
        otherwise huge arrays stream through. ``None`` stays ``None``.
        """
        device = torch.device(self.device)
        batch_size = batch_size or INFERENCE_BATCH_SIZE.get(device.type, 1024)
        for start in range(0, len(arrays[0]), batch_size):
            # Copies, not views: rows of a read-only memmap must not become
            # a tensor torch could write through.
            yield tuple(
                None if a is None else self.transfer(torch.from_numpy(
                    np.array(a[start:start + batch_size], dtype=np.float32, order="C")))
                for a in arrays
            )

    @contextmanager
    def _inference(self):
        self.module_.eval()
        with dask_worker_threads(), torch.inference_mode():
            yield

    def encode(self, X):
        """Posterior means and log-variances of q(z | x), as numpy arrays."""
        mus, log_vars = [], []
        with self._inference(), self.autocast():
            for (xb,) in self._batches(X):
                mu, log_var = self.module_.encoder(xb)
                mus.append(mu.float().cpu())
                log_vars.append(log_var.float().cpu())
        return torch.cat(mus).numpy(), torch.cat(log_vars).numpy()

    def decode(self, Z, condition=None):
        """Decoder means for codes ``Z`` (and one-hot conditions), as a numpy array."""
        out = []
        module = self.module_
        with self._inference(), self.autocast():
            for zb, cb in self._batches(Z, condition):
                out.append(module.likelihood.mean(module.decode(zb, cb)).cpu())
        return torch.cat(out).numpy()

    def _common_noise(self, n_samples, seed):
        """``n_samples`` standard-normal draws shared by every row.

        Common random numbers: a row's score does not depend on which other
        rows share its call (so subsets and reorderings score the same), and
        each row's estimate is still unbiased.
        """
        gen = torch.Generator().manual_seed(seed)
        eps = torch.randn((n_samples, 1, self.module_.encoder.latent_dim), generator=gen)
        return to_device(eps, self.device)

    def elbo(self, X, condition=None, seed=0):
        """The ELBO of each row of ``X``, in nats, as a float64 numpy array.

        One posterior sample for the log-likelihood, the KL in closed form.
        """
        eps = self._common_noise(1, seed)
        out = []
        with self._inference(), self.autocast():
            for xb, cb in self._batches(X, condition):
                output = self.module_(xb, condition=cb, eps=eps)
                out.append((output.log_lik[0] - output.kl).cpu())
        return torch.cat(out).numpy()

    def log_bound(self, X, condition=None, n_importance=1, class_prior=None):
        """A lower bound on log p(x), or log p(x | condition), of each row (float64).

        The ELBO with one posterior sample, the importance-weighted bound
        with more. With ``class_prior`` and no condition it bounds
        log p(x) = log sum_k p(k) p(x | k): each class's bound is below its
        log p(x | k), so their prior-weighted log-sum-exp is below log p(x).
        """
        if class_prior is not None and condition is None:
            bounds = [self.log_bound(X, np.broadcast_to(row, (len(X), len(row))), n_importance)
                      for row in np.eye(len(class_prior), dtype=np.float32)]
            return logsumexp(np.stack(bounds) + np.log(class_prior)[:, None], axis=0)
        if n_importance == 1:
            return self.elbo(X, condition)
        return self.importance_weighted_bound(X, n_importance, condition)

    def importance_weighted_bound(self, X, n_importance, condition=None, seed=0):
        """The IWAE bound on log p(x) with ``n_importance`` samples, per row.

        Rows and samples are both batched, so that about one inference
        batch of images is decoded at a time whatever ``n_importance`` is;
        the log-mean-exp is accumulated in float64.
        """
        eps = self._common_noise(n_importance, seed)
        budget = INFERENCE_BATCH_SIZE.get(torch.device(self.device).type, 1024)
        rows = max(1, budget // n_importance)
        out = []
        with self._inference(), self.autocast():
            for xb, cb in self._batches(X, condition, batch_size=rows):
                log_w = torch.cat([self.module_.log_weights(xb, eps_chunk, cb)
                                   for eps_chunk in torch.split(eps, budget)])
                out.append((torch.logsumexp(log_w, dim=0) - np.log(n_importance)).cpu())
        return torch.cat(out).numpy()
