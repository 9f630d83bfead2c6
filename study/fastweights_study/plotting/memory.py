"""The study's figures of the fast memory: its attention over one
sequence (`plot_attention`) and its causal reading
(`plot_memory_causal`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from fastweights_study.plotting.figure import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure


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
    figure = new_figure(figsize=(size + 1.5, size))
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
    figure = new_figure(figsize=(8, 4.5), layout="constrained")
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
