"""How training data reaches a :class:`skvae._net.VAENet`: datasets and batches.

For a small VAE the cost of feeding data dominates a step, so the data is
moved to the device once and batched by index there, instead of a
``DataLoader`` indexing numpy rows one by one and collating them; a
memory-mapped training array is never loaded whole: each batch's rows are
read from it, and cast to float32, as the batch is drawn.
"""

import mmap
from collections import namedtuple
from dataclasses import dataclass, fields, replace
from typing import Optional

import numpy as np
import torch

#: Bytes of a numpy array read, converted or scanned at a time on the host
#: (code statistics, range checks, the neighbor search's features), so that
#: a memory-mapped array is never copied whole.
CHUNK_BYTES = 64 * 2**20


def chunk_rows(n_features):
    """Rows of ``n_features`` float64 values that make up :data:`CHUNK_BYTES` (at least 1)."""
    return max(1, CHUNK_BYTES // (8 * max(1, int(n_features))))


#: What a fit hands to :meth:`skvae._net.VAENet.get_dataset`: the training
#: rows, a conditional model's one-hot conditions (or None) and the
#: neighbor graph of :func:`skvae._neighbors.fuzzy_graph` (or None).
TrainingData = namedtuple("TrainingData", ["x", "condition", "graph"],
                          defaults=(None, None))


@dataclass
class Batch:
    """One batch as the net's loss and module see it.

    ``x`` is the data; a conditional model's batches bring ``condition``;
    training batches of a model with a neighbor graph bring neighbors of
    each row (``x_neighbor``, of shape ``(n, m, *event_shape)``) and the
    indices of the rows and of their neighbors in the training data.
    """

    x: torch.Tensor
    condition: Optional[torch.Tensor] = None
    x_neighbor: Optional[torch.Tensor] = None
    index: Optional[torch.Tensor] = None
    neighbor_index: Optional[torch.Tensor] = None

    def __len__(self):
        return len(self.x)

    def apply(self, fn):
        """A batch of ``fn`` of each tensor (e.g. a move to the device)."""
        return replace(self, **{f.name: fn(getattr(self, f.name)) for f in fields(self)
                                if getattr(self, f.name) is not None})


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


class TensorDataset(torch.utils.data.Dataset):
    """Rows of a data tensor and, for a conditional model, of its conditions.

    The tensors stay wherever they live (device or host). ``neighbors``, a
    :class:`skvae._neighbors.NeighborSampler`, draws a neighbor of each row
    of a training batch.
    """

    neighbors = None

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

    def rows(self, idx, training=False):
        """The :class:`Batch` of rows ``idx``; a training batch brings their neighbors."""
        batch = Batch(self.data_rows(idx),
                      None if self.condition is None else self.condition[idx])
        if training and self.neighbors is not None:
            drawn = self.neighbors(idx)
            batch.x_neighbor = self.data_rows(drawn.flatten()).unflatten(0, drawn.shape)
            batch.index, batch.neighbor_index = idx, drawn
        return batch

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
            yield self.dataset.rows(idx, self.shuffle).apply(self.transfer), None
