"""The study's figures: the paper's Figure 2, validation curves, the fast
memory's attention and its causal reading, the ablation study, the
capacity curve (with the errors by queried pair) and the learning-rate
sensitivity.

Every function draws with matplotlib's object-oriented API (no pyplot, so
no global state or interactive backend), saves the figure to `path` (the
extension picks the format) and returns the `matplotlib.figure.Figure`.

In three modules: `curves` (training), `memory` (the fast memory) and
`errors` (test errors); every function is importable from
`fastweights_study.plotting` itself. Their errors (%) share the library's
axis (`keras_fastweights.plotting.error_axis`).
"""

from fastweights_study.plotting.curves import plot_figure2
from fastweights_study.plotting.curves import plot_lr_sensitivity
from fastweights_study.plotting.curves import plot_validation_curves
from fastweights_study.plotting.errors import plot_ablation
from fastweights_study.plotting.errors import plot_capacity
from fastweights_study.plotting.errors import plot_errors_by_queried_pair
from fastweights_study.plotting.memory import plot_attention
from fastweights_study.plotting.memory import plot_memory_causal

__all__ = [
    "plot_ablation",
    "plot_attention",
    "plot_capacity",
    "plot_errors_by_queried_pair",
    "plot_figure2",
    "plot_lr_sensitivity",
    "plot_memory_causal",
    "plot_validation_curves",
]
