"""VAETransformer: the API of issue 2, layouts, conventions and quality."""

import functools
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skvae import VAETransformer
from skvae.likelihoods import BernoulliLikelihood, gaussian_kl

FAST = dict(max_epochs=2, batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def fitted(digits):
    """A small model fitted on the digits as (n, 8, 8) images."""
    X, _ = digits
    return VAETransformer(latent_dim=2, max_epochs=5, batch_size=64, random_state=0).fit(X)


def test_api_round_trip_shapes(fitted, digits):
    X, _ = digits
    Z = fitted.transform(X[:10])
    assert Z.shape == (10, 2) and Z.dtype == np.float32
    assert fitted.inverse_transform(Z).shape == (10, 8, 8)
    assert fitted.sample(16, random_state=0).shape == (16, 8, 8)
    elbo = fitted.score_samples(X[:10])
    assert elbo.shape == (10,) and np.all(np.isfinite(elbo))
    assert fitted.score(X[:10]) == pytest.approx(elbo.mean())
    assert fitted.architecture_ == "conv"
    assert fitted.image_shape_ == (1, 8, 8)
    assert fitted.n_features_in_ == 64


@pytest.mark.parametrize(
    "shape, fit_kwargs, architecture",
    [
        ((40, 64), {}, "mlp"),
        ((40, 64), {"image_shape": (8, 8)}, "conv"),
        ((40, 48), {"image_shape": (3, 4, 4)}, "conv"),
        ((40, 8, 8), {}, "conv"),
        ((40, 3, 8, 8), {}, "conv"),
        ((40, 1, 7, 5), {}, "conv"),
        ((40, 8, 8), {"architecture": "mlp"}, "mlp"),
    ],
)
def test_layouts_come_back_as_given(shape, fit_kwargs, architecture):
    X = np.random.default_rng(0).random(shape, dtype=np.float32)
    vae = VAETransformer(latent_dim=3, **fit_kwargs, **FAST).fit(X)
    assert vae.architecture_ == architecture
    Z = vae.transform(X)
    assert Z.shape == (40, 3)
    assert vae.inverse_transform(Z).shape == shape
    assert vae.sample(5, random_state=1).shape == (5, *shape[1:])
    # Bernoulli means are probabilities.
    X_hat = vae.inverse_transform(Z)
    assert X_hat.min() >= 0 and X_hat.max() <= 1


def test_sample_is_reproducible_and_varies(fitted):
    a = fitted.sample(4, random_state=0)
    np.testing.assert_array_equal(a, fitted.sample(4, random_state=0))
    assert not np.allclose(a, fitted.sample(4, random_state=1))


def test_transform_is_deterministic_posterior_mean(fitted, digits):
    X, _ = digits
    np.testing.assert_array_equal(fitted.transform(X[:50]), fitted.transform(X[:50]))
    mu, _ = fitted.net_.encode(X[:50, None])
    np.testing.assert_array_equal(fitted.transform(X[:50]), mu)


def test_elbo_is_log_likelihood_minus_kl(fitted, digits):
    """score_samples is sum_pixels log p(x|z) - KL with std = exp(log_var / 2)."""
    X, _ = digits
    x = torch.from_numpy(X[:20, None])
    module = fitted.net_.module_
    with torch.no_grad():
        mu, log_var = module.encoder(x)
        eps = torch.randn((1, 1, 2), generator=torch.Generator().manual_seed(0))
        z = mu + torch.exp(log_var / 2) * eps[0]
        logits = module.decoder(z)
        log_lik = -torch.nn.functional.binary_cross_entropy_with_logits(
            logits, x, reduction="none").sum(dim=(1, 2, 3))
        kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(dim=1)
    np.testing.assert_allclose(fitted.score_samples(X[:20]), (log_lik - kl).numpy(), rtol=1e-5)


def test_kl_and_bernoulli_log_prob_closed_forms():
    mu = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    log_var = torch.tensor([[0.0, 0.0], [np.log(4.0), 0.0]])
    np.testing.assert_allclose(
        gaussian_kl(mu, log_var).numpy(),
        [0.0, 0.5 * (1 + 4 - 1 - np.log(4)) + 0.5 * 4],
    )
    x = torch.tensor([[1.0, 0.0]])
    logits = torch.zeros(3, 1, 2)  # K = 3 samples, p = 0.5 everywhere
    np.testing.assert_allclose(BernoulliLikelihood().log_prob(x, logits).numpy(),
                               np.full((3, 1), 2 * np.log(0.5)), rtol=1e-6)


def test_training_improves_the_elbo(digits):
    X, _ = digits
    untrained = VAETransformer(max_epochs=0, random_state=0).fit(X)
    trained = VAETransformer(max_epochs=5, batch_size=64, random_state=0).fit(X)
    assert trained.score(X) > untrained.score(X) + 5
    losses = trained.net_.history[:, "train_loss"]
    assert len(losses) == 5 and losses[-1] < losses[0]


def test_same_seed_same_model_and_global_rng_untouched(digits):
    X, _ = digits
    X = X[:300]
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    a = VAETransformer(**FAST).fit(X)
    b = VAETransformer(**FAST).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    c = VAETransformer(**{**FAST, "random_state": 1}).fit(X)
    assert not np.allclose(a.transform(X), c.transform(X))


def test_not_fitted_errors():
    vae = VAETransformer()
    for call in (lambda: vae.transform(np.zeros((2, 4))),
                 lambda: vae.inverse_transform(np.zeros((2, 2))),
                 lambda: vae.sample(2),
                 lambda: vae.score(np.zeros((2, 4))),
                 lambda: vae.get_feature_names_out()):
        with pytest.raises(NotFittedError):
            call()


@pytest.mark.parametrize(
    "params, message",
    [
        ({"latent_dim": 0}, "latent_dim == 0, must be >= 1"),
        ({"latent_dim": 2.5}, "latent_dim must be an instance of"),
        ({"likelihood": "poisson"}, "likelihood must be one of 'bernoulli', 'gaussian'"),
        ({"architecture": "transformer"}, "architecture must be one of"),
        ({"image_shape": (5, 5)}, "image_shape=(5, 5) has 25 pixels but X has 64 features"),
        ({"image_shape": (8, -8)}, "image_shape must be a tuple of 2 or 3 positive integers"),
        ({"architecture": "conv"}, "architecture='conv' needs images"),
        ({"batch_size": 0}, "batch_size == 0, must be >= 1"),
        ({"adversary_weight": -1.0}, "adversary_weight == -1.0, must be >= 0"),
        ({"weight_decay": -0.1}, "weight_decay == -0.1, must be >= 0"),
        ({"precision": "fp8"}, "precision must be one of"),
    ],
)
def test_invalid_parameters_are_named(params, message):
    X = np.random.default_rng(0).random((10, 64))
    vae = VAETransformer(**params)
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(")", r"\)")):
        vae.fit(X)
    # Validation happens in fit: the parameter is stored unchanged.
    assert vae.get_params()[next(iter(params))] == params[next(iter(params))]


def test_image_shape_must_match_image_input():
    X = np.random.default_rng(0).random((10, 8, 8))
    with pytest.raises(ValueError, match="does not match the images in X"):
        VAETransformer(image_shape=(4, 16)).fit(X)


def test_inferred_image_shape_is_not_written_back(digits):
    X, _ = digits
    vae = VAETransformer(**FAST).fit(X[:100])
    assert vae.image_shape is None and vae.image_shape_ == (1, 8, 8)
    assert clone(vae).get_params() == vae.get_params()


def test_feature_names_and_pandas_output(digits):
    X, _ = digits
    df = pd.DataFrame(X[:200].reshape(200, -1), columns=[f"px{i}" for i in range(64)])
    vae = VAETransformer(latent_dim=3, image_shape=(8, 8), **FAST).set_output(transform="pandas")
    Z = vae.fit_transform(df)
    assert list(vae.feature_names_in_) == list(df.columns)
    assert list(vae.get_feature_names_out()) == ["vaetransformer0", "vaetransformer1",
                                                 "vaetransformer2"]
    assert isinstance(Z, pd.DataFrame) and list(Z.columns) == list(vae.get_feature_names_out())
    assert Z.index.equals(df.index)


def test_gaussian_likelihood_on_standardized_tabular_data():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(400, 2))
    X = latent @ rng.normal(size=(2, 10)) + 0.1 * rng.normal(size=(400, 10))
    X = (X - X.mean(0)) / X.std(0)
    vae = VAETransformer(likelihood="gaussian", max_epochs=40, batch_size=64,
                         lr=3e-3, random_state=0).fit(X)
    assert vae.architecture_ == "mlp"
    mse = np.mean((vae.inverse_transform(vae.transform(X)) - X) ** 2)
    # Two latent factors explain the data: a trained model reconstructs far
    # better than the mean (MSE 1 on standardized data).
    assert mse < 0.2
    assert vae.score(X) > VAETransformer(likelihood="gaussian", max_epochs=0,
                                         random_state=0).fit(X).score(X)


def test_pickle_and_joblib_round_trips_are_identical(fitted, digits, tmp_path):
    X, _ = digits
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    np.testing.assert_array_equal(restored.score_samples(X), fitted.score_samples(X))
    joblib.dump(fitted, tmp_path / "vae.joblib")
    loaded = joblib.load(tmp_path / "vae.joblib")
    np.testing.assert_array_equal(loaded.inverse_transform(fitted.transform(X[:5])),
                                  fitted.inverse_transform(fitted.transform(X[:5])))


def test_cuda_requested_without_cuda_is_a_clear_error(monkeypatch, digits):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, _ = digits
    with pytest.raises(ValueError, match="CUDA is not available"):
        VAETransformer(device="cuda").fit(X[:10])
    assert VAETransformer(max_epochs=1).fit(X[:10]).device_ == "cpu"


def test_pipeline_with_classifier(digits):
    X, y = digits
    X = X.reshape(len(X), -1) * 16  # raw 0..16 pixel values, scaled by the pipeline
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipe = make_pipeline(
        MinMaxScaler(),
        VAETransformer(latent_dim=8, image_shape=(8, 8), max_epochs=30, batch_size=64,
                       lr=3e-3, lr_schedule="constant", random_state=0),
        LogisticRegression(max_iter=2000),
    )
    pipe.fit(X_train, y_train)
    # Test pixels beyond the training range are clipped, as the warning says.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X ranges from", UserWarning)
        accuracy = pipe.score(X_test, y_test)
    # Chance is 0.1, and so is the accuracy on an untrained encoder's codes
    # (0.08); this model reaches about 0.66.
    assert accuracy > 0.55


def test_grid_search_uses_the_elbo_as_score(digits):
    X, _ = digits
    search = GridSearchCV(VAETransformer(max_epochs=10, random_state=0),
                          {"latent_dim": [1, 8]}, cv=2).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    # Eight latent dimensions explain 8x8 digits better than one.
    assert search.best_params_ == {"latent_dim": 8}
    assert search.best_estimator_.transform(X[:3]).shape == (3, 8)


@pytest.mark.parametrize("latent_dim, epochs", [(2, 5), (16, 12)])
def test_mnist_beats_pca_reconstruction(mnist, latent_dim, epochs):
    X, _ = mnist
    X_train, X_test = X[:3000], X[-1000:]
    vae = VAETransformer(latent_dim=latent_dim, max_epochs=epochs, random_state=0).fit(X_train)
    vae_mse = np.mean((vae.inverse_transform(vae.transform(X_test)) - X_test) ** 2)
    pca = PCA(latent_dim).fit(X_train.reshape(len(X_train), -1))
    flat = X_test.reshape(len(X_test), -1)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(flat)) - flat) ** 2)
    assert vae_mse < pca_mse


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@cuda
def test_cuda_fit_and_device_auto(digits):
    X, _ = digits
    vae = VAETransformer(**FAST).fit(X)
    assert vae.device_ == "cuda"
    assert next(vae.net_.module_.parameters()).is_cuda
    cpu = VAETransformer(device="cpu", **FAST).fit(X)
    np.testing.assert_allclose(vae.transform(X), cpu.transform(X), atol=0.5)


@cuda
def test_cuda_model_unpickles_on_a_cpu_only_machine(digits, monkeypatch):
    X, _ = digits
    vae = VAETransformer(device="cuda", **FAST).fit(X)
    blob = pickle.dumps(vae)
    expected = vae.transform(X)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no CUDA devices"):
        restored = pickle.loads(blob)
    assert not next(restored.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(restored.transform(X), expected, atol=1e-4)


def test_history_records_every_batch_and_the_epoch_mean(digits):
    X, _ = digits
    vae = VAETransformer(max_epochs=2, batch_size=500, random_state=0).fit(X)
    batches = vae.net_.history[-1, "batches"]
    assert [b["train_batch_size"] for b in batches] == [500, 500, 500, 297]
    losses = [b["train_loss"] for b in batches]
    assert len(set(losses)) == 4
    assert vae.net_.history[-1, "train_loss"] == pytest.approx(
        np.average(losses, weights=[500, 500, 500, 297]))


fused_cpu_adam = pytest.mark.skipif(
    tuple(int(p) for p in torch.__version__.split(".")[:2]) < (2, 4),
    reason="torch has fused Adam kernels for the CPU from 2.4")


@fused_cpu_adam
def test_adam_runs_fused_unless_told_otherwise(digits):
    X, _ = digits
    fused = VAETransformer(**FAST).fit(X)
    assert fused.net_.optimizer_.defaults["fused"] is True
    # An explicit foreach (which excludes fused) and an optimizer without a
    # fused kernel are built as asked.
    foreach = VAETransformer(optimizer=functools.partial(torch.optim.AdamW, foreach=True),
                             **FAST).fit(X)
    assert not foreach.net_.optimizer_.defaults["fused"]
    assert foreach.net_.optimizer_.defaults["foreach"] is True
    rmsprop = VAETransformer(optimizer=torch.optim.RMSprop, **FAST).fit(X)
    assert isinstance(rmsprop.net_.optimizer_, torch.optim.RMSprop)
    for vae in (fused, foreach, rmsprop):
        assert np.isfinite(vae.score(X))
    # Fused and per-tensor AdamW take the same steps, up to rounding.
    np.testing.assert_allclose(fused.transform(X), foreach.transform(X), atol=1e-3)
