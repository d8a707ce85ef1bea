"""Conditional generation: fit(X, y), sample(n, y=...), style transfer and their errors."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skvae import VAETransformer


@pytest.fixture(scope="module")
def cvae(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    vae = VAETransformer(n_components=2, conditional=True, max_epochs=30, batch_size=64, lr=3e-3,
                         random_state=0)
    return vae.fit(X, names[y]), names


@pytest.fixture(scope="module")
def judge(digits):
    """A classifier of real digits, to ask what the generated images show."""
    X, y = digits
    return LogisticRegression(max_iter=2000).fit(X.reshape(len(X), -1), y)


def test_classes_and_shapes(cvae, digits):
    vae, names = cvae
    X, _ = digits
    np.testing.assert_array_equal(vae.classes_, np.sort(names))
    assert vae.transform(X[:5]).shape == (5, 2)  # no labels needed
    assert vae.sample(4, y="seven", random_state=0).shape == (4, 8, 8)
    assert vae.sample(3, y=["one", "two", "one"], random_state=0).shape == (3, 8, 8)
    assert vae.inverse_transform(vae.transform(X[:6]), y="three").shape == (6, 8, 8)


def test_samples_show_the_class_asked_for(cvae, judge):
    vae, names = cvae
    samples = np.concatenate([vae.sample(30, y=name, random_state=k)
                              for k, name in enumerate(names)])
    asked = np.repeat(np.arange(10), 30)
    accuracy = judge.score(samples.reshape(len(samples), -1), asked)
    assert accuracy > 0.8, accuracy  # chance is 0.1


def test_style_transfer_redraws_as_each_class(cvae, judge, digits):
    vae, names = cvae
    X, _ = digits
    codes = vae.transform(X[-50:])
    hits = [judge.predict(vae.inverse_transform(codes, y=name).reshape(50, -1)) == k
            for k, name in enumerate(names)]
    assert np.mean(hits) > 0.7


def test_score_is_log_p_x_given_y_and_grid_search_works(cvae, digits):
    vae, names = cvae
    X, y = digits
    right = vae.score(X[:200], names[y[:200]])
    wrong = vae.score(X[:200], names[(y[:200] + 1) % 10])
    assert right > wrong + 5
    search = GridSearchCV(VAETransformer(conditional=True, max_epochs=2, batch_size=64,
                                         random_state=0), {"n_components": [1, 2]}, cv=2)
    search.fit(X[:300], y[:300])
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_a_conditional_vae_runs_as_a_pipeline_step(digits):
    X, y = digits
    pipe = make_pipeline(VAETransformer(conditional=True, max_epochs=2, batch_size=64,
                                        image_shape=(8, 8), random_state=0),
                         LogisticRegression(max_iter=500))
    pipe.fit(X.reshape(len(X), -1)[:300], y[:300])
    assert pipe.predict(X.reshape(len(X), -1)[300:310]).shape == (10,)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda v: v.sample(2), r"conditional: sample needs y, a label from \['eight'"),
        (lambda v: v.sample(2, y="ten"), r"Unknown label\(s\) \['ten'\]"),
        (lambda v: v.sample(3, y=["one", "two"]), "sample got 2 labels for 3 samples"),
        (lambda v: v.inverse_transform(np.zeros((2, 2))), "inverse_transform needs y"),
    ],
)
def test_conditional_errors(cvae, call, message):
    vae, _ = cvae
    with pytest.raises(ValueError, match=message):
        call(vae)


def test_score_without_labels_bounds_the_marginal_likelihood(cvae, digits):
    vae, names = cvae
    X, y = digits
    X, y = X[:50], names[y[:50]]
    per_class = np.stack([vae.score_samples(X, np.full(len(X), name)) for name in vae.classes_])
    np.testing.assert_allclose(vae.class_prior_, np.bincount(digits[1])[np.argsort(names)]
                               / len(digits[1]))
    marginal = vae.score_samples(X)
    expected = np.log(np.exp(per_class.astype(np.float64)).T @ vae.class_prior_)
    np.testing.assert_allclose(marginal, expected, rtol=1e-5)
    # Summing over classes can only add probability to the true class's term.
    assert np.all(marginal >= vae.score_samples(X, y) + np.log(vae.class_prior_.min()) - 1e-3)


def test_labels_are_required_and_complete(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"conditional=True requires y to be passed"):
        VAETransformer(conditional=True).fit(X)
    with pytest.raises(ValueError, match="mark of an unlabeled sample"):
        VAETransformer(conditional=True).fit(X[:20], np.r_[y[:19], -1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        VAETransformer(conditional=True).fit(X[:20], y[:10])


def test_y_to_an_unconditional_model(digits):
    X, y = digits
    vae = VAETransformer(max_epochs=1, random_state=0).fit(X[:50], y[:50])  # y ignored
    assert not hasattr(vae, "classes_")
    assert np.isfinite(vae.score(X[:50], y[:50]))
    for call in (lambda: vae.sample(2, y=1), lambda: vae.inverse_transform(np.zeros((1, 2)), y=1)):
        with pytest.raises(ValueError, match="this model is not conditional"):
            call()


def test_the_adversary_keeps_the_class_out_of_the_codes(digits):
    # Without it the encoder writes some of the class into the code; with it
    # a classifier of the codes is close to chance (0.1).
    X, y = digits

    def code_accuracy(weight):
        vae = VAETransformer(n_components=8, conditional=True, adversary_weight=weight,
                             max_epochs=30, batch_size=64, lr=3e-3, random_state=0)
        codes = vae.fit(X[:1000], y[:1000]).transform(X)
        return LogisticRegression(max_iter=1000).fit(codes[:1000], y[:1000]).score(
            codes[1000:], y[1000:])

    plain, adversarial = code_accuracy(0.0), code_accuracy(5.0)
    assert adversarial < 0.2, adversarial
    assert adversarial < plain - 0.08, (plain, adversarial)
