"""skvae._estimator: VAETransformer's parameters, fit, and its place in scikit-learn."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler

from conftest import FAST
from skvae import VAETransformer



def test_api_round_trip_shapes(fitted_digits, digits):
    X, _ = digits
    Z = fitted_digits.transform(X[:10])
    assert Z.shape == (10, 2) and Z.dtype == np.float32
    assert fitted_digits.inverse_transform(Z).shape == (10, 8, 8)
    assert fitted_digits.sample(16, random_state=0).shape == (16, 8, 8)
    elbo = fitted_digits.score_samples(X[:10])
    assert elbo.shape == (10,) and np.all(np.isfinite(elbo))
    assert fitted_digits.score(X[:10]) == pytest.approx(elbo.mean())
    assert fitted_digits.architecture_ == "conv"
    assert fitted_digits.image_shape_ == (1, 8, 8)
    assert fitted_digits.n_features_in_ == 64


def test_training_improves_the_elbo(digits):
    X, _ = digits
    # One epoch at a learning rate too small to move the weights: the
    # initialisation's ELBO.
    untrained = VAETransformer(max_epochs=1, lr=1e-12, random_state=0).fit(X)
    trained = VAETransformer(max_epochs=5, batch_size=64, random_state=0).fit(X)
    assert trained.score(X) > untrained.score(X) + 5
    losses = trained.net_.history[:, "train_loss"]
    assert len(losses) == 5 and losses[-1] < losses[0]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0}, "'n_components' parameter of VAETransformer must be an int in "
                              r"the range \[1, inf\). Got 0"),
        ({"n_components": 2.5}, "'n_components' parameter of VAETransformer must be an int"),
        ({"likelihood": "poisson"}, "'likelihood' parameter of VAETransformer must be a str "
                                    "among"),
        ({"architecture": "transformer"}, "'architecture' parameter"),
        ({"image_shape": (5, 5)}, r"image_shape=\(5, 5\) has 25 pixels but X has 64 features"),
        ({"image_shape": (8, -8)}, "image_shape must be a tuple of 2 or 3 positive integers"),
        ({"channels": (4, 0)}, "channels must be a tuple of 1 to 8 positive integers"),
        ({"architecture": "conv"}, "architecture='conv' needs images"),
        ({"batch_size": 0}, "'batch_size' parameter"),
        ({"max_epochs": 0}, "'max_epochs' parameter of VAETransformer must be a str among "
                            r"\{'auto'\} or an int in the range \[1, inf\)"),
        ({"max_epochs": "many"}, "'max_epochs' parameter"),
        ({"adversary_weight": -1.0}, "'adversary_weight' parameter"),
        ({"weight_decay": float("nan")}, "'weight_decay' parameter"),
        ({"weight_decay": "big"}, "'weight_decay' parameter"),
        ({"beta": float("nan")}, "'beta' parameter"),
        ({"lr": float("inf")}, "'lr' parameter"),
        ({"precision": "fp8"}, "'precision' parameter"),
        ({"device": 3}, "'device' parameter"),
        ({"device": "nonsense"}, "device='nonsense' is not a torch device"),
        ({"optimizer": "adam"}, "'optimizer' parameter of VAETransformer must be a callable"),
        ({"callbacks": ["progress"]}, "callbacks must be a list of skorch callbacks"),
        ({"conditional": "yes"}, "'conditional' parameter"),
    ],
)
def test_invalid_parameters_are_named(params, message):
    X = np.random.default_rng(0).random((10, 64))
    vae = VAETransformer(**params)
    with pytest.raises(ValueError, match=message):
        vae.fit(X)
    # Validation happens in fit: the parameter is stored unchanged.
    assert vae.get_params()[next(iter(params))] is params[next(iter(params))]


def test_inferred_image_shape_is_not_written_back(digits):
    X, _ = digits
    vae = VAETransformer(**FAST).fit(X[:100])
    assert vae.image_shape is None and vae.image_shape_ == (1, 8, 8)
    assert clone(vae).get_params() == vae.get_params()


def test_feature_names_and_pandas_output(digits):
    X, _ = digits
    df = pd.DataFrame(X[:200].reshape(200, -1), columns=[f"px{i}" for i in range(64)])
    vae = VAETransformer(n_components=3, image_shape=(8, 8), **FAST).set_output(transform="pandas")
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
    assert vae.score(X) > VAETransformer(likelihood="gaussian", max_epochs=1, lr=1e-12,
                                         random_state=0).fit(X).score(X)


def test_pipeline_with_classifier(digits):
    X, y = digits
    X = X.reshape(len(X), -1) * 16  # raw 0..16 pixel values, scaled by the pipeline
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    pipe = make_pipeline(
        MinMaxScaler(),
        VAETransformer(n_components=8, image_shape=(8, 8), max_epochs=30, batch_size=64,
                       lr=3e-3, lr_schedule="constant", random_state=0),
        LogisticRegression(max_iter=2000),
    )
    pipe.fit(X_train, y_train)
    # Test pixels beyond the training range are clipped, as the warning says.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X ranges from", UserWarning)
        accuracy = pipe.score(X_test, y_test)
    # Chance is 0.1, and so is the accuracy on an untrained encoder's codes
    # (0.08).
    assert accuracy > 0.55


def test_grid_search_uses_the_elbo_as_score(digits):
    X, _ = digits
    search = GridSearchCV(VAETransformer(max_epochs=10, neighbor_weight=0, random_state=0),
                          {"n_components": [1, 8]}, cv=2).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)
    # Eight latent dimensions explain 8x8 digits better than one.
    assert search.best_params_ == {"n_components": 8}
    assert search.best_estimator_.transform(X[:3]).shape == (3, 8)


@pytest.mark.parametrize("latent_dim, epochs", [(2, 5), (16, 12)])
def test_mnist_beats_pca_reconstruction(mnist, latent_dim, epochs):
    X, _ = mnist
    X_train, X_test = X[:3000], X[-1000:]
    vae = VAETransformer(n_components=latent_dim, max_epochs=epochs, random_state=0).fit(X_train)
    vae_mse = np.mean((vae.inverse_transform(vae.transform(X_test)) - X_test) ** 2)
    pca = PCA(latent_dim).fit(X_train.reshape(len(X_train), -1))
    flat = X_test.reshape(len(X_test), -1)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(flat)) - flat) ** 2)
    assert vae_mse < pca_mse


def test_readme_pipeline_cross_validates_on_the_digits():
    """The README's pipeline under cross_val_score's default 5 folds.

    A pixel nearly constant in a training fold makes MinMaxScaler map some
    test pixels far past [0, 1] (up to 6.0 here, 0.08% of a fold's
    entries): they are clipped with a warning, not an error that would
    score the fold NaN.
    """
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(MinMaxScaler(),
                         VAETransformer(n_components=8, image_shape=(8, 8), max_epochs=3,
                                        random_state=0),
                         LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X ranges from", UserWarning)
        scores = cross_val_score(pipe, X, y, error_score="raise")
    assert len(scores) == 5 and np.all(scores > 0.5)


def test_one_grid_over_pca_and_the_vae(digits):
    """n_components is the name every scikit-learn reducer uses."""
    X, y = digits
    X = X.reshape(len(X), -1)[:400]
    pipe = Pipeline([("reduce", PCA()), ("clf", LogisticRegression(max_iter=500))])
    grid = {"reduce": [PCA(), VAETransformer(image_shape=(8, 8), max_epochs=2, random_state=0)],
            "reduce__n_components": [2, 4]}
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise").fit(X, y[:400])
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
