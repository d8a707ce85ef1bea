"""scikit-learn's common estimator checks.

They feed arbitrary real-valued tabular data, so they run on a small
Gaussian-likelihood model, as scikit-learn checks BernoulliRBM with small
parameters; the Bernoulli default's [0, 1] validation is covered elsewhere.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAETransformer


@parametrize_with_checks([
    VAETransformer(likelihood="gaussian", hidden_dim=16, max_epochs=3, batch_size=32,
                   random_state=0),
])
def test_sklearn_compatible(estimator, check):
    check(estimator)
