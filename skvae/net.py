"""The skorch net that trains a :class:`skvae.modules.VAE`.

skorch runs the training loop (callbacks, history, checkpoints, printing);
this subclass changes how data reaches the module and how losses are
recorded, because for a small VAE those dominate the run time:

* the data is moved to the device once and batched by index there, instead
  of a ``DataLoader`` indexing numpy rows one by one and collating them;
* batch losses stay on the device during an epoch and are read back once
  at its end, instead of one ``.item()`` (a device sync) per batch;
* the epoch's losses are checked then, and a non-finite loss stops training
  with an error and the weights of the last good epoch restored;
* a memory-mapped training array is never loaded whole: each batch's rows
  are read from it, and cast to float32, as the batch is drawn.
"""

import copy
import inspect
import mmap
import sys
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping
from skorch.utils import to_device
from torch import nn

#: Rows per forward pass in ``transform``, ``score_samples`` and friends.
INFERENCE_BATCH_SIZE = {"cpu": 1024, "cuda": 8192}

#: Fraction of free device memory the training data may take before fit
#: falls back to keeping it on the host and copying batch by batch.
DEVICE_DATA_FRACTION = 0.5

#: Stands for the net's ``module`` in its pickle when that is ``module_``.
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


def is_memory_mapped(X):
    """Whether numpy array ``X`` is a view of a memory-mapped file.

    ``np.load(mmap_mode=...)`` and ``np.memmap`` give ``np.memmap``
    instances; scikit-learn's validation turns them into plain ndarray
    views whose ``base`` chain still ends in the map.
    """
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap):
            return True
        X = X.base
    return isinstance(X, mmap.mmap)


class TrainingDivergedError(FloatingPointError):
    """Raised when the training loss becomes NaN or infinite."""


class NegativeELBO(nn.Module):
    """The loss: minus the ELBO per sample, averaged over the batch.

    Parameters
    ----------
    beta : float
        Weight of the KL term (beta-VAE); 1 gives the ELBO. Callbacks may
        change it during training (KL warm-up).
    """

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, output, target=None):
        return (-(output.log_lik.mean(dim=0) - self.beta * output.kl) + output.penalty).mean()


class TensorDataset(torch.utils.data.Dataset):
    """Rows of a data tensor and, for a conditional model, of its conditions.

    The tensors stay wherever they live (device or host).
    """

    def __init__(self, X, condition=None):
        self.X = X
        self.condition = condition

    def __len__(self):
        return len(self.X)

    @property
    def device(self):
        """Where the rows live, and so where batch indices are drawn."""
        return self.X.device

    def data_rows(self, idx):
        return self.X[idx]

    def rows(self, idx):
        """The module's input for rows ``idx``: a tensor, or a dict with the condition."""
        if self.condition is None:
            return self.data_rows(idx)
        return {"x": self.data_rows(idx), "condition": self.condition[idx]}

    def __getitem__(self, i):
        return self.rows(i), torch.empty(0)


class MemmapDataset(TensorDataset):
    """Rows of a memory-mapped numpy array, read from it batch by batch.

    Only the rows of the batch being drawn are copied out of the map (and
    cast to float32), so the array may be far larger than memory. The
    conditions, one short row per sample, are a host tensor.
    """

    device = torch.device("cpu")

    def data_rows(self, idx):
        return torch.from_numpy(np.asarray(self.X[idx.numpy()], dtype=np.float32))


def _n_rows(batch_input):
    return len(batch_input["x"] if isinstance(batch_input, dict) else batch_input)


class IndexBatches:
    """Batches of a :class:`TensorDataset` (or a ``Subset`` of one), cut by index.

    When shuffling (training), a last batch of a single sample is folded
    into the one before it, so no batch statistic is ever taken over one
    row; with ``drop_ragged`` the short remainder is left out instead (a
    different one each shuffled epoch), so every batch has the same shape.

    Parameters
    ----------
    dataset : TensorDataset or Subset of one
    batch_size : int
    shuffle : bool
    transfer : callable
        Moves a batch to where the module runs.
    drop_ragged : bool, default=False
    """

    def __init__(self, dataset, batch_size, shuffle, transfer, drop_ragged=False):
        indices = None
        if isinstance(dataset, torch.utils.data.Subset):
            indices = torch.as_tensor(dataset.indices)
            dataset = dataset.dataset
        self.dataset = dataset
        self.indices = indices
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.transfer = transfer
        self.drop_ragged = drop_ragged

    def _n_rows(self):
        return len(self.dataset) if self.indices is None else len(self.indices)

    def __len__(self):
        n = self._n_rows()
        if self.drop_ragged:
            return max(1, n // self.batch_size)
        n_batches = -(-n // self.batch_size)
        return n_batches - (self.shuffle and n > 1 and n % self.batch_size == 1)

    def _order(self):
        index_device = self.dataset.device
        n = self._n_rows()
        order = (torch.randperm(n, device=index_device) if self.shuffle
                 else torch.arange(n, device=index_device))
        if self.indices is not None:
            order = self.indices.to(index_device)[order]
        return order

    def __iter__(self):
        chunks = list(torch.split(self._order(), self.batch_size))
        if len(chunks) > 1 and self.drop_ragged and len(chunks[-1]) < self.batch_size:
            chunks.pop()
        elif self.shuffle and len(chunks) > 1 and len(chunks[-1]) == 1:
            chunks[-2:] = [torch.cat(chunks[-2:])]
        for idx in chunks:
            rows = self.dataset.rows(idx)
            if isinstance(rows, dict):
                yield {key: self.transfer(value) for key, value in rows.items()}, None
            else:
                yield self.transfer(rows), None


def build_optimizer(optimizer, params, **kwargs):
    """``optimizer(params, **kwargs)``, with its fused kernel where torch has one.

    A fused Adam(W) updates every parameter in one kernel instead of a loop
    of per-tensor operations: 24% less time per training step of the default
    MNIST net on one CPU core. Optimizers without a ``fused`` option, torch
    before 2.4 on a CPU (no fused CPU kernels) and an explicit ``fused`` or
    ``foreach`` get the optimizer as asked.
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
    """skorch ``NeuralNet`` for a :class:`skvae.modules.VAE`.

    Takes the usual ``NeuralNet`` parameters plus:

    Parameters
    ----------
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
    """

    def __init__(self, *args, precision="fp32", channels_last=False, compile_training=False,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.precision = precision
        self.channels_last = channels_last
        self.compile_training = compile_training

    # -- data -------------------------------------------------------------
    def get_dataset(self, X, y=None):
        """Wrap numeric numpy data, and one-hot conditions ``y`` if any, for training.

        A memory-mapped ``X`` stays where it is and is read batch by batch;
        other data is copied to the device as float32 once.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return X
        if is_memory_mapped(X):
            return MemmapDataset(X, None if y is None else torch.from_numpy(y))
        condition = None if y is None else self.to_training_tensor(y)
        return TensorDataset(self.to_training_tensor(X), condition)

    def to_training_tensor(self, X):
        """Put ``X`` (numeric numpy) on the device as float32 when it fits, else on the host."""
        X = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        device = torch.device(self.device)
        if device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            if X.nbytes > DEVICE_DATA_FRACTION * free:
                return X.pin_memory()
        return X.to(device)

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
            x, fit_params = x["x"], {**fit_params, "condition": x["condition"]}
        with self.autocast():
            return module(x, **fit_params)

    def __getstate__(self):
        state = super().__getstate__()
        # A compiled module does not pickle; it is rebuilt on the next fit.
        state.pop("_compiled", None)
        # The module instance given to the net is module_ itself, which skorch
        # pickles with the device-dependent attributes. Pickled again here,
        # it would double the size and, fitted on CUDA, not load without it.
        if state.get("module") is self.__dict__.get("module_"):
            state["module"] = _MODULE_IS_MODULE_
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if isinstance(self.module, str) and self.module == _MODULE_IS_MODULE_:
            self.module = self.module_

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        if training:
            last_good = self._snapshot()
        losses, sizes = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            sizes.append(_n_rows(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        # One device sync per epoch instead of one per batch.
        values = torch.stack(losses).float().cpu().numpy() if losses else np.array([])
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            if training:
                self._restore(last_good)
            raise TrainingDivergedError(
                f"The {prefix} loss became {values[bad[0]]} at epoch "
                f"{len(self.history)}, batch {bad[0] + 1} of {len(values)}. "
                f"Training was stopped and the weights of the last finite epoch "
                f"restored. Try a lower learning rate (lr={self.lr:g} now), e.g. "
                f"lr={self.lr / 10:g}, or check the data for extreme values."
            )
        # Fill in the per-batch history skorch's callbacks read, after the
        # fact: each batch entry was opened by on_batch_begin during the loop.
        entries = self.history[-1]["batches"][len(self.history[-1]["batches"]) - len(values):]
        for entry, loss, size in zip(entries, values, sizes):
            entry[prefix + "_loss"] = float(loss)
            entry[prefix + "_batch_size"] = size
        self.history.record(prefix + "_batch_count", len(values))

    def _snapshot(self):
        return copy.deepcopy((self.module_.state_dict(), self.optimizer_.state_dict()))

    def _restore(self, snapshot):
        module_state, optimizer_state = snapshot
        self.module_.load_state_dict(module_state)
        self.optimizer_.load_state_dict(optimizer_state)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        try:
            with _cudnn_autotuning(self.device), dask_worker_threads():
                return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            # skorch's partial_fit swallows the interrupt and keeps the
            # model; say so, since the caller only sees fit return early.
            # EarlyStopping stops training by the same exception.
            if self._stopped_early():
                raise
            warnings.warn(
                f"Training was interrupted after {len(self.history)} epoch(s); "
                "keeping the model trained so far.",
                RuntimeWarning,
                stacklevel=2,
            )
            raise

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
