"""The neighbor graph of the training data that the codes are trained to keep.

UMAP's fuzzy k-nearest-neighbor graph (McInnes et al., 2018): each row's
k nearest neighbors get a membership in (0, 1] that decays with distance
beyond its nearest neighbor's, scaled per row so that the memberships of
a dense and a sparse region carry the same total weight; the graph is then
symmetrised as a fuzzy union. Training draws one neighbor per row from it
(``NeighborSampler``) and pulls the two codes together, while the
other rows of the batch push apart (:func:`neighbor_embedding_loss`).

Neighbors are searched among the rows' leading principal components, read
from ``X`` a chunk of rows at a time, so a memory-mapped ``X`` is never
held whole: the graph takes about 2 KB per row, plus the search's chunk of
scikit-learn's ``working_memory``.
The search is exact (scikit-learn's ``NearestNeighbors``), which takes time
quadratic in ``n_samples``; with ``pynndescent`` installed, data larger
than ``EXACT_SEARCH_ROWS`` rows is searched approximately instead, in
about ``n_samples * log(n_samples)``. ``n_neighbors`` is bounded by the
other rows there are (of a row's class, for a conditional model), and a
graph estimated to take more than ``LARGE_GRAPH_BYTES`` to build warns
first.

Given the same neighbors, the graph is umap-learn's
(``umap.umap_.fuzzy_simplicial_set``) with two intended differences:

* ``n_neighbors`` counts other rows, as in scikit-learn's
  ``KNeighborsMixin``. umap-learn counts the point itself as its own first
  neighbor (at distance 0, skipped by its sums and given membership 0), and
  weighs its ``n_neighbors - 1`` others to a total of
  ``log2(n_neighbors)``. Here the ``k`` other rows weigh ``log2(k)`` in
  total, so ``n_neighbors=15`` here is umap-learn's ``n_neighbors=16``
  with a slightly narrower bandwidth (``log2(15)`` rather than ``log2(16)``).
* No ``MIN_K_DIST_SCALE`` floor: umap-learn keeps each bandwidth above
  ``1e-3`` times the row's mean neighbor distance, a guard against a zero
  bandwidth. The bisection here never reaches zero, and a tiny bandwidth
  only sends far memberships to 0 (edges dropped, not a division by zero),
  while the floor would break the ``log2(k)`` total of a row whose near
  neighbors crowd its nearest one: exactly the dense rows the per-row
  scaling is there to balance.

umap-learn also stops its bisection within ``1e-5`` of the target and
works in float32; the memberships agree to about ``1e-4``.
"""

import math

import numpy as np
import torch
from scipy import sparse
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from torch.nn import functional as F

from . import _data
from ._warn import warn_user

__all__ = ["fuzzy_graph", "neighbor_embedding_loss"]

#: Principal components the neighbors are searched among: distances in
#: them match raw pixel distances closely, at a fraction of the cost.
PCA_COMPONENTS = 50
#: Rows the principal components are fitted on, at most.
PCA_FIT_ROWS = 10_000
#: Above this many rows, an installed ``pynndescent`` replaces exact search.
EXACT_SEARCH_ROWS = 100_000
#: Peak bytes that building the graph takes per directed edge (row times
#: neighbor), as measured: the search's distances and indices, the
#: memberships' float64 work arrays and the sparse matrices of the union.
BYTES_PER_EDGE = 120
#: Estimated peak above which building the graph warns.
LARGE_GRAPH_BYTES = 2**30


def reduced_features(X, random_state):
    """The rows of ``X`` (any layout) as at most ``PCA_COMPONENTS`` float32 features.

    The features are centred and divided by their largest magnitude, which
    changes no neighbor and no membership (both are invariant to a common
    scale) but keeps float32 squared distances finite for data near 1e20
    and the bandwidth search of :func:`fuzzy_memberships` in its range.
    """
    n = len(X)
    n_features = int(np.prod(X.shape[1:]))
    if n_features <= PCA_COMPONENTS:
        F = np.asarray(X, dtype=np.float64).reshape(n, n_features)
    else:
        F = _principal_components(X, n, n_features, random_state)
    F = F - F.mean(axis=0)
    scale = np.abs(F).max(initial=0.0)
    if scale > 0:
        F /= scale
    return F.astype(np.float32)


def _principal_components(X, n, n_features, random_state):
    # float64 throughout: float32 squares of pixels near 1e20 overflow in
    # the components' fit.
    # The components' fit, and each chunk they reduce, read at most a
    # chunk of rows: what bounds the memory a memory-mapped X takes.
    chunk = max(PCA_COMPONENTS + 1, _data.chunk_rows(n_features))
    rng = check_random_state(random_state)
    fit_rows = np.sort(rng.choice(n, size=min(n, PCA_FIT_ROWS, chunk), replace=False))
    sample = np.asarray(X[fit_rows], dtype=np.float64).reshape(len(fit_rows), n_features)
    constant = not np.ptp(sample, axis=0).any()
    if constant and len(fit_rows) == n:
        # Identical rows have no principal direction (PCA would divide
        # their zero variance by zero): one constant feature says it all.
        return np.zeros((n, 1))
    # A constant sample of rows that are not all identical still projects
    # them onto some directions; the explained variance ratio that PCA
    # cannot compute for it (0 / 0) goes unused.
    quiet = {"divide": "ignore", "invalid": "ignore"} if constant else {}
    with np.errstate(**quiet):
        pca = PCA(n_components=min(PCA_COMPONENTS, len(fit_rows)),
                  random_state=rng).fit(sample)
    return np.concatenate([
        pca.transform(np.asarray(X[start:start + chunk], dtype=np.float64)
                      .reshape(-1, n_features))
        for start in range(0, n, chunk)])


def nearest_neighbors(F, n_neighbors, random_state):
    """Indices and distances of each row's ``n_neighbors`` nearest other rows."""
    if len(F) > EXACT_SEARCH_ROWS:
        try:
            from pynndescent import NNDescent
        except ImportError:
            pass
        else:
            index = NNDescent(F, n_neighbors=n_neighbors + 1,
                              random_state=check_random_state(random_state))
            return without_self(*index.neighbor_graph)
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(F).kneighbors(F)
    return without_self(indices, distances)


def without_self(indices, distances):
    """Drop each row from its own list of ``k + 1`` nearest rows, keeping ``k``.

    A row is usually its own first neighbor, but a duplicate at distance 0
    may come first; where the row is missing from the list, its farthest
    neighbor goes instead.
    """
    own = indices == np.arange(len(indices))[:, None]
    own[~own.any(axis=1), -1] = True
    k = indices.shape[1] - 1
    return indices[~own].reshape(-1, k), distances[~own].reshape(-1, k)


def fuzzy_memberships(distances, n_iter=64):
    """UMAP's memberships exp(-(d - rho) / sigma) of each row's neighbors.

    ``rho`` is the distance to the nearest neighbor that is not a duplicate
    (distance 0), so every row is connected to at least one other with
    membership 1; ``sigma`` is found by bisection so that a row's
    memberships sum to log2(k).
    """
    k = distances.shape[1]
    positive = np.where(distances > 0, distances, np.inf).min(axis=1, keepdims=True)
    rho = np.where(np.isfinite(positive), positive, 0.0)
    excess = np.maximum(distances - rho, 0.0)
    target = np.log2(k)
    low = np.zeros(len(distances))
    high = np.full(len(distances), np.inf)
    sigma = np.ones(len(distances))
    for _ in range(n_iter):
        total = np.exp(-excess / sigma[:, None]).sum(axis=1)
        too_wide = total > target
        high = np.where(too_wide, sigma, high)
        low = np.where(too_wide, low, sigma)
        sigma = np.where(np.isinf(high), sigma * 2, (low + high) / 2)
    return np.exp(-excess / sigma[:, None])


def fuzzy_graph(X, n_neighbors, groups=None, random_state=None):
    """The symmetric fuzzy k-nearest-neighbor graph of the rows of ``X``.

    With ``groups`` (one label per row), neighbors are only sought within
    a row's group: a conditional model's map should order style within a
    class, not gather the classes. A group smaller than ``n_neighbors + 1``
    rows is searched for as many neighbors as it has.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        The rows, in any layout (tables or images); a memory-mapped array
        is read a chunk at a time.
    n_neighbors : int
        Neighbors sought per row; at most the other rows of its group are
        found. Warns (UserWarning) when the graph would take more than
        ``LARGE_GRAPH_BYTES`` to build, at about ``BYTES_PER_EDGE`` per
        row and neighbor.
    groups : array-like of shape (n_samples,), default=None
        A label per row; edges only join rows of one label.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of rows the principal components are fitted on.

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        Symmetric memberships in (0, 1]; no row is its own neighbor.
    """
    n = len(X)
    members = [np.arange(n)] if groups is None else [np.flatnonzero(groups == g)
                                                     for g in np.unique(groups)]
    # A row has at most the other rows of its group as neighbors.
    ks = [min(n_neighbors, len(index) - 1) for index in members]
    warn_if_large(sum(len(index) * k for index, k in zip(members, ks)), n_neighbors)
    F = reduced_features(X, random_state)
    rows, cols, weights = [], [], []
    for index, k in zip(members, ks):
        if k < 1:
            continue
        neighbors, distances = nearest_neighbors(F[index], k, random_state)
        rows.append(np.repeat(index, k))
        cols.append(index[neighbors].ravel())
        weights.append(fuzzy_memberships(distances).ravel())
    if not rows:
        return sparse.csr_matrix((n, n), dtype=np.float32)
    directed = sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    # The fuzzy union: an edge is there if either end chose the other.
    graph = (directed + directed.T - directed.multiply(directed.T)).astype(np.float32).tocsr()
    # Memberships that underflow (exp of a far neighbor's distance, in
    # float64 or on the cast to float32) are no edges: the sampler and nnz
    # should only see real ones.
    graph.eliminate_zeros()
    return graph


def warn_if_large(n_edges, n_neighbors):
    """Warn when a graph of ``n_edges`` directed edges would take much memory."""
    size = n_edges * BYTES_PER_EDGE
    if size > LARGE_GRAPH_BYTES:
        warn_user(
            f"The neighbor graph of {n_neighbors} neighbors per row ({n_edges:,} "
            f"edges) will take about {size / 2**30:.1f} GiB of memory to build. "
            "Lower n_neighbors, or set neighbor_weight=0 to train without it.")


class NeighborSampler:
    """Draws, for rows of the graph, one neighbor each in proportion to edge weight.

    The graph lives as two tensors on the device the batches are drawn on:
    the neighbors of all rows, and their cumulative normalised weights
    offset by the row's index, so that one ``searchsorted`` over all rows
    finds each row's draw.

    Parameters
    ----------
    graph : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
    device : torch.device
    """

    def __init__(self, graph, device):
        graph = graph.tocsr()
        self.graph, self.device = graph, device
        degree = np.diff(graph.indptr)
        row = np.repeat(np.arange(graph.shape[0]), degree)
        row_total = np.bincount(row, weights=graph.data, minlength=graph.shape[0])
        within = np.cumsum(graph.data, dtype=np.float64) - np.repeat(
            np.cumsum(row_total) - row_total, degree)
        self.has_neighbors = torch.as_tensor(degree > 0, device=device)
        self.offsets = torch.as_tensor(row + within / row_total[row], device=device)
        self.neighbors = torch.as_tensor(graph.indices.astype(np.int64), device=device)

    def __call__(self, idx):
        """``NEIGHBORS_PER_ROW`` neighbors of each row of ``idx``, drawn independently.

        Shape ``(len(idx), NEIGHBORS_PER_ROW)``; a row without neighbors is its own.
        """
        idx = idx.to(self.offsets.device).repeat_interleave(NEIGHBORS_PER_ROW)
        if not len(self.neighbors):
            return idx.reshape(-1, NEIGHBORS_PER_ROW)
        draw = idx + torch.rand(len(idx), dtype=torch.float64, device=idx.device)
        pos = torch.searchsorted(self.offsets, draw).clamp_(max=len(self.neighbors) - 1)
        drawn = torch.where(self.has_neighbors[idx], self.neighbors[pos], idx)
        return drawn.reshape(-1, NEIGHBORS_PER_ROW)

    def within(self, rows):
        """A sampler of the same graph without the edges that leave ``rows``."""
        keep = np.zeros(self.graph.shape[0])
        keep[np.asarray(rows)] = 1
        keep = sparse.diags(keep)
        graph = (keep @ self.graph @ keep).tocsr()
        graph.eliminate_zeros()
        return NeighborSampler(graph, self.device)


#: Neighbors drawn per row and step. Each costs an encoder pass of the
#: batch; three of them encoded without gradient (as mere targets, at a
#: third of the cost) made a worse map than one that both ends move.
NEIGHBORS_PER_ROW = 1

#: UMAP's curve 1 / (1 + a d^(2b)) for its defaults min_dist=0.1, spread=1:
#: how similar two codes at distance d count as.
CURVE_A, CURVE_B = 1.577, 0.8951
#: UMAP's negative samples per edge.
NEGATIVE_RATE = 5.0


def neighbor_embedding_loss(mu, mu_neighbor, scale, index=None, neighbor_index=None):
    """UMAP's cross-entropy between the graph and the codes, per row.

    Each row's code is attracted to the codes of its sampled neighbors
    (edges of the graph) and repelled from the other codes of the batch,
    which stand in for UMAP's ``NEGATIVE_RATE`` negative samples per
    edge. Distances are multiplied by ``scale`` first: the KL term keeps
    codes a few units across, where UMAP's curve expects a map some ten
    times wider.

    Parameters
    ----------
    mu : Tensor of shape (n, d)
        The rows' codes (posterior means).
    mu_neighbor : Tensor of shape (n, m, d)
        The codes of ``m`` neighbors of each row.
    scale : float
        Factor on distances between codes.
    index : Tensor of shape (n,), default=None
        The rows' indices in the training data.
    neighbor_index : Tensor of shape (n, m), default=None
        The neighbors' indices. With ``index``, they keep a row's own code
        and its neighbors' out of its negatives wherever they occur in the
        batch; without, only the row and its own drawn neighbors are left out.

    Returns
    -------
    loss : Tensor of shape (n,)
        Each row's attraction plus repulsion.
    """
    mu = mu.float() * scale
    mu_neighbor = mu_neighbor.float() * scale
    log_a = math.log(CURVE_A)
    squared = torch.sum((mu[:, None] - mu_neighbor) ** 2, dim=-1)
    attraction = F.softplus(log_a + CURVE_B * _log_d2(squared)).mean(dim=-1)
    n, m = mu_neighbor.shape[:2]
    others = torch.cat([mu, mu_neighbor.reshape(n * m, -1)])
    # Not cdist's matrix-product shortcut: it loses the small distances
    # between large codes.
    squared = torch.cdist(mu, others, compute_mode="donot_use_mm_for_euclid_dist").square()
    repulsion = F.softplus(-(log_a + CURVE_B * _log_d2(squared)))
    if index is None:
        index = torch.arange(n, device=mu.device)
        neighbor_index = n + torch.arange(n * m, device=mu.device).reshape(n, m)
    # A row's own code and its neighbors' are no negatives.
    identity = torch.cat([index, neighbor_index.flatten()]).to(mu.device)
    own = torch.cat([index[:, None], neighbor_index], dim=1).to(mu.device)
    negative = (identity[None, None, :] != own[:, :, None]).all(dim=1)
    repulsion = (repulsion * negative).sum(-1) / negative.sum(-1).clamp(min=1)
    return attraction + NEGATIVE_RATE * repulsion


def _log_d2(squared_distance):
    # log(d^2 + eps): finite gradients where two codes coincide.
    return torch.log(squared_distance + 1e-3)
