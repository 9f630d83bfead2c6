"""A search's records read back: one row per run (`run_rows`), one per
cell (`table_rows`), and the whole search (`load_search`) for the
reports."""

import itertools
import os
from collections.abc import Mapping
from collections.abc import Sequence

import keras_tuner
import numpy as np

from fastweights_study.tuning.machine import environment_columns
from fastweights_study.tuning.protocol import LEARNING_RATE_LADDER
from fastweights_study.tuning.protocol import OPTIONAL_AXES
from fastweights_study.tuning.protocol import cell_axes
from fastweights_study.tuning.protocol import choose_learning_rate
from fastweights_study.tuning.protocol import in_cell
from fastweights_study.tuning.protocol import protocol_progress
from fastweights_study.tuning.protocol import widening_learning_rate
from fastweights_study.tuning.search import TEST_ERROR
from fastweights_study.tuning.search import completed_trials
from fastweights_study.tuning.search import load_settings
from fastweights_study.tuning.search import make_tuner
from fastweights_study.tuning.search import trial_values
from keras_fastweights import training

# One row per run of a search (`run_rows`), as in `results/table1_runs.csv`.
RUN_COLUMNS = (
    "model",
    "units",
    "learning_rate",
    "seed",
    "epochs",
    "best_epoch",
    "val_error_percent",
    "val_loss",
    "test_error_percent",
    "test_loss",
    "seconds",
    "trial_id",
)


# One row per (model, units) (`table_rows`), as in `results/table1.csv`.
TABLE_COLUMNS = (
    "model",
    "units",
    "learning_rate",
    "choice",
    "seeds",
    "test_error_mean",
    "test_error_std",
    "test_error_min",
    "test_error_max",
)


def columns(base: Sequence[str], grid: dict) -> list[str]:
    """`RUN_COLUMNS` or `TABLE_COLUMNS`, with the grid's optional axes
    (`OPTIONAL_AXES`: `"variant"`, ...) after `"units"`."""
    base = list(base)
    at = base.index("units") + 1
    base[at:at] = [axis for axis in OPTIONAL_AXES if axis in grid]
    return base


def run_rows(tuner: keras_tuner.Tuner) -> list[dict]:
    """One row per completed trial, with the keys of
    `columns(RUN_COLUMNS, grid)`, in the order of the trials."""
    rows = []
    for trial in sorted(completed_trials(tuner), key=lambda t: t.trial_id):
        values = trial_values(trial)
        rows.append(
            {
                **{
                    name: values[name]
                    for name in ("model", "units", *OPTIONAL_AXES, "seed")
                    if name in values
                },
                "learning_rate": values["learning_rate"],
                "epochs": int(values["epochs"]),
                "best_epoch": int(values["best_epoch"]),
                "val_error_percent": round(
                    100 * (1 - values["val_accuracy"]), 4
                ),
                "val_loss": round(values["val_loss"], 6),
                "test_error_percent": values.get(TEST_ERROR),
                "test_loss": round(values["test_loss"], 6)
                if "test_loss" in values
                else None,
                "seconds": round(values["seconds"], 1),
                "trial_id": trial.trial_id,
                **environment_columns(tuner.get_trial_dir(trial.trial_id)),
                # Not a column: the validation metrics unrounded, as the
                # search chose by them (`trials_from_runs`).
                "validation": (values["val_accuracy"], values["val_loss"]),
            }
        )
    return rows


def trials_from_runs(runs: Sequence[Mapping]) -> list[dict]:
    """Rows of `run_rows` as the protocol reads trials: with the
    `val_accuracy` and `val_loss` the search recorded (`validation`, kept
    unrounded by `run_rows`: runs that solve the task tie on accuracy and
    may differ in loss below the CSV's six decimals, and a report must
    choose as the search did), else those of the CSV's columns."""
    trials = []
    for run in runs:
        accuracy, loss = run.get("validation") or (
            1 - run["val_error_percent"] / 100,
            run["val_loss"],
        )
        trials.append({**run, "val_accuracy": accuracy, "val_loss": loss})
    return trials


def rates_around(
    grid: dict, runs: Sequence[Mapping], cell: Mapping
) -> list[float]:
    """The learning rate a cell of a search chose and the ladder's rate on
    each side of it (`LEARNING_RATE_LADDER`), ascending: the grid of an
    ablation around that choice.

    Raises:
        ValueError: if the cell has not chosen yet, or its rate is not on
            the ladder; the message names the cell.
    """
    chosen = choose_learning_rate(grid, trials_from_runs(runs), dict(cell))
    ladder = list(LEARNING_RATE_LADDER)
    if chosen is None or chosen not in ladder:
        raise ValueError(
            f"The cell {dict(cell)} has no chosen learning rate on the ladder "
            f"yet. Received: chosen={chosen}"
        )
    at = ladder.index(chosen)
    return ladder[max(at - 1, 0) : at + 2]


def runs_finished(grid: dict, runs: Sequence[Mapping]) -> str:
    """`"N of M runs finished"` for a search's `run_rows`, counted as
    `protocol_progress` counts."""
    done, planned = protocol_progress(grid, trials_from_runs(runs))
    return f"{done} of {planned} runs finished"


def table_rows(grid: dict, runs: Sequence[dict]) -> list[dict]:
    """One row per cell (model, units, and variant if the grid has one),
    with the keys of `columns(TABLE_COLUMNS, grid)`: the test error over
    the seeds of the learning rate chosen on validation.

    Args:
        grid: The search's grid (`check_grid`).
        runs: As returned by `run_rows`.

    Returns:
        Rows in the order of the grid's models, then units (ascending),
        then variants; `choice` is `"final"`, or `"widening"` while a
        widened grid still tries further rates in the cell (the row then
        holds the best rate so far, `widening_learning_rate`). A cell
        whose learning rate is not chosen yet, or which has no finished
        run at that rate, is left out. `seeds` lists the
        seeds of the runs counted; the standard deviation is the sample
        one (`ddof=1`), empty for a single run.
    """
    trials = trials_from_runs(runs)
    names = ["model", "units", *cell_axes(grid)[2:]]
    values = [
        grid["model"],
        sorted(grid["units"]),
        *(grid[a] for a in names[2:]),
    ]
    rows = []
    for cell in itertools.product(*values):
        cell = dict(zip(names, cell))
        rate = choose_learning_rate(grid, trials, cell)
        choice = "final"
        if rate is None:
            rate, choice = (
                widening_learning_rate(grid, trials, cell),
                "widening",
            )
        if rate is None:
            continue
        chosen = sorted(
            (
                run
                for run in runs
                if in_cell(run, cell)
                and run["learning_rate"] == rate
                and run["seed"] in grid["seed"]
            ),
            key=lambda run: run["seed"],
        )
        if not chosen:
            # A grid of one learning rate chooses it before any run.
            continue
        rows.append(
            {
                **cell,
                "learning_rate": rate,
                "choice": choice,
                "seeds": " ".join(str(run["seed"]) for run in chosen),
                **error_summary(chosen),
            }
        )
    return rows


def trial_history(tuner: keras_tuner.Tuner, trial) -> dict:
    """A trial's per-epoch history, `{metric: [value per epoch]}`."""
    path = os.path.join(
        tuner.get_trial_dir(trial.trial_id), training.HISTORY_FILENAME
    )
    return training.read_history(path)


def trial_histories(tuner: keras_tuner.Tuner) -> dict:
    """Every completed trial's `trial_history`, by `trial_id` (the
    `trial_id` of `run_rows`)."""
    return {
        trial.trial_id: trial_history(tuner, trial)
        for trial in completed_trials(tuner)
    }


def load_search(directory: str | os.PathLike) -> dict:
    """A search's records, read back to report on it.

    Returns:
        A dict with the `directory`, the `grid` and `settings` it was
        started with (`load_settings`), the `tuner` that resumes it
        (`make_tuner`; its `load_model` builds a trial's model for the
        search's sequences, `settings["num_pairs"]`), its finished `runs`
        (`run_rows`) and their `histories` by `trial_id`
        (`trial_histories`).

    Raises:
        ValueError: If `directory` holds no search.
    """
    saved = load_settings(directory)
    tuner = make_tuner(
        saved["grid"],
        directory,
        num_pairs=saved["settings"]["num_pairs"],
        epochs=saved["settings"]["epochs"],
        schedule=saved["settings"].get("schedule", "constant"),
    )
    return {
        "directory": directory,
        **saved,
        "tuner": tuner,
        "runs": run_rows(tuner),
        "histories": trial_histories(tuner),
    }


def error_summary(runs) -> dict:
    """The test errors of `runs` (their `test_error_percent`): their
    `test_error_mean`, sample `test_error_std` (`None` for one run),
    `test_error_min` and `test_error_max`, as the tables keep them."""
    errors = np.array([run["test_error_percent"] for run in runs])
    return {
        "test_error_mean": round(float(errors.mean()), 4),
        "test_error_std": round(float(errors.std(ddof=1)), 4)
        if len(errors) > 1
        else None,
        "test_error_min": float(errors.min()),
        "test_error_max": float(errors.max()),
    }
