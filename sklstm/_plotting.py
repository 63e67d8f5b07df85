"""Learning curves as a matplotlib figure (matplotlib is an optional dependency).

A leaf helper: it takes the curves, not the estimators, so it imports no sklstm module.
"""

from __future__ import annotations


def _pyplot():
    try:
        import matplotlib.pyplot as plt  # optional dependency: imported only when drawing
    except ImportError as exc:
        raise ImportError("plot_history needs matplotlib: pip install matplotlib") from exc
    return plt


def plot_curves(curves, *, title: str, ax=None):
    """Plot training (and validation) loss curves per epoch on a log scale.

    Parameters
    ----------
    curves : list of (str, list of float, list of float or None)
        ``(label prefix, training loss per epoch, validation loss per epoch or None)``
        for every network to draw; each network gets one colour.
    title : str
        The axes' title.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        Epochs on x, the loss on a logarithmic y axis.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for k, (prefix, train, valid) in enumerate(curves):
        color = f"C{k % 10}"
        epochs = range(1, len(train) + 1)
        ax.plot(epochs, train, color=color, label=f"{prefix}training loss")
        if valid is not None:
            ax.plot(
                range(1, len(valid) + 1),
                valid,
                color=color,
                linestyle="--",
                label=f"{prefix}validation loss",
            )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean squared error)")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax
