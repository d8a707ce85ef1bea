"""The training curve."""

from sklearn.utils.validation import check_is_fitted

from ._grid import (new_axes)


def plot_history(vae, ax=None):
    """Training (and validation) loss per epoch.

    The loss is minus the ELBO per sample, in nats, as recorded in
    ``vae.net_.history``; the validation loss is drawn when the model held
    out validation data (``early_stopping=True``).

    Parameters
    ----------
    vae : fitted VAETransformer
        The model whose training history to draw.
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        One line per recorded loss, with one point per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_history
    >>> X = load_digits().images / 16
    >>> vae = VAETransformer(architecture="mlp", max_epochs=5,
    ...                      random_state=0).fit(X)
    >>> ax = plot_history(vae)
    >>> len(ax.lines[0].get_xdata())
    5
    """
    check_is_fitted(vae, "net_")
    history = vae.net_.history
    if ax is None:
        ax = new_axes((6.0, 4.0))
    curves = [("train_loss", "train")]
    if any("valid_loss" in row for row in history):
        curves.append(("valid_loss", "validation"))
    n_epochs = len(history)
    for key, label in curves:
        rows = [row for row in history if key in row]
        epochs = [row.get("epoch", i + 1) for i, row in enumerate(rows)]
        ax.plot(epochs, [row[key] for row in rows], label=label,
                marker="o" if n_epochs <= 30 else None, markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("-ELBO per sample (nats)")
    ax.set_title("Training history")
    if n_epochs:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return ax
