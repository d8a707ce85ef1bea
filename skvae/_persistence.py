"""Pickling a :class:`skvae.VAETransformer` across skvae versions.

A pickle records the skvae version that wrote it; loading it with another
version warns, and a model saved by skvae 0.1.0 is brought up to date.
"""

import warnings

import numpy as np

from . import _layout as layout
from ._version import __version__
from ._training import condition_dim, loss_curve, module_params


#: Parameters added since 0.1.0, with the values that keep an older model's
#: training as it was: its map was not trained to keep neighbors.
ADDED_PARAMS = {"neighbor_weight": 0.0, "n_neighbors": 15}


class VersionedPickleMixin:
    """Write the skvae version into the pickle; warn on, and upgrade, older ones."""

    def __getstate__(self):
        state = super().__getstate__()
        state["_skvae_version"] = __version__
        return state

    def __setstate__(self, state):
        saved = state.pop("_skvae_version", "unknown")
        if saved != __version__:
            warnings.warn(
                f"This VAETransformer was saved by skvae {saved} and is loaded by "
                f"skvae {__version__}; it may not work as before. Refit it, or load "
                f"it with skvae {saved}.",
                UserWarning,
                stacklevel=2,
            )
        if "latent_dim" in state:  # skvae 0.1.0's name for n_components
            state["n_components"] = state.pop("latent_dim")
        for name, value in ADDED_PARAMS.items():
            state.setdefault(name, value)
        super().__setstate__(state)
        if hasattr(self, "net_") and not hasattr(self, "likelihood_"):
            self._upgrade_from_0_1()

    def _upgrade_from_0_1(self):
        """Give a model fitted by skvae 0.1.0 the attributes it lacks.

        Its net was given the module instance rather than ``module__*``
        parameters; they are filled in from the estimator's, which were the
        ones it was fitted with, so that training can continue.
        """
        self.likelihood_ = self.likelihood
        self.n_components_ = self.n_components
        if hasattr(self, "classes_"):
            # 0.1.0 kept no class counts: a uniform prior until training adds some.
            self.class_count_ = np.zeros(len(self.classes_))
            self.class_prior_ = np.full(len(self.classes_), 1 / len(self.classes_))
        self.loss_curve_ = loss_curve(self.net_)
        self.n_iter_ = len(self.loss_curve_)
        module = module_params(self, architecture=self.architecture_,
                               event_shape=layout.event_shape(self), likelihood=self.likelihood_,
                               condition_dim=condition_dim(self, hasattr(self, "classes_")))
        for key, value in module.items():
            setattr(self.net_, f"module__{key}", value)
