"""scikit-learn's common estimator checks, and the estimator's tags (issue 15).

The checks feed arbitrary real-valued tables, so the default ``likelihood="auto"``
picks the Gaussian likelihood for them; the Bernoulli model's [0, 1] rule is
tested in test_layout.py. Small networks and few epochs keep them fast.
"""

import numpy as np
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAETransformer

SMALL = dict(hidden_dim=16, max_epochs=3, batch_size=32, random_state=0)


@parametrize_with_checks([
    VAETransformer(**SMALL),
    VAETransformer(likelihood="gaussian", **SMALL),
    VAETransformer(architecture="mlp", n_components=3, neighbor_weight=0, **SMALL),
    VAETransformer(conditional=True, **SMALL),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_tags_tell_the_truth():
    tags = get_tags(VAETransformer())
    assert tags.input_tags.three_d_array and not tags.target_tags.required
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert get_tags(VAETransformer(conditional=True)).target_tags.required
    assert get_tags(VAETransformer(likelihood="bernoulli")).input_tags.positive_only


def test_iterative_estimator_attributes():
    X = np.random.default_rng(0).random((50, 4, 4))
    vae = VAETransformer(**SMALL).fit(X)
    assert vae.n_iter_ == 3 and len(vae.loss_curve_) == 3
    assert vae.loss_curve_ == list(vae.net_.history[:, "train_loss"])
    assert all(isinstance(loss, float) for loss in vae.loss_curve_)
    vae.partial_fit(X)
    assert vae.n_iter_ == 4 and len(vae.loss_curve_) == 4
