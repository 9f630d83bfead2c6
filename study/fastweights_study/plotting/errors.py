"""The study's figures of test errors: the ablation study
(`plot_ablation`), the capacity curve (`plot_capacity`) and the errors by
queried pair (`plot_errors_by_queried_pair`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from fastweights_study.plotting.figure import new_figure
from keras_fastweights.plotting import error_axis

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def plot_ablation(
    errors: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    highlight: str | None = "paper",
    curves: Mapping[str, Sequence[Mapping[str, Sequence[float]]]] | None = None,
    updates_per_epoch: int | None = None,
    reference: float | None = None,
    title: str | None = None,
) -> "Figure":
    """The ablation study: each seed's test error per variant as a dot and
    their mean as a bar, the variant `highlight` shaded; with `curves`, a
    second panel of the validation error against updates (mean over the
    seeds).

    Args:
        errors: `{variant: [test error (%) per seed]}`, in the order to draw.
        path: The image file to write.
        highlight: The variant to shade (the paper's configuration), or
            `None`.
        curves: Optional `{variant: [history, ...]}`, one history per seed,
            each a dict of per-epoch lists with `val_accuracy`.
        updates_per_epoch: Mini-batch updates per epoch, for `curves`.
        reference: Optional error (%) drawn as a dashed line, such as the
            key-blind error.
        title: Optional title of the figure.

    Returns:
        The `matplotlib.figure.Figure`. The lines of the first axes are
        labelled `"{variant}: seeds"` and `"{variant}: mean"`.
    """
    if curves and updates_per_epoch is None:
        raise ValueError("`curves` need `updates_per_epoch`.")
    colors = {
        variant: f"C{position % 10}"
        for position, variant in enumerate(
            dict.fromkeys([*errors, *(curves or {})])
        )
    }
    figure = new_figure(
        figsize=(13 if curves else 7, 4.5), layout="constrained"
    )
    if curves:
        error_axes, curve_axes = figure.subplots(1, 2)
    else:
        error_axes, curve_axes = figure.add_subplot(), None
    for position, (variant, values) in enumerate(errors.items()):
        values = np.asarray(values, dtype="float64")
        # The seeds side by side, so that equal errors stay visible.
        offsets = np.linspace(-0.15, 0.15, len(values)) * (len(values) > 1)
        error_axes.plot(
            position + offsets,
            values,
            linestyle="none",
            marker="o",
            color=colors[variant],
            alpha=0.8,
            label=f"{variant}: seeds",
        )
        error_axes.plot(
            [position],
            [values.mean()],
            linestyle="none",
            marker="_",
            markersize=28,
            markeredgewidth=2.5,
            color="black",
            label=f"{variant}: mean",
        )
        if variant == highlight:
            error_axes.axvspan(
                position - 0.45, position + 0.45, color="gold", alpha=0.3
            )
    names = list(errors)
    error_axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    for label in error_axes.get_xticklabels():
        if label.get_text() == highlight:
            label.set_fontweight("bold")
    error_axes.set_xlim(-0.6, len(names) - 0.4)
    error_axes.set_ylabel("test error (%)")
    if curves:
        for variant, histories in curves.items():
            epochs = min(len(h["val_accuracy"]) for h in histories)
            accuracy = np.array([h["val_accuracy"][:epochs] for h in histories])
            curve_axes.plot(
                updates_per_epoch * (1 + np.arange(epochs)),
                100 * (1 - accuracy.mean(axis=0)),
                color=colors[variant],
                linewidth=2.5 if variant == highlight else 1.2,
                label=variant,
            )
        curve_axes.set_xlabel("updates")
        curve_axes.set_ylabel("validation error (%), mean of the seeds")
    for axes in (error_axes, curve_axes):
        if axes is None:
            continue
        if reference is not None:
            axes.axhline(
                reference,
                color="black",
                linestyle="--",
                linewidth=0.8,
                label="key-blind error",
            )
        error_axis(axes)
    if curves:
        curve_axes.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=120)
    return figure


def plot_capacity(
    errors: Mapping[str, Mapping[int, Sequence[float]]],
    path: str | os.PathLike,
    reference: Mapping[int, float] | None = None,
    title: str | None = None,
) -> "Figure":
    """Test error (%) against the number K of pairs: each model's mean over
    its seeds as a line, each seed as a dot.

    Args:
        errors: `{label: {K: [test error (%) per seed]}}`.
        path: The image file to write.
        reference: Optional `{K: error (%)}` drawn as a dashed line, such as
            the key-blind error.
        title: Optional title of the figure.

    Returns:
        The `matplotlib.figure.Figure`. Its lines are labelled `label`
        (the means), `"{label}: seeds"` and `"key-blind error"`.
    """
    figure = new_figure(figsize=(7, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for label, by_pairs in errors.items():
        pairs = sorted(by_pairs)
        (line,) = axes.plot(
            pairs,
            [np.mean(by_pairs[k]) for k in pairs],
            marker="o",
            label=label,
        )
        seeds = [(k, e) for k in pairs for e in by_pairs[k]]
        axes.plot(
            [k for k, _ in seeds],
            [e for _, e in seeds],
            linestyle="none",
            marker=".",
            color=line.get_color(),
            alpha=0.6,
            label=f"{label}: seeds",
        )
    if reference:
        pairs = sorted(reference)
        axes.plot(
            pairs,
            [reference[k] for k in pairs],
            color="black",
            linestyle="--",
            label="key-blind error",
        )
    from matplotlib import ticker

    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.set_xlabel("key-value pairs K")
    axes.set_ylabel("test error (%)")
    error_axis(axes)
    handles, labels = axes.get_legend_handles_labels()
    shown = [i for i, text in enumerate(labels) if not text.endswith(": seeds")]
    axes.legend([handles[i] for i in shown], [labels[i] for i in shown])
    if title:
        axes.set_title(title)
    figure.savefig(path, dpi=120)
    return figure


def plot_errors_by_queried_pair(
    errors: Mapping[str, Mapping[int, Sequence[float]]],
    path: str | os.PathLike,
    title: str | None = None,
) -> Figure:
    """Test error (%) against the position of the queried pair, one panel
    per model and one line per K.

    Args:
        errors: `{label: {K: [test error (%) of the sequences whose query
            names pair i, for i = 1 to K]}}`, the first pair (stored
            longest before the query) first.
        path: The image file to write.
        title: Optional title of the figure.

    Returns:
        The `matplotlib.figure.Figure`: one axes per label, titled with it,
        its lines labelled `"K = {K}"`.
    """
    from matplotlib import ticker

    figure = new_figure(
        figsize=(4.5 * max(len(errors), 1), 4), layout="constrained"
    )
    panels = figure.subplots(1, max(len(errors), 1), squeeze=False)[0]
    for axes, (label, by_pairs) in zip(panels, errors.items()):
        for num_pairs in sorted(by_pairs):
            by_pair = by_pairs[num_pairs]
            axes.plot(
                range(1, len(by_pair) + 1),
                by_pair,
                marker="o",
                label=f"K = {num_pairs}",
            )
        axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
        axes.set_xlabel("queried pair (1: stored first)")
        axes.set_ylabel("test error (%)")
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.set_title(label)
        axes.legend(fontsize=8)
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=120)
    return figure
