"""The study's figures of training: the paper's Figure 2
(`plot_figure2`), validation curves (`plot_validation_curves`) and the
test error against the learning rate (`plot_lr_sensitivity`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from fastweights_study.plotting.figure import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_figure2(
    curves: Mapping[str, Sequence[Mapping[str, Sequence[float]]]],
    path: str | os.PathLike,
    updates_per_epoch: int,
    title: str | None = None,
):
    """Test log-likelihood and test error against updates, like the
    paper's Figure 2: for each model the mean over its seeds, with the
    range of the seeds as a band.

    Args:
        curves: `{label: [history, ...]}`, one history per seed, each a
            dict of per-epoch lists with `test_loss` (mean negative
            log-likelihood, in nats) and `test_accuracy`, as
            `training.TestMetrics` records them.
        path: The image file to write.
        updates_per_epoch: Mini-batch updates per epoch, which scale the
            x axis (`ceil(num_train / batch_size)`).
        title: Optional title of the figure.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    figure = new_figure(figsize=(11, 4.2), layout="constrained")
    likelihood_axes, error_axes = figure.subplots(1, 2)
    for label, histories in curves.items():
        epochs = min(len(h["test_loss"]) for h in histories)
        updates = updates_per_epoch * (1 + np.arange(epochs))
        likelihood = -np.array([h["test_loss"][:epochs] for h in histories])
        error = 100 * (
            1 - np.array([h["test_accuracy"][:epochs] for h in histories])
        )
        label = f"{label} ({len(histories)} seeds)"
        for axes, values in (
            (likelihood_axes, likelihood),
            (error_axes, error),
        ):
            (line,) = axes.plot(updates, values.mean(axis=0), label=label)
            axes.fill_between(
                updates,
                values.min(axis=0),
                values.max(axis=0),
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )
    likelihood_axes.set_ylabel("test log-likelihood (nats)")
    error_axes.set_ylabel("test error (%)")
    error_axes.set_yscale("symlog", linthresh=1.0)
    error_axes.set_ylim(0, 100)
    for axes in (likelihood_axes, error_axes):
        axes.set_xlabel("updates")
        axes.grid(True, alpha=0.3)
        axes.legend()
    if title:
        figure.suptitle(title)
    figure.savefig(path)
    return figure


def plot_validation_curves(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    path: str | os.PathLike,
    updates_per_epoch: int,
    reference: float | None = None,
):
    """Validation error (%) against updates, one line per run.

    Args:
        histories: `{label: history}`, each a dict of per-epoch lists with
            `val_accuracy`, e.g. from `training.read_history`.
        path: The image file to write.
        updates_per_epoch: Mini-batch updates per epoch.
        reference: Optional error (%) drawn as a dashed line, such as the
            key-blind plateau.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    figure = new_figure(figsize=(7, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for label, history in histories.items():
        error = 100 * (1 - np.asarray(history["val_accuracy"]))
        updates = updates_per_epoch * (1 + np.arange(len(error)))
        axes.plot(updates, error, label=label)
    if reference is not None:
        axes.axhline(
            reference, color="black", linestyle="--", label="key-blind error"
        )
    axes.set_xlabel("updates")
    axes.set_ylabel("validation error (%)")
    axes.set_ylim(0, 100)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    figure.savefig(path)
    return figure


def plot_lr_sensitivity(
    rows: Sequence[Mapping],
    path: str | os.PathLike,
    title: str | None = None,
) -> "Figure":
    """Test error (%) against the learning rate, one panel per R: each
    model's mean over its seeds as a line, the seeds' range shaded, each
    seed a dot; a star marks seed 0's choice, a square the choice on the
    seeds' mean.

    Args:
        rows: As `reporting.sensitivity.sensitivity_rows` returns them (or
            `read_csv` reads them back).
        path: The image file to write.
        title: Optional title of the figure.

    Returns:
        The `matplotlib.figure.Figure`; one axes per R, ascending, its
        lines labelled with the models' names (the means).
    """
    from matplotlib import ticker

    from keras_fastweights import models

    units = sorted({int(row["units"]) for row in rows})
    figure = new_figure(
        figsize=(4.5 * max(len(units), 1), 4.2), layout="constrained"
    )
    for index, width in enumerate(units):
        axes = figure.add_subplot(1, len(units), index + 1)
        cell_rows = [row for row in rows if int(row["units"]) == width]
        for kind in dict.fromkeys(row["model"] for row in cell_rows):
            cell = sorted(
                (row for row in cell_rows if row["model"] == kind),
                key=lambda row: row["learning_rate"],
            )
            rates = [row["learning_rate"] for row in cell]
            (line,) = axes.plot(
                rates,
                [row["test_error_mean"] for row in cell],
                marker="o",
                label=models.PAPER_NAMES.get(kind, kind),
            )
            color = line.get_color()
            axes.fill_between(
                rates,
                [row["test_error_min"] for row in cell],
                [row["test_error_max"] for row in cell],
                color=color,
                alpha=0.15,
            )
            for row in cell:
                errors = [float(e) for e in str(row["test_errors"]).split()]
                axes.plot(
                    [row["learning_rate"]] * len(errors),
                    errors,
                    linestyle="none",
                    marker=".",
                    color=color,
                    alpha=0.6,
                )
            for key, marker in (
                ("chosen_on_seed_0", "*"),
                ("chosen_on_mean", "s"),
            ):
                chosen = [row for row in cell if row[key]]
                axes.plot(
                    [row["learning_rate"] for row in chosen],
                    [row["test_error_mean"] for row in chosen],
                    linestyle="none",
                    marker=marker,
                    markersize=14,
                    markerfacecolor="none",
                    color=color,
                )
        axes.set_xscale("log")
        axes.set_yscale("symlog", linthresh=0.01)
        axes.set_ylim(0, 100)
        axes.set_yticks([0, 0.01, 0.1, 1, 10, 100])
        axes.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        axes.grid(True, which="both", alpha=0.3)
        axes.set_xlabel("learning rate")
        axes.set_ylabel("test error (%)")
        axes.set_title(f"R = {width}")
        axes.legend(title="★ seed 0's choice, □ the mean's", fontsize="small")
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=120)
    return figure
