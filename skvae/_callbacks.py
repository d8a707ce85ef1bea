"""skorch callbacks that shape and guard training.

:class:`skvae.VAETransformer` adds them from its parameters: the learning
rate schedule (``lr_schedule``, torch's own schedulers driven by skorch's
``LRScheduler``), the KL warm-up (``kl_warmup_epochs``); every
:class:`skvae._net.VAENet` checks its losses with :class:`DivergenceCheck`.
They work with any skorch net whose criterion has a ``beta`` attribute.
"""

import math

from skorch.callbacks import Callback, LRScheduler
from skorch.callbacks.scoring import ScoringBase
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

__all__ = ["DivergenceCheck", "FitLRScheduler", "KLWarmup", "TrainingDivergedError",
           "callback_instances", "check_callbacks", "cosine", "one_cycle"]

LR_SCHEDULES = ("onecycle", "cosine", "constant")


class TrainingDivergedError(FloatingPointError):
    """Raised when the training or validation loss becomes NaN or infinite."""


def one_cycle(optimizer, total_steps, warmup_fraction=0.3, initial_div=25.0, final_div=1e4,
              last_epoch=-1):
    """Linear warm-up, then cosine annealing, over ``total_steps`` steps.

    From ``lr / initial_div`` up to the optimizer's ``lr`` over the first
    ``warmup_fraction`` of the steps (torch's ``LinearLR``), then down to
    ``lr / final_div`` (``CosineAnnealingLR``), chained by ``SequentialLR``.
    (torch's ``OneCycleLR`` warms up along a cosine instead.) This is
    ``VAETransformer(lr_schedule="onecycle")``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimizer whose learning rate is scheduled; its ``lr`` is the peak.
    total_steps : int
        Length of the schedule in optimizer steps.
    warmup_fraction : float, default=0.3
        Share of the steps spent rising to the peak.
    initial_div : float, default=25.0
        The schedule starts at ``lr / initial_div``.
    final_div : float, default=1e4
        The schedule ends at ``lr / final_div``.
    last_epoch : int, default=-1
        Index of the last step taken, as torch's schedulers count it; -1
        starts afresh.

    Returns
    -------
    scheduler : torch.optim.lr_scheduler.SequentialLR
        The schedule, to be stepped after every optimizer step.
    """
    warmup = max(1, round(warmup_fraction * total_steps))
    lr = optimizer.param_groups[0]["lr"]
    return SequentialLR(optimizer, [
        LinearLR(optimizer, start_factor=1.0 / initial_div, total_iters=warmup),
        CosineAnnealingLR(optimizer, T_max=max(1, total_steps - warmup), eta_min=lr / final_div),
    ], milestones=[warmup], last_epoch=last_epoch)


def cosine(optimizer, total_steps, final_div=1e4, last_epoch=-1):
    """Cosine annealing from the optimizer's ``lr`` to ``lr / final_div`` over ``total_steps``.

    This is ``VAETransformer(lr_schedule="cosine")``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimizer whose learning rate is scheduled; its ``lr`` is the start.
    total_steps : int
        Length of the schedule in optimizer steps.
    final_div : float, default=1e4
        The schedule ends at ``lr / final_div``.
    last_epoch : int, default=-1
        Index of the last step taken, as torch's schedulers count it; -1
        starts afresh.

    Returns
    -------
    scheduler : torch.optim.lr_scheduler.CosineAnnealingLR
        The schedule, to be stepped after every optimizer step.
    """
    lr = optimizer.param_groups[0]["lr"]
    return CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=lr / final_div,
                             last_epoch=last_epoch)


class FitLRScheduler(LRScheduler):
    """A skorch ``LRScheduler`` for a schedule that spans the batches of one fit call.

    The schedule's length in optimizer steps is known only once the
    training data has been split and batched, so the torch scheduler is
    built at the first epoch rather than when training begins, as
    ``policy(optimizer, total_steps=..., **kwargs)`` for ``net.max_epochs``
    epochs of that epoch's batches, and stepped after every training batch.
    Each call to the net's ``fit`` or ``partial_fit`` runs the whole
    schedule.

    Parameters
    ----------
    policy : callable, default=one_cycle
        Makes the torch scheduler, e.g. :func:`one_cycle` or :func:`cosine`.
    **kwargs
        Passed to the policy, as with ``LRScheduler``.
    """

    def __init__(self, policy=one_cycle, **kwargs):
        super().__init__(policy=policy, step_every="batch", **kwargs)

    def on_train_begin(self, net, **kwargs):
        """Forget the previous call's schedule: each call runs a whole one.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained.
        **kwargs
            Other arguments of skorch's hook, unused.
        """
        self.lr_scheduler_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        """Build the torch scheduler at the call's first epoch, once its length is known.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained.
        dataset_train : torch.utils.data.Dataset, default=None
            The training data, whose batches per epoch set the schedule's length.
        **kwargs
            Other arguments of skorch's hook, unused.
        """
        if self.lr_scheduler_ is None:
            steps = len(net.get_iterator(dataset_train, training=True)) * net.max_epochs
            self.lr_scheduler_ = self._get_scheduler(net, self.policy_, last_epoch=-1,
                                                     total_steps=steps, **self.kwargs)


def lr_schedule(schedule):
    """The skorch callback that runs ``schedule`` ("onecycle", "cosine"; None for "constant")."""
    policies = {"onecycle": one_cycle, "cosine": cosine}
    return FitLRScheduler(policies[schedule]) if schedule in policies else None


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
        """Set the criterion's ``beta`` for this batch: ramped in training, else the target.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained; its ``criterion_`` has a ``beta``.
        training : bool, default=False
            Whether the batch is a training batch.
        **kwargs
            Other arguments of skorch's hook, unused.
        """
        if training and self.epochs:
            ramp = min(1.0, len(net.history) / self.epochs)
            self._set(net, self.beta * ramp)
        else:
            self._set(net, self.beta)

    def on_epoch_end(self, net, **kwargs):
        """Restore the target ``beta``, so epoch-end scoring sees the true objective.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained.
        **kwargs
            Other arguments of skorch's hook, unused.
        """
        self._set(net, self.beta)

    def on_train_end(self, net, **kwargs):
        """Leave the criterion at the target ``beta`` after training.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net that was trained.
        **kwargs
            Other arguments of skorch's hook, unused.
        """
        self._set(net, self.beta)


#: A training batch's loss this many times (in distance) above the best
#: epoch's mean so far, in units of that mean's magnitude (at least 1),
#: counts as diverged: a step too large has thrown the weights where the
#: loss is finite but training does not come back from.
EXPLODED_FACTOR = 1000.0


class DivergenceCheck(Callback):
    """Stop training at the first batch whose loss is NaN, infinite or exploded.

    A training batch's loss has exploded when it lies more than
    ``EXPLODED_FACTOR`` times the best (lowest) epoch-mean training loss
    so far above it, measured in units of that mean's magnitude (at least
    1); the first epoch, which has no mean to compare with, is only checked
    for NaN and infinity.

    It reads the loss skorch has just recorded in the batch history, so it
    costs no extra device sync, and raises :class:`TrainingDivergedError`
    before any later callback sees the bad batch. The optimizer has taken
    that batch's step by then; :class:`skvae.VAETransformer` discards the
    whole call.
    """

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Count the epoch's batches, and find the best epoch-mean training loss so far.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained.
        dataset_train, dataset_valid : torch.utils.data.Dataset, default=None
            The training and validation data of the epoch.
        **kwargs
            Other arguments of skorch's hook, unused.
        """
        self.seen_ = {"train": 0, "valid": 0}
        # The epochs before this one (skorch has added this epoch's row).
        self.best_ = min((epoch["train_loss"] for epoch in net.history[:-1]
                          if "train_loss" in epoch), default=None)
        self.n_batches_ = {
            "train": len(net.get_iterator(dataset_train, training=True)),
            "valid": 0 if dataset_valid is None else len(net.get_iterator(dataset_valid)),
        }

    def on_batch_end(self, net, training=False, **kwargs):
        """Raise if the batch's recorded loss is not finite, or has exploded.

        Parameters
        ----------
        net : skorch.NeuralNet
            The net being trained.
        training : bool, default=False
            Whether the batch is a training batch.
        **kwargs
            Other arguments of skorch's hook, unused.

        Raises
        ------
        TrainingDivergedError
            When the loss is NaN, infinite or exploded, naming the epoch and
            batch.
        """
        prefix = "train" if training else "valid"
        self.seen_[prefix] += 1
        loss = net.history[-1, "batches", -1, prefix + "_loss"]
        if not math.isfinite(loss):
            what = f"became {loss}"
        else:
            best = self.best_
            if not training or best is None \
                    or loss - best <= EXPLODED_FACTOR * max(abs(best), 1.0):
                return
            what = (f"exploded to {loss:.4g}, more than {EXPLODED_FACTOR:g} times the best "
                    f"epoch's mean ({best:.4g}) above it,")
        raise TrainingDivergedError(
            f"The {prefix} loss {what} at epoch {len(net.history)}, batch "
            f"{self.seen_[prefix]} of {self.n_batches_[prefix]}. Training stopped; a "
            f"VAETransformer keeps the state it had before this call. Try a lower "
            f"learning rate (lr={net.lr:g} now), e.g. lr={net.lr / 10:g}, or check "
            "the data for extreme values."
        )


#: Names of the callbacks a fit adds itself, and of the net's defaults.
RESERVED_NAMES = ("lr_schedule", "kl_warmup", "progress_bar", "early_stopping",
                  "divergence_check", "train_nelbo", "train_neighbor", "train_adversary")


def callback_instances(callbacks):
    """The callbacks of a ``callbacks`` parameter, without their names."""
    return [cb[1] if isinstance(cb, tuple) else cb for cb in callbacks or []]


def check_callbacks(callbacks, validation):
    """Each callback is a skorch one, and one that reads validation scores gets them.

    ``callbacks`` is the estimator's parameter: callbacks or ``(name,
    callback)`` tuples; ``validation`` says whether the call holds out data.
    """
    for entry in callbacks or []:
        if isinstance(entry, tuple):
            if not (len(entry) == 2 and isinstance(entry[0], str)):
                raise ValueError(f"A callbacks entry that is a tuple must be (name, callback) "
                                 f"with a str name; got {entry!r}.")
            if entry[0] in RESERVED_NAMES:
                raise ValueError(f"The callback name {entry[0]!r} is taken by one skvae adds "
                                 f"itself ({', '.join(RESERVED_NAMES)}); choose another.")
    for cb in callback_instances(callbacks):
        if not (isinstance(cb, Callback) or isinstance(cb, type) and issubclass(cb, Callback)):
            raise ValueError(f"callbacks must be a list of skorch callbacks or (name, "
                             f"callback) tuples; got {cb!r}.")
        if validation:
            continue
        if isinstance(cb, type):
            try:  # skorch builds a class with its defaults: check what it would build
                cb = cb()
            except TypeError as error:
                raise ValueError(f"callbacks holds the class {cb.__name__}, which skorch cannot "
                                 f"build without arguments ({error}); pass an instance, e.g. "
                                 f"{cb.__name__}(...).") from None
        monitor = getattr(cb, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid_"):
            raise ValueError(
                f"{type(cb).__name__} monitors {monitor!r}, but this call holds out no "
                "validation data: set early_stopping=True (which holds out "
                "validation_fraction of X in fit), or monitor the training loss, e.g. "
                f"{type(cb).__name__}(monitor='{monitor.replace('valid_', 'train_', 1)}')."
            )
        if isinstance(cb, ScoringBase) and not cb.on_train:
            raise ValueError(
                f"{type(cb).__name__}({cb.name or getattr(cb, 'scoring', None)!r}) scores the "
                "validation data, but this call "
                "holds out none: set early_stopping=True, or score the training data "
                "with on_train=True."
            )
