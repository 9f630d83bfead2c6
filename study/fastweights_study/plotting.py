"""The study's figures: the paper's Figure 2, validation curves, the fast
memory's attention and its causal reading, the ablation study, the
capacity curve (with the errors by queried pair) and the learning-rate
sensitivity.

Every function draws with matplotlib's object-oriented API (no pyplot, so
no global state or interactive backend), saves the figure to `path` (the
extension picks the format) and returns the `matplotlib.figure.Figure`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from keras_fastweights.plotting import error_axis
from keras_fastweights.plotting import new_figure_class

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
    figure = new_figure_class()(figsize=(11, 4.2), layout="constrained")
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
    figure = new_figure_class()(figsize=(7, 4.2), layout="constrained")
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


def plot_attention(
    weights: np.typing.ArrayLike,
    tokens: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> "Figure":
    """Draws the attention weights of one sequence and saves the figure.

    Args:
        weights: Array of shape `(timesteps, timesteps)`: one example of
            the output of `fast_weights_attention`, `weights[i, j]` being the
            weight of the output of step `j` in the query of step `i`.
        tokens: The `timesteps` input tokens, as labels of both axes.
        path: File to write; its extension picks the format (e.g. `.png`).
        title: Optional title of the figure.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    weights = np.asarray(weights, dtype="float64")
    tokens = [str(token) for token in tokens]
    if weights.shape != (len(tokens), len(tokens)):
        raise ValueError(
            "`weights` must have shape (timesteps, timesteps) with one token "
            f"per step. Received: weights of shape {weights.shape} and "
            f"{len(tokens)} tokens"
        )
    # Blank out the entries above the diagonal: the future, which the
    # memory cannot hold.
    future = np.triu(np.ones(weights.shape, dtype=bool))
    size = 2.0 + 0.45 * len(tokens)
    figure = new_figure_class()(figsize=(size + 1.5, size))
    axes = figure.subplots()
    image = axes.imshow(np.ma.masked_array(weights, future), cmap="viridis")
    figure.colorbar(image, ax=axes, label="η λ^(i-1-j) h(j+1)ᵀ h_s")
    positions = np.arange(len(tokens))
    axes.set_xticks(positions, [f"{j}:{t}" for j, t in enumerate(tokens)])
    axes.set_yticks(positions, [f"{i}:{t}" for i, t in enumerate(tokens)])
    axes.set_xlabel("memory: output of step j (after reading token j)")
    axes.set_ylabel("query: step i (reading token i)")
    if title is not None:
        axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    return figure


def plot_memory_causal(
    rows: Sequence[Mapping], path: str | os.PathLike, title: str | None = None
) -> Figure:
    """The mean change in the probability of the right answer when stored
    states are removed from the query step's memory, with two standard
    errors, one bar per role.

    Args:
        rows: As returned by `analysis.memory_causal_summary`: dicts with
            `removed`, `change` and `standard_error`.
        path: The image file to write.
        title: Optional title of the figure.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    figure = new_figure_class()(figsize=(8, 4.5), layout="constrained")
    axes = figure.add_subplot()
    rows = [row for row in rows if row["removed"] != "nothing"]
    positions = range(len(rows))
    axes.barh(
        positions,
        [row["change"] for row in rows],
        xerr=[2 * row["standard_error"] for row in rows],
        color="tab:blue",
    )
    for position, row in zip(positions, rows):
        axes.annotate(
            f"{row['change']:+.3f}",
            (0.02, position),
            va="center",
            fontsize=8,
        )
    axes.set_yticks(positions, [row["removed"] for row in rows])
    axes.invert_yaxis()
    axes.set_xlim(-1.0, 0.15)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_xlabel("mean change in p(right answer) (± 2 standard errors)")
    if title:
        axes.set_title(title, fontsize=10)
    figure.savefig(path, dpi=150)
    return figure


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
    figure = new_figure_class()(
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
    figure = new_figure_class()(figsize=(7, 4.5), layout="constrained")
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

    figure = new_figure_class()(
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
    figure = new_figure_class()(
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
