"""Figures for a fitted :class:`~skvae.VAETransformer`.

The functions follow matplotlib's conventions: each draws into the Axes
(``ax``) or Figure (``fig``) it is given, creates one with
:mod:`matplotlib.pyplot` only when none is given, returns what it drew
into, and never calls ``plt.show()``. The backend is left alone, so pick a
non-interactive one (``matplotlib.use("Agg")``) yourself for scripts
that only save files.

* :func:`plot_latent_space` -- the codes of ``X`` as a scatter coloured by
  label;
* :func:`plot_manifold` -- images decoded from a regular grid over the
  latent plane (the figure of Kingma and Welling, and of the Keras VAE
  tutorial);
* :func:`plot_samples` -- images drawn from the model;
* :func:`plot_reconstructions` -- images above their reconstructions;
* :func:`plot_history` -- the training (and validation) -ELBO per epoch,
  and the neighbor loss term in a panel below while it is on;
* :func:`plot_conditional_samples` -- for a conditional model, a row of
  samples per class;
* :func:`plot_style_transfer` -- for a conditional model, images redrawn
  as every class.
"""

from .history import plot_history
from .images import (plot_conditional_samples, plot_reconstructions, plot_samples,
                     plot_style_transfer)
from .latent import plot_latent_space, plot_manifold

__all__ = [
    "plot_conditional_samples",
    "plot_history",
    "plot_latent_space",
    "plot_manifold",
    "plot_reconstructions",
    "plot_samples",
    "plot_style_transfer",
]
