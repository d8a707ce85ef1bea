"""What a fitted :class:`skvae.VAETransformer` does: encode, decode, sample, score."""

from numbers import Integral

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, check_scalar

from . import _labels as labels, _layout as layout
from ._doc_link import DocLinkMixin
from ._codes import draw_codes


class InferenceMixin(DocLinkMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """The methods of a fitted VAE estimator, in the way of scikit-learn's ``_BasePCA``.

    A subclass of ``TransformerMixin``, so that scikit-learn wraps the
    ``transform`` defined here for ``set_output``, and of
    ``DocLinkMixin``, so that the estimator's HTML
    representation links to skvae's API reference rather than
    scikit-learn's.

    They need the fitted ``net_`` (:class:`skvae._net.VAENet`), the layout
    attributes (:mod:`skvae._layout`) and, for a conditional model,
    ``classes_`` and ``class_prior_``.
    """

    def transform(self, X, return_std=False):
        """Posterior means of the latent codes.

        Parameters
        ----------
        X : array-like, same layouts as in :meth:`fit`
            Data to encode.
        return_std : bool, default=False
            Also return the posterior standard deviations, the model's
            uncertainty about each code.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), float32
            Means of q(z | x).
        Z_std : ndarray of shape (n_samples, n_components), float32
            Standard deviations of q(z | x); only with ``return_std=True``
            (a plain array even under ``set_output(transform="pandas")``,
            which wraps the first output only).
        """
        check_is_fitted(self)
        mu, log_var = self.net_.encode(layout.validate_X(self, X, reset=False))
        if return_std:
            return mu, np.exp(0.5 * log_var)
        return mu

    def inverse_transform(self, Z, y=None):
        """Decode latent codes to data (the decoder's mean).

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of :meth:`transform`.
        y : label or array-like of shape (n_samples,), default=None
            Class to draw each code as; required by a conditional model,
            an error for any other. ``inverse_transform(transform(X), y=k)``
            redraws the handwriting of ``X`` as class k.

        Returns
        -------
        X : ndarray, float32, in the layout ``fit`` was given
            Pixel probabilities for the Bernoulli likelihood, means for
            the Gaussian one.
        """
        check_is_fitted(self)
        Z = check_array(Z, dtype=np.float32, input_name="Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"Z has {Z.shape[1]} columns but the model has {self.n_components_} latent "
                f"dimensions; pass codes of shape (n_samples, {self.n_components_}), e.g. the "
                "output of transform."
            )
        condition = labels.conditions(self, y, len(Z), "inverse_transform")
        return layout.to_layout(self, self.net_.decode(Z, condition))

    def sample(self, n_samples=1, random_state=None, *, y=None):
        """Draw new data: codes from the sampler (``sampler``) through the decoder.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw of the codes; the same seed gives the same samples.
        y : label or array-like of shape (n_samples,), default=None
            Class of the samples; required by a conditional model, an error
            for any other.

        Returns
        -------
        X : ndarray of shape (n_samples, ...), float32, in the layout of fit
            The decoder's mean for each drawn code.
        """
        check_is_fitted(self)
        if isinstance(n_samples, (bool, np.bool_)):
            raise TypeError(f"n_samples must be an int >= 1, not the bool {n_samples!r}.")
        check_scalar(n_samples, "n_samples", Integral, min_val=1)
        condition = labels.conditions(self, y, n_samples, "sample")
        Z = draw_codes(getattr(self, "sampler_", None), n_samples, self.n_components_,
                       check_random_state(random_state))
        return layout.to_layout(self, self.net_.decode(Z, condition))

    def score_samples(self, X, y=None, n_importance=1):
        """Lower bound on log p(x) for each sample, in nats.

        With ``n_importance=1`` (the default) this is the evidence lower
        bound (ELBO): log p(x | z) summed over all features, for one
        posterior sample z, minus KL(q(z | x) || p(z)) in closed form. With
        ``n_importance=K > 1`` it is the importance-weighted bound of Burda
        et al. (2015) with K posterior samples, which is tighter on average
        and rises towards log p(x) as K grows. Higher is better. A
        conditional model scores log p(x | y), or without ``y`` the bound
        on log p(x) = log sum_k p(k) p(x | k), with the training class
        frequencies ``class_prior_`` as p(k) (a pass per class). Every row
        uses the same posterior noise, so a row's score does not depend on
        the other rows of the call, up to float32 rounding in the network.

        Parameters
        ----------
        X : array-like, same layouts as in :meth:`fit`
            Data to score.
        y : array-like of shape (n_samples,), default=None
            Class labels of a conditional model (or None, see above);
            ignored by any other.
        n_importance : int, default=1
            Number of posterior samples K.

        Returns
        -------
        log_p : ndarray of shape (n_samples,), float32
            The bound for each sample.
        """
        check_is_fitted(self)
        check_scalar(n_importance, "n_importance", Integral, min_val=1)
        X = layout.validate_X(self, X, reset=False)
        condition = (labels.conditions(self, y, len(X), "score_samples")
                     if hasattr(self, "classes_") and y is not None else None)
        return self.net_.log_bound(X, condition, n_importance,
                                   class_prior=getattr(self, "class_prior_", None)
                                   ).astype(np.float32)

    def score(self, X, y=None, n_importance=1):
        """Mean lower bound on log p(x) per sample, in nats (higher is better).

        The ELBO by default, so ``GridSearchCV`` can select models by
        held-out ELBO with no scorer; see :meth:`score_samples`.

        Parameters
        ----------
        X : array-like, same layouts as in :meth:`fit`
            Data to score.
        y : array-like of shape (n_samples,), default=None
            Class labels; see :meth:`score_samples`.
        n_importance : int, default=1
            Number of posterior samples K of the importance-weighted bound.

        Returns
        -------
        score : float
            The mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X, y, n_importance=n_importance),
                             dtype=np.float64))

    @property
    def _n_features_out(self):
        check_is_fitted(self)
        return self.n_components_
