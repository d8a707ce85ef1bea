"""skorch callbacks that shape training: learning-rate schedule and KL warm-up.

:class:`skvae.VAETransformer` adds them from its ``lr_schedule`` and
``kl_warmup_epochs`` parameters; they work with any skorch net whose
criterion has a ``beta`` attribute (e.g. :class:`skvae.net.VAENet`).
"""

import math

from skorch.callbacks import Callback

LR_SCHEDULES = ("onecycle", "cosine", "constant")


def schedule_factor(schedule, progress, warmup_fraction=0.3, initial_div=25.0,
                    final_div=1e4):
    """Multiplier of the peak learning rate at ``progress`` in [0, 1] of a run.

    "onecycle": linear warm-up from ``1 / initial_div`` to 1 over the first
    ``warmup_fraction`` of the run, then cosine annealing down to
    ``1 / final_div`` (the shape of ``torch.optim.lr_scheduler.OneCycleLR``
    with a linear warm-up). "cosine": cosine annealing from 1 to
    ``1 / final_div``, no warm-up. "constant": 1.
    """
    if schedule == "constant":
        return 1.0
    progress = min(max(progress, 0.0), 1.0)
    low = 1.0 / final_div
    if schedule == "onecycle":
        if progress < warmup_fraction:
            start = 1.0 / initial_div
            return start + (1.0 - start) * progress / warmup_fraction
        progress = (progress - warmup_fraction) / (1.0 - warmup_fraction)
    return low + (1.0 - low) * 0.5 * (1.0 + math.cos(math.pi * progress))


class LRSchedule(Callback):
    """Set the learning rate batch by batch over the epochs of one fit call.

    The schedule spans the epochs of each call to the net's ``fit`` or
    ``partial_fit``, so a warm-started ``fit`` runs a new cycle. A call that
    trains a single epoch (e.g. :meth:`skvae.VAETransformer.partial_fit`,
    which may be fed a chunk of data at a time) keeps the peak learning
    rate constant instead of annealing it within the chunk. The peak is
    the optimizer's learning rate ``net.lr``.

    Parameters
    ----------
    schedule : {"onecycle", "cosine", "constant"}, default="onecycle"
        See :func:`schedule_factor`.
    warmup_fraction : float, default=0.3
        Fraction of the run spent warming up ("onecycle" only).
    initial_div, final_div : float, default=25, 1e4
        The run starts at ``lr / initial_div`` ("onecycle") and ends at
        ``lr / final_div``.
    """

    def __init__(self, schedule="onecycle", warmup_fraction=0.3, initial_div=25.0,
                 final_div=1e4):
        self.schedule = schedule
        self.warmup_fraction = warmup_fraction
        self.initial_div = initial_div
        self.final_div = final_div

    def initialize(self):
        if self.schedule not in LR_SCHEDULES:
            raise ValueError(f"schedule must be one of {LR_SCHEDULES}; got {self.schedule!r}.")
        self.step_ = 0
        self.total_steps_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0
        self.total_steps_ = None
        self.epochs_ = net.max_epochs

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_steps_ is None:
            n_batches = len(net.get_iterator(dataset_train, training=True))
            self.total_steps_ = max(1, n_batches * self.epochs_)

    def _factor(self):
        if self.epochs_ <= 1 or self.total_steps_ is None:
            return 1.0
        return schedule_factor(self.schedule, self.step_ / self.total_steps_,
                               self.warmup_fraction, self.initial_div, self.final_div)

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        lr = net.lr * self._factor()
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        self.step_ += 1

    def on_train_end(self, net, **kwargs):
        # Leave the optimizer at its nominal learning rate, so that code
        # training the module further by hand starts from ``net.lr``.
        for group in net.optimizer_.param_groups:
            group["lr"] = net.lr


class KLWarmup(Callback):
    """Ramp the KL weight ``beta`` linearly from ~0 up to its target.

    During training epoch ``e`` (1-based, counted over the model's whole
    history, so warm-started fits do not warm up again) the criterion's
    ``beta`` is ``target * min(1, e / epochs)``. Validation batches and
    everything after training always use the target, so validation losses
    (and early stopping) compare the true objective across epochs.

    Parameters
    ----------
    epochs : int
        Length of the ramp in epochs; 0 turns the warm-up off.
    beta : float, default=1.0
        The target KL weight.
    """

    def __init__(self, epochs, beta=1.0):
        self.epochs = epochs
        self.beta = beta

    def _set(self, net, beta):
        net.criterion_.beta = beta

    def on_batch_begin(self, net, training=False, **kwargs):
        if training and self.epochs:
            ramp = min(1.0, len(net.history) / self.epochs)
            self._set(net, self.beta * ramp)
        else:
            self._set(net, self.beta)

    def on_epoch_end(self, net, **kwargs):
        self._set(net, self.beta)

    def on_train_end(self, net, **kwargs):
        self._set(net, self.beta)
