"""Training curves of a run (`plot_history`), on an error axis
(`error_axis`) that other figures of errors can share, so that they read
alike.

`plot_history` draws with matplotlib's object-oriented API (no pyplot, so
no global state or interactive backend), saves the figure to `path` (the
extension picks the format) and returns the `matplotlib.figure.Figure`.
matplotlib is an optional dependency: `pip install
"keras-fastweights[plots]"`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import keras
import numpy as np

from keras_fastweights import training

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure_class():
    """`matplotlib.figure.Figure`, or an `ImportError` that says how to
    install it."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib: pip install 'keras-fastweights[plots]'"
        ) from error
    return Figure


def error_axis(axes) -> None:
    """A test or validation error (%) axis from 0 to 100: logarithmic above
    1 % and linear below, so that sub-percent errors and 0 stay readable."""
    from matplotlib import ticker

    axes.set_yscale("symlog", linthresh=1.0)
    axes.set_ylim(0, 100)
    axes.set_yticks([0, 0.5, 1, 2, 5, 10, 20, 50, 100])
    axes.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axes.grid(True, which="both", alpha=0.3)


def plot_history(
    history_or_csv: keras.callbacks.History | dict | str | os.PathLike,
    path: str | os.PathLike,
) -> "Figure":
    """Plots training and validation error (%) against epochs to a file.

    Args:
        history_or_csv: The `History` returned by `model.fit` (or its
            `.history` dict), or the path of the CSV that
            `retrieval_callbacks(output_dir)` writes.
        path: The image file to write, e.g. `"history.png"`; the format
            follows the extension.

    Returns:
        The `matplotlib.figure.Figure`, for further changes.
    """
    history = training.read_history(history_or_csv)
    curves = {
        "training": history.get("accuracy"),
        "validation": history.get("val_accuracy"),
    }
    curves = {label: acc for label, acc in curves.items() if acc}
    if not curves:
        raise ValueError(
            "The history has no `accuracy` or `val_accuracy` values to plot. "
            f"Received keys: {sorted(history)}"
        )
    figure = _figure_class()(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    for label, accuracy in curves.items():
        epochs = np.arange(1, len(accuracy) + 1)
        error = 100.0 * (1.0 - np.asarray(accuracy, dtype="float64"))
        axes.plot(epochs, error, marker="o", markersize=3, label=label)
    axes.set_xlabel("epoch")
    from matplotlib import ticker

    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.set_ylabel("error (%)")
    error_axis(axes)
    axes.legend()
    figure.savefig(path)
    return figure
