"""The training curve."""

from sklearn.utils.validation import check_is_fitted

from ._grid import new_axes

#: Height of the neighbor-term panel, as a fraction of the -ELBO panel's.
NEIGHBOR_PANEL_RATIO = 0.5

#: Above this many epochs the curves are drawn without a marker per epoch.
MARKERS_UP_TO = 30


def plot_history(vae, ax=None):
    """Training (and validation) negative ELBO per epoch, and the neighbor term.

    Draws, from ``vae.net_.history``, minus the ELBO per sample in nats:
    on the training batches (``train_nelbo``) and, when the model held out
    validation data (``early_stopping=True``), on the held-out rows
    (``valid_loss``); the two are comparable. A history without
    ``train_nelbo`` (a net trained by an older version, or elsewhere) has
    its ``train_loss``, the objective trained on, drawn instead, under the
    label "train (objective)".

    While the neighbor-preserving loss is on (by default up to
    ``n_components=10``), the objective trained on is the negative ELBO plus
    the weighted neighbor term (``train_neighbor``), which is often the
    larger of the two. That term is drawn in a panel of its own below
    ``ax``, sharing its epoch axis, so that the -ELBO axis shows only the
    -ELBO.

    Parameters
    ----------
    vae : fitted VAETransformer
        The model whose training history to draw.
    ax : matplotlib Axes, default=None
        Axes to draw the -ELBO into; a new figure is created when None.
        When the neighbor term is drawn, the lower third of the space
        ``ax`` takes in its figure goes to the neighbor panel: ``ax`` is
        moved to the top of its grid cell (or of its rectangle, for Axes
        placed with ``Figure.add_axes``).

    Returns
    -------
    ax : matplotlib Axes
        The -ELBO Axes, with one line per curve, one point per epoch, a
        legend, and the y label "-ELBO per sample (nats)". When the history
        holds ``train_neighbor``, the neighbor panel is the figure's last
        Axes, ``ax.figure.axes[-1]``; it shares the x axis of ``ax`` and
        carries the "epoch" label.

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
    >>> [line.get_label() for line in ax.lines]
    ['train']
    >>> len(ax.lines[0].get_xdata())
    5
    >>> ax.figure.axes[-1].get_ylabel()
    'weighted neighbor term'
    """
    from matplotlib.ticker import MaxNLocator

    check_is_fitted(vae, "net_")
    history = vae.net_.history
    has = {key: any(key in row for row in history)
           for key in ("train_nelbo", "valid_loss", "train_neighbor")}
    if ax is None:
        ax = new_axes((6.0, 4.0) if not has["train_neighbor"] else (6.0, 5.0))

    curves = [("train_nelbo", "train") if has["train_nelbo"]
              else ("train_loss", "train (objective)")]
    if has["valid_loss"]:
        curves.append(("valid_loss", "validation"))
    marker = "o" if len(history) <= MARKERS_UP_TO else None
    for key, label in curves:
        _plot_key(ax, history, key, label=label, marker=marker)
    ax.set_ylabel("-ELBO per sample (nats)")
    ax.set_title("Training history")
    ax.legend(loc="best", fontsize="small")

    epoch_ax = ax
    if has["train_neighbor"]:
        epoch_ax = _panel_below(ax, NEIGHBOR_PANEL_RATIO)
        # A colour of its own: it is not a third -ELBO curve.
        _plot_key(epoch_ax, history, "train_neighbor", label="train",
                  marker=marker, color="C2")
        epoch_ax.set_ylabel("weighted neighbor term")
        epoch_ax.legend(loc="best", fontsize="small")
        # The panels share the epochs: label them once, at the bottom.
        ax.tick_params(axis="x", labelbottom=False)
    epoch_ax.set_xlabel("epoch")
    if len(history):
        epoch_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


def _plot_key(ax, history, key, **kwargs):
    """Draw ``history``'s ``key`` per epoch, over the epochs that recorded it."""
    # A key can be missing from some epochs: valid_loss without a split,
    # train_neighbor once the neighbor weight was switched off.
    rows = [(i, row) for i, row in enumerate(history) if key in row]
    epochs = [row.get("epoch", i + 1) for i, row in rows]
    return ax.plot(epochs, [row[key] for _, row in rows], markersize=3, **kwargs)


def _panel_below(ax, ratio):
    """A new Axes below ``ax``, in the space ``ax`` took, sharing its x axis.

    ``ax`` keeps the top ``1 / (1 + ratio)`` of that space, so the caller's
    layout (a cell of ``plt.subplots``, a rectangle of ``add_axes``) is
    left as it was around the pair.
    """
    fig = ax.get_figure()
    spec = ax.get_subplotspec()
    if spec is not None:
        # Through the gridspec, so that constrained and tight layouts
        # place both panels.
        inner = spec.subgridspec(2, 1, height_ratios=(1.0, ratio), hspace=0.08)
        ax.set_subplotspec(inner[0])
        return fig.add_subplot(inner[1], sharex=ax)
    x0, y0, width, height = ax.get_position(original=True).bounds
    gap = 0.06 * height
    below = (height - gap) * ratio / (1.0 + ratio)
    ax.set_position([x0, y0 + below + gap, width, height - below - gap])
    return fig.add_axes([x0, y0, width, below], sharex=ax)
