"""The protocol of the grid search: its grid (`check_grid`) and the runs
it makes of it (`protocol_points`).

For each cell of the grid (model, units and the optional axes), every
learning rate with the first seed, widened along `LEARNING_RATE_LADDER`
while the best on validation is at an end of those tried; then the other
seeds at the rate chosen on validation (`training.validation_rank`).
"""

import itertools
from collections.abc import Mapping
from collections.abc import Sequence

from fastweights_study.variants import FAST_WEIGHTS_AXES
from fastweights_study.variants import check_fast_weights_axis
from keras_fastweights import models
from keras_fastweights import training
from keras_fastweights.validation import check_float
from keras_fastweights.validation import check_int
from keras_fastweights.validation import check_positive

# The learning rates a widened grid may add, in order: the next one beyond
# the end of the grid that did best, until the best has a tried rate on each
# side (`cell_learning_rates`).
LEARNING_RATE_LADDER = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
# Optional axes of a grid, beside the model and units, that make cells of
# their own: the ablation's variants of the fast-weights layer, its memory
# update rule and the global gradient-norm clipping (0: none).
OPTIONAL_AXES = ("variant", "update_rule", "clipnorm")
# Keys of a grid that are options of the protocol rather than axes.
PROTOCOL_OPTIONS = ("learning_rate_ladder", "sensitivity")


def check_grid(
    kinds: Sequence[str],
    units: Sequence[int],
    learning_rates: Sequence[float],
    seeds: Sequence[int] = (0,),
    variants: Sequence[str] | None = None,
    *,
    update_rules: Sequence[str] | None = None,
    clipnorms: Sequence[float] | None = None,
    widen: bool = False,
    sensitivity: Sequence[tuple[str, int]] | None = None,
) -> dict:
    """Validates a grid; returns `{"learning_rate", "model", "units",
    "seed"}` lists, each axis in the order given, and the optional axes
    given: `"variant"` (of the fast-weights layer,
    `variants.FAST_WEIGHTS_VARIANTS`), `"update_rule"` (of its memory,
    `"hebbian"` or `"delta"`) and `"clipnorm"` (Adam's `global_clipnorm`,
    0 for none).

    With `widen=True` the grid also holds `"learning_rate_ladder"`
    (`LEARNING_RATE_LADDER`): a cell whose best rate is the smallest or the
    largest tried goes on to the next rate of the ladder beyond it
    (`cell_learning_rates`). `sensitivity`, a list of `(model, units)`
    cells, runs every seed at every learning rate tried in those cells, after
    the protocol's runs (`"sensitivity"` in the grid).

    Raises:
        ValueError: an empty axis, an unknown model kind, variant or update
            rule, a repeated value, non-positive units or learning rates,
            negative seeds or clipnorms, a rate of a widened grid that is not
            on the ladder, a sensitivity cell outside the grid; the message
            names it.
    """
    grid = {
        "learning_rate": list(learning_rates),
        "model": list(kinds),
        "units": list(units),
        "seed": list(seeds),
    }
    optional = {
        "variant": variants,
        "update_rule": update_rules,
        "clipnorm": clipnorms,
    }
    for name, values in optional.items():
        if values is not None:
            grid[name] = list(values)
    for name, values in grid.items():
        if not values:
            raise ValueError(
                f"The grid needs at least one {name}. Received: []"
            )
        if len(set(values)) != len(values):
            raise ValueError(
                f"The grid repeats a {name}. Received: {name}={values}"
            )
    for kind in grid["model"]:
        if kind not in models.MODEL_KINDS:
            raise ValueError(
                f"Unknown model {kind!r}; expected one of {models.MODEL_KINDS}"
            )
    for name in FAST_WEIGHTS_AXES:
        for value in grid.get(name, []):
            check_fast_weights_axis(name, value, grid["model"])
    grid["units"] = [check_int("units", value, 1) for value in grid["units"]]
    grid["seed"] = [check_int("seed", value, 0) for value in grid["seed"]]
    grid["learning_rate"] = [
        check_positive("learning_rate", value)
        for value in grid["learning_rate"]
    ]
    if "clipnorm" in grid:
        grid["clipnorm"] = [
            check_float("clipnorm", value, 0.0) for value in grid["clipnorm"]
        ]
    if widen:
        off = [
            r for r in grid["learning_rate"] if r not in LEARNING_RATE_LADDER
        ]
        if off:
            raise ValueError(
                "A widened grid starts from rates on the ladder "
                f"{LEARNING_RATE_LADDER}. Received: learning_rate={off}"
            )
        grid["learning_rate_ladder"] = list(LEARNING_RATE_LADDER)
    if sensitivity:
        cells = [[str(kind), int(units)] for kind, units in sensitivity]
        for kind, units in cells:
            if kind not in grid["model"] or units not in grid["units"]:
                raise ValueError(
                    "A sensitivity cell must be a (model, units) of the "
                    f"grid. Received: {kind}:{units}"
                )
        grid["sensitivity"] = cells
    return grid


def axes(grid: Mapping) -> list[str]:
    """The grid's axes: its keys less the protocol's options."""
    return [key for key in grid if key not in PROTOCOL_OPTIONS]


def cell_axes(grid: dict) -> list[str]:
    """The axes that make a cell of the results: units, model (and the
    optional axes the grid has, `OPTIONAL_AXES`), in the order the protocol
    runs them (units outermost)."""
    return [axis for axis in ("units", "model", *OPTIONAL_AXES) if axis in grid]


def in_cell(trial: Mapping, cell: Mapping) -> bool:
    """Whether a trial (or a run) is of `cell` (its values on the axes
    the cell names)."""
    return all(trial.get(axis) == value for axis, value in cell.items())


def solved(trial: Mapping) -> bool:
    """Whether a run answered every validation sequence right."""
    return trial["val_accuracy"] >= 1.0


def _first_seed_trials(grid, trials, cell, rates) -> dict:
    """The cell's trials with the grid's first seed at `rates`, by rate."""
    return {
        trial["learning_rate"]: trial
        for trial in trials
        if in_cell(trial, cell)
        and trial["seed"] == grid["seed"][0]
        and trial["learning_rate"] in rates
    }


def _best_rate(found: dict) -> float:
    """The learning rate of the best of `found` on validation."""
    return min(
        found.values(),
        key=lambda t: training.validation_rank(
            t["val_accuracy"], t["val_loss"]
        ),
    )["learning_rate"]


def cell_learning_rates(
    grid: dict, trials: Sequence[dict], cell: dict
) -> tuple[list[float], float | None]:
    """The learning rates a cell tries with the grid's first seed, and the
    one chosen among them, or `None` while one of their trials is missing.

    The rates are the grid's; a widened grid (`"learning_rate_ladder"`)
    adds, while the best on validation (`training.validation_rank`) is the
    smallest or the largest tried, the next rate of the ladder beyond it,
    until the best has a tried rate on each side, the ladder ends, or every
    rate tried solved the task (`solved`: no rate is better to find).
    """
    ladder = grid.get("learning_rate_ladder")
    rates = list(grid["learning_rate"])
    while True:
        found = _first_seed_trials(grid, trials, cell, rates)
        if len(found) < len(rates):
            return rates, None
        best = _best_rate(found)
        if not ladder or all(solved(t) for t in found.values()):
            return rates, best
        if best == min(rates):
            beyond = [rate for rate in ladder if rate < best]
            following = max(beyond, default=None)
        elif best == max(rates):
            beyond = [rate for rate in ladder if rate > best]
            following = min(beyond, default=None)
        else:
            following = None
        if following is None:
            return rates, best
        rates.append(following)


def widening_learning_rate(
    grid: dict, trials: Sequence[dict], cell: dict
) -> float | None:
    """While a widened grid tries further rates in `cell`, the best on
    validation among the grid's own rates and those tried so far (all the
    grid's own rates having run with the first seed), else `None`."""
    if "learning_rate_ladder" not in grid:
        return None
    rates, chosen = cell_learning_rates(grid, trials, cell)
    found = _first_seed_trials(grid, trials, cell, rates)
    if chosen is not None or not set(grid["learning_rate"]) <= set(found):
        return None
    return _best_rate(found)


def protocol_points(grid: dict, trials: Sequence[dict]) -> list[dict]:
    """The grid points that the protocol runs, given the trials so far.

    For each cell of the grid (`cell_axes`), in the order of its axes:
    every learning rate with the first seed (a widened grid adds rates as
    `cell_learning_rates` says); then, once those trials are all
    completed, the other seeds at the learning rate that did best on
    validation (`training.validation_rank`). With one learning rate and no
    ladder, every seed of a cell is a point from the start. Last, for the
    grid's `"sensitivity"` cells, every other seed at every other rate
    tried.

    Args:
        grid: As returned by `check_grid`.
        trials: Dicts of the completed trials: their hyper-parameter values
            and `val_accuracy`, `val_loss`.

    Returns:
        Dicts of hyper-parameter values, in the order to run them; those
        whose learning rate is not chosen yet are left out.
    """
    first, others = grid["seed"][0], grid["seed"][1:]
    names = cell_axes(grid)
    points, sensitivity = [], []
    for values in itertools.product(*(grid[axis] for axis in names)):
        cell = dict(zip(names, values))
        rates, chosen = cell_learning_rates(grid, trials, cell)
        chosen = _chosen_before_runs(grid, rates, chosen)
        points += [
            dict(learning_rate=rate, **cell, seed=first) for rate in rates
        ]
        if chosen is None:
            continue
        points += [
            dict(learning_rate=chosen, **cell, seed=seed) for seed in others
        ]
        if [cell["model"], cell["units"]] in grid.get("sensitivity", []):
            sensitivity += [
                dict(learning_rate=rate, **cell, seed=seed)
                for rate in sorted(rates)
                if rate != chosen
                for seed in others
            ]
    return points + sensitivity


def choose_learning_rate(grid: dict, trials: Sequence[dict], cell: dict):
    """The learning rate of `cell` (`{"units": ..., "model": ...}`) best on
    validation at the grid's first seed (`cell_learning_rates`), or `None`
    while one of its trials is missing."""
    return _chosen_before_runs(grid, *cell_learning_rates(grid, trials, cell))


def _chosen_before_runs(grid, rates, chosen):
    """`chosen`, or a grid's one learning rate (without a ladder), which is
    chosen before any trial has run."""
    if len(rates) == 1 and "learning_rate_ladder" not in grid:
        return rates[0]
    return chosen


def grid_size(grid: dict, trials: Sequence[dict] = ()) -> int:
    """The number of trials the protocol runs on `grid`, as far as the
    completed `trials` tell: a widened grid may add rates to a cell, and a
    sensitivity cell's runs count once its rate is chosen."""
    total = 0
    others = len(grid["seed"]) - 1
    names = cell_axes(grid)
    for values in itertools.product(*(grid[axis] for axis in names)):
        cell = dict(zip(names, values))
        rates, chosen = cell_learning_rates(grid, trials, cell)
        total += len(rates) + others
        if chosen is not None and [cell["model"], cell["units"]] in grid.get(
            "sensitivity", []
        ):
            total += (len(rates) - 1) * others
    return total


def protocol_progress(grid: dict, trials: Sequence[dict]) -> tuple[int, int]:
    """How many of the protocol's trials (`protocol_points`) the completed
    `trials` hold, and how many it runs as far as they tell (`grid_size`).
    A run kept from before the grid was widened (another seed at a rate
    no longer chosen) is not counted."""
    keys = list(axes(grid))
    points = {
        tuple(point[key] for key in keys)
        for point in protocol_points(grid, trials)
    }
    done = sum(tuple(t.get(key) for key in keys) in points for t in trials)
    return done, grid_size(grid, trials)


def extends(grid: Mapping, before: Mapping) -> bool:
    """Whether `grid` holds every point of the grid `before` and its runs:
    the same axes, each with the values it had (more may follow), the same
    protocol options or more (a ladder, sensitivity cells). A search of
    `before` resumes as a search of `grid`, its finished trials kept."""
    if axes(grid) != axes(before):
        return False
    for key, values in before.items():
        if key not in grid or not set(map(_hashable, values)) <= set(
            map(_hashable, grid[key])
        ):
            return False
    return True


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
