"""What the study's figures share: a new figure, drawn with matplotlib's
object-oriented API (no pyplot, so no global state or interactive
backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(**kwargs) -> Figure:
    """A `matplotlib.figure.Figure(**kwargs)` (the study installs
    matplotlib)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)
