"""What the estimator's "auto" training parameters resolve to.

``neighbor_weight``, ``lr``, ``weight_decay`` and ``max_epochs`` default
to "auto": each resolves, at every ``fit`` and ``partial_fit``, from the
code's dimensions, whether the neighbor loss is on and the number of rows
trained on. The functions here take those values and return the choices;
:class:`skvae.VAETransformer` passes them its parameters.
"""

import math
from collections import namedtuple

__all__ = ["Training", "neighbor_weight", "training"]

#: ``neighbor_weight="auto"`` for an unconditional model of ``d`` latent
#: dimensions is this up to ``d = 2``, halved with every two dimensions more
#: up to ``MAX_AUTO_DIMS``, and 0 beyond: the more dimensions, the more the
#: code serves the density model (``score``, ``sample``) whose ELBO the loss
#: costs, and the less it is a map or features to classify by, until the
#: little it would still buy does not pay for the graph. A conditional model
#: gets 0: the loss's repulsion between the batch's codes sorts the classes
#: apart in the code, and the decoder then takes the class from there
#: instead of from ``y``.
AUTO_NEIGHBOR_WEIGHT, MAX_AUTO_DIMS = 200.0, 10
#: ``lr="auto"``: the first while the neighbor loss is on, whose layout
#: forms from larger steps than the ELBO alone takes well; else the second.
AUTO_LR_NEIGHBORS, AUTO_LR = 6e-3, 2e-3
#: ``weight_decay="auto"``: the first while the neighbor loss is on, which
#: orders the codes itself and whose larger steps decay the weights more
#: per step (AdamW shrinks them by ``lr * weight_decay``); else the second,
#: which on the decoder's first layer makes every unit of code costlier, so
#: that a plain VAE's codes cluster more by content.
AUTO_WEIGHT_DECAY_NEIGHBORS, AUTO_WEIGHT_DECAY = 0.03, 0.3

#: ``max_epochs="auto"``: ``AUTO_EPOCHS``, or for a map (the neighbor loss
#: on, at most 2 dimensions) enough epochs to visit
#: ``AUTO_MAP_ROW_VISITS`` rows, from ``AUTO_EPOCHS`` up to
#: ``MAX_AUTO_EPOCHS``. A map's layout forms from steps, which an epoch of
#: small data has few of (UMAP, too, gives small data more epochs); large
#: data has steps enough at the ELBO's epochs, and codes of more
#: dimensions, with more room, gained too little from more.
AUTO_EPOCHS, MAX_AUTO_EPOCHS, AUTO_MAP_ROW_VISITS = 30, 60, 360_000

#: What one fit trains with, once "auto" is resolved: the neighbor loss's
#: weight, the peak learning rate, the weight decay and the epochs.
Training = namedtuple("Training", ["neighbor_weight", "lr", "weight_decay", "max_epochs"])


def neighbor_weight(value, n_components, conditional):
    """The weight of the neighbor-embedding loss that ``neighbor_weight=value`` stands for."""
    if value == "auto":
        if conditional or n_components > MAX_AUTO_DIMS:
            return 0.0
        return AUTO_NEIGHBOR_WEIGHT * 2.0 ** (-max(0, n_components - 2) / 2)
    return float(value)


def training(weight, *, lr, weight_decay, max_epochs, n_components, n_train,
             incremental=False):
    """The training choices, given the resolved neighbor loss weight and the parameters.

    For a code of ``n_components`` dimensions trained on ``n_train`` rows
    (at least 1); ``partial_fit`` (``incremental``) trains one epoch.

    Returns
    -------
    training : Training
    """
    on = bool(weight)
    if lr == "auto":
        lr = AUTO_LR_NEIGHBORS if on else AUTO_LR
    if weight_decay == "auto":
        weight_decay = AUTO_WEIGHT_DECAY_NEIGHBORS if on else AUTO_WEIGHT_DECAY
    if incremental:
        max_epochs = 1
    elif max_epochs == "auto":
        max_epochs = AUTO_EPOCHS
        if on and n_components <= 2:
            wanted = math.ceil(AUTO_MAP_ROW_VISITS / n_train)
            max_epochs = min(max(wanted, AUTO_EPOCHS), MAX_AUTO_EPOCHS)
    return Training(float(weight), float(lr), float(weight_decay), int(max_epochs))
