"""Draw docs/_static/windows.png: how windows are cut from a series.

Run ``python docs/_static/make_windows_figure.py`` with sklstm importable
(``pip install -e .``); the PNG is written next to this script. The figure is drawn
from the actual output of :func:`sklstm.make_windows` and :class:`sklstm.WindowTransformer`
(a series whose value is its own time index), so it cannot drift from the code.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from sklstm import WindowTransformer, make_windows  # noqa: E402

OUT = Path(__file__).with_name("windows.png")
INPUT, TARGET, PAD, EMPTY = "#4C72B0", "#DD8452", "#BBBBBB", "#F2F2F2"


def cell(ax, x, y, color, text="", hatch=None, text_color="white"):
    ax.add_patch(
        Rectangle(
            (x - 0.45, y - 0.4),
            0.9,
            0.8,
            facecolor=color,
            edgecolor="white",
            hatch=hatch,
            linewidth=1,
        )
    )
    if text != "":
        ax.text(x, y, text, ha="center", va="center", fontsize=8, color=text_color)


def brace(ax, x0, x1, y, label):
    ax.annotate(
        "",
        xy=(x0 - 0.45, y),
        xytext=(x1 + 0.45, y),
        arrowprops=dict(arrowstyle="<->", color="black", lw=1),
    )
    ax.text((x0 + x1) / 2, y + 0.35, label, ha="center", va="bottom", fontsize=9)


def draw_make_windows(ax, n_steps=16, lookback=5, horizon=2, stride=3):
    series = np.arange(float(n_steps))  # value = time index, so cells show row numbers
    windows, targets = make_windows(series, lookback=lookback, horizon=horizon, stride=stride)
    for t in range(n_steps):
        cell(ax, t, 0, "#555555", f"{t}")
    ax.text(-0.8, 0, "series\n(row t)", ha="right", va="center", fontsize=9)
    for i, (window, target) in enumerate(zip(windows[:, :, 0], targets, strict=True)):
        y = -1.4 - 1.1 * i
        for t in range(n_steps):
            cell(ax, t, y, EMPTY)
        for value in window:
            cell(ax, int(value), y, INPUT, f"{int(value)}")
        for value in np.atleast_1d(target):
            cell(ax, int(value), y, TARGET, f"{int(value)}")
        ax.text(-0.8, y, f"window {i}", ha="right", va="center", fontsize=9)
    last = -1.4 - 1.1 * (len(windows) - 1)
    brace(ax, 0, lookback - 1, 0.55, f"lookback = {lookback}")
    brace(ax, lookback, lookback + horizon - 1, 0.55, f"horizon = {horizon}")
    # The stride, drawn over the empty cells of window 1: from window 0's start to its own.
    ax.annotate(
        "",
        xy=(stride - 0.45, -2.68),
        xytext=(-0.45, -2.68),
        arrowprops=dict(arrowstyle="->", color="black", lw=1),
    )
    ax.text(stride / 2 - 0.45, -2.32, f"stride = {stride}", ha="center", va="center", fontsize=8)
    next_start = len(windows) * stride
    ax.text(
        n_steps - 0.5,
        last - 0.8,
        f"make_windows(series, lookback={lookback}, horizon={horizon}, stride={stride}): "
        f"{len(windows)} windows; a next one would start at row {next_start} and need rows "
        f"up to {next_start + lookback + horizon - 1}",
        ha="right",
        va="top",
        fontsize=8,
        style="italic",
    )
    ax.set_xlim(-3.2, n_steps)
    ax.set_ylim(last - 1.4, 1.4)
    ax.set_title(
        "make_windows: (input window, future targets) pairs for training", loc="left", fontsize=11
    )


def draw_window_transformer(ax, n_rows=8, lookback=4):
    table = np.arange(float(n_rows))[:, None]
    windows = WindowTransformer(lookback=lookback).fit_transform(table)[:, :, 0]
    for t in range(n_rows):
        y = -t
        for j, value in enumerate(windows[t]):
            position = t - lookback + 1 + j  # the time step this value stands for
            if position < 0:
                cell(ax, position, y, PAD, f"{int(value)}", hatch="//", text_color="black")
            else:
                cell(ax, position, y, INPUT, f"{int(value)}")
        ax.text(n_rows + 0.2, y, f"output row {t}", ha="left", va="center", fontsize=9)
    for j in range(lookback):
        ax.text(
            n_rows - lookback + j,
            0.75,
            f"lag{lookback - 1 - j}",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.text(
        n_rows - 1 - (lookback - 1) / 2,
        1.35,
        "last output row's window",
        ha="center",
        va="bottom",
        fontsize=8,
        style="italic",
    )
    ax.text(
        -lookback + 0.5,
        -n_rows + 0.2,
        f"WindowTransformer(lookback={lookback}): one window per row, ending at the row "
        "itself;\nthe hatched steps before row 0 are padding (padding='edge' repeats "
        "row 0)",
        ha="left",
        va="top",
        fontsize=8,
        style="italic",
    )
    ax.set_xlim(-lookback - 0.2, n_rows + 2.6)
    ax.set_ylim(-n_rows - 0.9, 2.0)
    ax.set_title(
        "WindowTransformer: a Pipeline step that keeps one row per time step",
        loc="left",
        fontsize=11,
    )


def main():
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 8.6), gridspec_kw={"height_ratios": [1, 1.25]}
    )
    draw_make_windows(top)
    draw_window_transformer(bottom)
    handles = [
        Rectangle((0, 0), 1, 1, facecolor=INPUT),
        Rectangle((0, 0), 1, 1, facecolor=TARGET),
        Rectangle((0, 0), 1, 1, facecolor=PAD, hatch="//"),
    ]
    fig.legend(
        handles,
        ["input window (lookback steps)", "targets (horizon steps)", "padding"],
        loc="lower center",
        ncol=3,
        frameon=False,
        fontsize=9,
    )
    for ax in (top, bottom):
        ax.set_aspect("equal")
        ax.axis("off")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(OUT, dpi=110)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
