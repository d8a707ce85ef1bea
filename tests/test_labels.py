"""skvae._labels: the class labels of a conditional model (issue 15)."""

import numpy as np
import pytest

from skvae import VAETransformer

TINY = dict(conditional=True, channels=(4,), hidden_dim=8, max_epochs=1, batch_size=16,
            random_state=0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((12, 6, 6), dtype=np.float32)


@pytest.mark.parametrize("y, message", [
    (np.array([0.0, 1.0, np.nan] * 4), "y holds NaN, a missing label"),
    (np.array([0, 1, None] * 4, dtype=object), "y holds None, a missing label"),
    (np.array([0, "a", 1] * 4, dtype=object), r"mixes labels of different types \(number, str\)"),
    (np.array([0, 1, -1] * 4), "y holds -1, scikit-learn's mark of an unlabeled sample"),
    (np.array([0.0, 1.0, -1.0] * 4), "y holds -1, scikit-learn's mark of an unlabeled sample"),
])
def test_bad_labels_are_clear_errors(images, y, message):
    with pytest.raises(ValueError, match=message):
        VAETransformer(**TINY).fit(images, y)


def test_labels_of_any_single_type_work(images):
    for y in (np.array(["a", "b", "c"] * 4), np.array([0.5, 1.5, 2.5] * 4),
              np.array([3, 1, 2] * 4, dtype=object)):
        vae = VAETransformer(**TINY).fit(images, y)
        assert list(vae.classes_) == sorted(set(y.tolist()))
        assert vae.sample(2, y=y[0]).shape == (2, 6, 6)


def test_labels_at_inference_are_checked_against_the_classes(images):
    vae = VAETransformer(**TINY).fit(images, np.array([0, 1, 2] * 4))
    with pytest.raises(ValueError, match=r"Unknown label\(s\) \['1'\]"):
        vae.sample(2, y="1")
    with pytest.raises(ValueError, match="missing label"):
        vae.inverse_transform(np.zeros((2, 2)), y=[0, None])
    np.testing.assert_array_equal(vae.sample(2, y=1.0, random_state=0),
                                  vae.sample(2, y=1, random_state=0))


def test_object_labels_holding_minus_one_are_unlabeled_too(images):
    y = np.array([0, 1, -1] * 4, dtype=object)
    with pytest.raises(ValueError, match="mark of an unlabeled sample"):
        VAETransformer(**TINY).fit(images, y)


def test_a_conditional_model_trains_on_a_stream_of_labels(images):
    vae = VAETransformer(**TINY)
    vae.partial_fit(images[:6], np.zeros(6, int), classes=[0, 1, 2])
    np.testing.assert_array_equal(vae.classes_, [0, 1, 2])
    np.testing.assert_array_equal(vae.class_prior_, [1, 0, 0])
    vae.partial_fit(images[6:], np.array([1, 2, 2] * 2))
    np.testing.assert_array_equal(vae.class_count_, [6, 2, 4])
    np.testing.assert_allclose(vae.class_prior_, [0.5, 1 / 6, 1 / 3])
    with pytest.raises(ValueError, match=r"Unknown label\(s\) \[3\]"):
        vae.partial_fit(images[:2], [3, 0])
    with pytest.raises(ValueError, match=r"label\(s\) \[5\] that classes= does not list"):
        VAETransformer(**TINY).partial_fit(images[:2], [5, 0], classes=[0, 1])
