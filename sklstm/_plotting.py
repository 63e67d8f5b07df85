"""Learning curves of fitted sklstm estimators (matplotlib is an optional dependency)."""

from __future__ import annotations

from sklearn.utils.validation import check_is_fitted


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plot_history needs matplotlib: pip install matplotlib") from exc
    return plt


def _networks(estimator) -> list[tuple[str, object]]:
    """(label prefix, fitted LSTM estimator) pairs to draw for ``estimator``."""
    regressors = getattr(estimator, "regressors_", None)
    if regressors is not None:  # LSTMForecaster: one curve pair per network of the ensemble
        if len(regressors) == 1:
            return [("", regressors[0])]
        modes = getattr(estimator, "regressor_modes_", [None] * len(regressors))
        return [
            (f"network {k}{'' if mode is None else f' ({mode})'}: ", reg)
            for k, (reg, mode) in enumerate(zip(regressors, modes, strict=True))
        ]
    from sklstm._base import BaseLSTM

    if not isinstance(estimator, BaseLSTM):
        raise ValueError(
            f"{type(estimator).__name__} holds no LSTM networks of its own (a panel or "
            "hierarchical y is forecast series by series): call plot_history on each of "
            "its forecasters_."
        )
    check_is_fitted(estimator, "net_")
    return [("", estimator)]


def plot_history(estimator, ax=None):
    """Plot the training (and validation) loss per epoch of a fitted estimator.

    Parameters
    ----------
    estimator : fitted LSTMRegressor or LSTMForecaster
        For an ``LSTMForecaster`` the curves of every network of its ensemble
        (``regressors_``) are drawn.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on: epochs on x, the loss on a logarithmic y axis.
    """
    plt = _pyplot()
    networks = _networks(estimator)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for k, (prefix, reg) in enumerate(networks):
        color = f"C{k % 10}"
        train = reg.loss_curve_
        epochs = range(1, len(train) + 1)
        ax.plot(epochs, train, color=color, label=f"{prefix}training loss")
        valid = reg.validation_loss_curve_
        if valid is not None:
            ax.plot(epochs, valid, color=color, linestyle="--", label=f"{prefix}validation loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean squared error)")
    ax.set_title(f"{type(estimator).__name__}: loss per epoch")
    ax.legend(fontsize="small")
    return ax
