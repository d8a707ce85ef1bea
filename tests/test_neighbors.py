"""skvae._neighbors: the fuzzy neighbor graph, its sampler, the loss that keeps it, and what
fit does with them."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

from skvae import VAETransformer
from skvae import _neighbors as neighbors
from skvae import _estimator
from skvae import _data
from skvae._data import TrainingData


def test_memberships_sum_to_log2_k_with_one_full_member():
    distances = np.sort(np.random.default_rng(0).random((50, 15)) * 5, axis=1)
    w = neighbors.fuzzy_memberships(distances)
    np.testing.assert_allclose(w.sum(axis=1), np.log2(15), rtol=1e-6)
    np.testing.assert_allclose(w[:, 0], 1.0)
    assert np.all(np.diff(w, axis=1) <= 0), "farther neighbors weigh less"


def test_graph_is_symmetric_and_links_near_rows():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0] * 5, [10.0] * 5])
    X = np.concatenate([c + rng.normal(size=(40, 5)) for c in centers])
    graph = neighbors.fuzzy_graph(X, n_neighbors=5, random_state=0)
    assert graph.shape == (80, 80) and (graph != graph.T).nnz == 0
    assert graph.diagonal().max() == 0 and graph.data.min() > 0 and graph.data.max() <= 1
    rows, cols = graph.nonzero()
    assert np.all((rows < 40) == (cols < 40)), "no edge between the two far clusters"


def test_graph_within_groups_has_no_edge_across_them():
    X = np.random.default_rng(0).random((60, 4))
    groups = np.repeat([0, 1, 2], 20)
    rows, cols = neighbors.fuzzy_graph(X, 5, groups=groups, random_state=0).nonzero()
    assert len(rows) and np.all(groups[rows] == groups[cols])


def test_features_are_reduced_chunk_by_chunk(monkeypatch, tmp_path):
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.uint8,
                                  shape=(300, 10, 10))
    X[:] = np.random.default_rng(0).integers(0, 256, X.shape)
    # 64 rows of 100 float64 features a chunk; the components are fitted on one.
    monkeypatch.setattr(_data, "CHUNK_BYTES", 64 * 100 * 8)
    reads = []
    getitem = np.memmap.__getitem__
    monkeypatch.setattr(np.memmap, "__getitem__",
                        lambda self, key: reads.append(len(getitem(self, key))) or
                        getitem(self, key))
    F = neighbors.reduced_features(X, random_state=0)
    assert F.shape == (300, neighbors.PCA_COMPONENTS) and F.dtype == np.float32
    assert max(reads) == 64 and sum(reads) == 64 + 300
    # Few features are used as they are, centred and scaled into [-1, 1].
    table = np.random.default_rng(0).random((20, 3))
    centred = table - table.mean(axis=0)
    np.testing.assert_allclose(neighbors.reduced_features(table, 0),
                               centred / np.abs(centred).max(), rtol=1e-6)


def test_sampler_draws_neighbors_in_proportion_to_weight():
    from scipy import sparse

    graph = sparse.csr_matrix(np.array([[0, 0.75, 0.25, 0],
                                        [0.75, 0, 0, 0],
                                        [0.25, 0, 0, 0],
                                        [0, 0, 0, 0]], dtype=np.float32))
    sampler = neighbors.NeighborSampler(graph, torch.device("cpu"))
    torch.manual_seed(0)
    m = neighbors.NEIGHBORS_PER_ROW
    draws = sampler(torch.zeros(20000, dtype=torch.long))
    assert draws.shape == (20000, m) and set(draws.flatten().tolist()) == {1, 2}
    assert abs((draws == 1).float().mean().item() - 0.75) < 0.01
    # A row's only neighbor, and a row with none keeps itself.
    assert sampler(torch.tensor([1, 2, 3])).tolist() == [[0] * m, [0] * m, [3] * m]


def test_loss_prefers_neighbors_close_and_others_far():
    codes = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    near = (codes + 0.05)[:, None].expand(2, 3, 2)
    kept = neighbors.neighbor_embedding_loss(codes, near, scale=4.0)
    swapped = neighbors.neighbor_embedding_loss(codes, near.flip(0), scale=4.0)
    assert kept.shape == (2,) and torch.all(kept < swapped)
    # Coinciding codes have a finite loss and gradient.
    codes.requires_grad_(True)
    loss = neighbors.neighbor_embedding_loss(codes, codes.detach()[:, None], scale=4.0)
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(codes.grad).all()


def _map_quality(vae, X, y):
    Z = vae.transform(X)
    knn = KNeighborsClassifier(5).fit(Z[:1200], y[:1200]).score(Z[1200:], y[1200:])
    return knn, trustworthiness(X[1200:].reshape(len(X) - 1200, -1), Z[1200:], n_neighbors=10)


def test_neighbor_loss_makes_a_more_faithful_2d_map(digits):
    X, y = digits
    params = dict(n_components=2, max_epochs=15, batch_size=64, random_state=0)
    plain = VAETransformer(neighbor_weight=0, **params).fit(X[:1200])
    kept = VAETransformer(**params).fit(X[:1200])
    assert kept._neighbor_weight(2) > 0, "on by default in 2-D"
    (knn_plain, trust_plain), (knn_kept, trust_kept) = (_map_quality(v, X, y)
                                                         for v in (plain, kept))
    assert knn_kept > knn_plain + 0.03 and trust_kept > trust_plain
    assert knn_kept > 0.75


def test_no_graph_without_the_loss(images_30, digits, monkeypatch):
    from conftest import TINY

    def fail(*args, **kwargs):
        raise AssertionError("graph built")

    monkeypatch.setattr(_estimator, "fuzzy_graph", fail)
    VAETransformer(neighbor_weight=0, **TINY).fit(images_30)
    # Off by default for a conditional model, whose code must leave the class to y.
    X, y = digits
    VAETransformer(conditional=True, **TINY).fit(X[:60], y[:60])
    for n_components in (2, 3):
        with pytest.raises(AssertionError, match="graph built"):
            VAETransformer(n_components=n_components, **TINY).fit(images_30)


def test_neighbor_scale_stretches_with_the_dimensions_beyond_two(monkeypatch):
    from skvae import _net

    seen = []
    monkeypatch.setattr(_net, "neighbor_embedding_loss",
                        lambda mu, mu_n, scale, *a: seen.append(scale) or torch.zeros(len(mu)))
    criterion = _net.NegativeELBO(neighbor_weight=1.0, neighbor_scale=4.0)
    for d in (1, 2, 8):
        vae_module = _net.build_vae(architecture="mlp", event_shape=(6,), likelihood="gaussian",
                                    latent_dim=d, hidden_dim=8)
        vae_module.train()
        x = torch.rand(4, 6)
        batch = _net.Batch(x, x_neighbor=torch.rand(4, 1, 6), index=torch.arange(4),
                           neighbor_index=torch.arange(4, 8)[:, None])
        criterion.terms(vae_module(x, None), batch, vae_module)
    assert seen == [4.0, 4.0, 1.0]


def test_graph_of_a_conditional_model_stays_within_classes(digits, monkeypatch):
    from conftest import TINY

    X, y = digits
    seen = {}
    build = _estimator.fuzzy_graph

    def spy(X, n_neighbors, groups=None, random_state=None):
        seen["graph"] = build(X, n_neighbors, groups=groups, random_state=random_state)
        return seen["graph"]

    monkeypatch.setattr(_estimator, "fuzzy_graph", spy)
    vae = VAETransformer(conditional=True, neighbor_weight=200, n_neighbors=5,
                         **TINY).fit(X[:200], y[:200])
    rows, cols = seen["graph"].nonzero()
    assert np.all(y[:200][rows] == y[:200][cols])
    assert vae.transform(X[:3]).shape == (3, 2)


def test_only_training_batches_bring_neighbors():
    from skvae._net import VAENet

    X = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    graph = neighbors.fuzzy_graph(X, 3, random_state=0)
    net = VAENet(batch_size=8)
    dataset = net.get_dataset(TrainingData(X, graph=graph))
    (train_batch, _), *_ = net.get_iterator(dataset, training=True)
    (valid_batch, _), *_ = net.get_iterator(dataset, training=False)
    m = neighbors.NEIGHBORS_PER_ROW
    assert train_batch.x_neighbor.shape == (8, m, 6) and train_batch.condition is None
    np.testing.assert_array_equal(train_batch.x, X[train_batch.index])
    np.testing.assert_array_equal(train_batch.x_neighbor, X[train_batch.neighbor_index])
    assert valid_batch.x.shape == (8, 6)
    assert valid_batch.x_neighbor is None and valid_batch.index is None
    # Every drawn row is a neighbor in the graph.
    rows = [int(np.flatnonzero((X == row.numpy()).all(axis=1))[0]) for row in train_batch.x]
    for i, drawn in zip(rows, train_batch.x_neighbor):
        for row in drawn:
            j = int(np.flatnonzero((X == row.numpy()).all(axis=1))[0])
            assert graph[i, j] > 0


def test_duplicate_rows_are_no_neighbors_of_themselves():
    X = np.repeat(np.random.default_rng(0).random((20, 5)), 3, axis=0)
    graph = neighbors.fuzzy_graph(X, 5, random_state=0)
    assert graph.diagonal().max() == 0
    # Each row's two duplicates are among its neighbors, at full membership.
    rows = np.arange(60)
    for shift in (1, 2):
        duplicates = rows // 3 * 3 + (rows % 3 + shift) % 3
        np.testing.assert_allclose(graph.toarray()[rows, duplicates], 1.0)


def test_a_rows_neighbors_are_no_negatives_wherever_they_sit_in_the_batch():
    mu = torch.tensor([[0.0, 0.0], [0.5, 0.0], [9.0, 9.0]])
    drawn = torch.tensor([[1], [0], [0]])
    with_index = neighbors.neighbor_embedding_loss(mu, mu[drawn], 4.0, torch.arange(3), drawn)
    # Row 0's neighbor, row 1, is also in the batch: with the indices row 0
    # is not pushed away from its own neighbor, whose code is close.
    without = neighbors.neighbor_embedding_loss(mu, mu[drawn], 4.0)
    assert with_index[0] < without[0] / 5


def test_validation_rows_are_never_drawn_as_neighbors():
    from skorch.dataset import ValidSplit

    from skvae._net import VAENet

    X = np.random.default_rng(0).random((60, 6)).astype(np.float32)
    graph = neighbors.fuzzy_graph(X, 10, random_state=0)
    net = VAENet(batch_size=60, train_split=ValidSplit(0.25, random_state=0))
    train, valid = net.get_split_datasets(TrainingData(X, graph=graph))
    assert len(valid) == 15
    for _ in range(20):
        (batch, _), = net.get_iterator(train, training=True)
        assert set(batch.neighbor_index.flatten().tolist()) <= set(np.asarray(train.indices))


def test_graph_stores_no_explicit_zeros():
    # Rows of the small cluster reach into the far one for their last
    # neighbors, at memberships that underflow to 0.
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(10, 2)), 100 + rng.normal(size=(30, 2))])
    graph = neighbors.fuzzy_graph(X, 12, random_state=0)
    assert graph.nnz == np.count_nonzero(graph.toarray()) == 552
    assert graph.data.min() > 0


def test_n_neighbors_is_bounded_by_the_rows_of_a_group():
    X = np.random.default_rng(0).random((30, 2))
    graph = neighbors.fuzzy_graph(X, 10**9, random_state=0)
    assert graph.nnz == 30 * 29, "every other row is a neighbor, none twice"
    groups = np.repeat([0, 1, 2], [1, 5, 24])
    graph = neighbors.fuzzy_graph(X, 10**9, groups=groups, random_state=0)
    assert graph.nnz == 5 * 4 + 24 * 23
    assert graph[0].nnz == 0, "a group of one row has no neighbors"


def test_a_large_graph_warns_before_it_is_built(monkeypatch):
    X = np.random.default_rng(0).random((4000, 5))

    def built(*args):
        raise AssertionError("graph built")

    monkeypatch.setattr(neighbors, "reduced_features", built)
    # k = 10**9 means every other row: 4000 * 3999 edges at 120 bytes each.
    with pytest.warns(UserWarning, match=r"15,996,000 edges.*1\.8 GiB.*n_neighbors") as record:
        with pytest.raises(AssertionError, match="graph built"):
            neighbors.fuzzy_graph(X, 10**9, random_state=0)
    assert len(record) == 1
    # Within two classes of 2000 rows, half as many edges: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        with pytest.raises(AssertionError, match="graph built"):
            neighbors.fuzzy_graph(X, 10**9, groups=np.arange(4000) % 2, random_state=0)
        with pytest.raises(AssertionError, match="graph built"):
            neighbors.fuzzy_graph(X, 15, random_state=0)


@pytest.mark.parametrize("X", [
    pytest.param(np.full((50, 64), 0.5), id="identical rows"),
    pytest.param(np.random.default_rng(0).normal(size=(200, 10)) * 1e20, id="table near 1e20"),
    # More features than PCA_COMPONENTS: the principal components' fit.
    pytest.param(np.random.default_rng(0).normal(size=(200, 64)) * 1e20, id="wide table near 1e20"),
    pytest.param(np.random.default_rng(0).normal(size=(200, 64)).astype(np.float32) * 1e20,
                 id="float32 pixels near 1e20"),
])
def test_graph_of_extreme_data_gives_no_runtime_warning(X):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        graph = neighbors.fuzzy_graph(X, 15, random_state=0)
    assert graph.data.min() > 0 and graph.data.max() <= 1
    assert graph.diagonal().max() == 0
    assert np.all(np.diff(graph.indptr) >= 15), "every row keeps its neighbors"
    if np.ptp(X) == 0:
        assert np.all(graph.data == 1), "identical rows are full members of each other"


def test_graph_is_invariant_to_the_scale_of_the_data():
    X = np.random.default_rng(0).normal(size=(200, 64))
    graph = neighbors.fuzzy_graph(X, 15, random_state=0)
    for scale in (1e-20, 1e20):
        scaled = neighbors.fuzzy_graph(X * scale, 15, random_state=0)
        assert (scaled != 0).toarray().tolist() == (graph != 0).toarray().tolist()
        np.testing.assert_allclose(scaled.toarray(), graph.toarray(), atol=1e-5)


def test_fit_of_identical_rows_gives_no_runtime_warning():
    from conftest import TINY

    X = np.full((50, 64), 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        # Collapsed latent dimensions are expected of such data.
        warnings.filterwarnings("ignore", "Only .* latent dimensions", UserWarning)
        vae = VAETransformer(n_components=2, likelihood="gaussian", neighbor_weight=200.0,
                             **TINY).fit(X)
    assert vae.transform(X[:3]).shape == (3, 2)


def _umap_graph(F, knn_indices, knn_dists, n_neighbors, **kwargs):
    """umap-learn's graph of the rows of ``F``, given their neighbors (self not included)."""
    fuzzy_simplicial_set = pytest.importorskip("umap.umap_").fuzzy_simplicial_set
    n = len(F)
    # umap-learn expects each point first among its own neighbors.
    knn_indices = np.hstack([np.arange(n)[:, None], knn_indices])
    knn_dists = np.hstack([np.zeros((n, 1)), knn_dists]).astype(np.float32)
    graph, _, _ = fuzzy_simplicial_set(F, n_neighbors, random_state=0, metric="euclidean",
                                       knn_indices=knn_indices, knn_dists=knn_dists, **kwargs)
    return graph.tocsr()


def test_graph_matches_umap_learn():
    # Duplicated rows exercise rho, the distance to the nearest other value.
    X = np.random.default_rng(0).normal(size=(300, 5))
    X[100:120] = X[:20]
    k = 10
    F = neighbors.reduced_features(X, 0)
    knn_indices, knn_dists = neighbors.nearest_neighbors(F, k, 0)
    ours = neighbors.fuzzy_graph(X, k, random_state=0)
    # Given the same k other rows, umap with n_neighbors=k targets the
    # same log2(k) and builds the same fuzzy union.
    theirs = _umap_graph(F, knn_indices, knn_dists, k)
    assert (ours != 0).toarray().tolist() == (theirs != 0).toarray().tolist()
    np.testing.assert_allclose(ours.toarray(), theirs.toarray(), atol=1e-4)

    # Intended difference 1: umap's n_neighbors counts the point itself,
    # so umap at n_neighbors=k + 1 weighs the same k rows to log2(k + 1);
    # skvae's n_neighbors=k weighs its k other rows to log2(k).
    directed = _umap_graph(F, knn_indices, knn_dists, k + 1, apply_set_operations=False)
    assert directed.diagonal().max() == 0
    np.testing.assert_allclose(np.asarray(directed.sum(axis=1)).ravel(), np.log2(k + 1),
                               rtol=1e-4)
    np.testing.assert_allclose(neighbors.fuzzy_memberships(knn_dists).sum(axis=1), np.log2(k),
                               rtol=1e-6)


def test_no_min_k_dist_scale_floor_unlike_umap_learn():
    # Intended difference 2: umap floors each bandwidth at MIN_K_DIST_SCALE
    # times the row's mean distance. For a row whose near neighbors crowd
    # its nearest one, the floor makes its memberships sum to more than
    # log2(k); skvae keeps the sum at log2(k) with the narrower bandwidth.
    umap_ = pytest.importorskip("umap.umap_")
    k = 15
    distances = np.array([[1.0] + [1.0001] * 3 + [100.0] * 11])
    with_self = np.hstack([np.zeros((1, 1)), distances]).astype(np.float32)
    sigmas, rhos = umap_.smooth_knn_dist(with_self, float(k))
    assert sigmas[0] == pytest.approx(umap_.MIN_K_DIST_SCALE * with_self.mean(), rel=1e-6)
    theirs = np.exp(-np.maximum(distances - rhos[:, None], 0) / sigmas[:, None])
    ours = neighbors.fuzzy_memberships(distances)
    assert theirs.sum() > np.log2(k) + 0.05
    np.testing.assert_allclose(ours.sum(axis=1), np.log2(k), rtol=1e-6)
    # Both give full membership to the nearest neighbor, none to the far ones.
    np.testing.assert_allclose(ours[0, 0], theirs[0, 0])
    assert ours[0, 4:].max() < 1e-30 and theirs[0, 4:].max() < 1e-30
