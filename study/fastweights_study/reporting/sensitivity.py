"""The learning-rate sensitivity of Table 1's cells that run every seed at
every rate tried (a search with `--sensitivity`): test error against the
learning rate with the seeds' range, and whether choosing on the mean of
the seeds would have chosen another rate than seed 0 did
(`sensitivity_rows`, `write_sensitivity`); its figure is
`lr_sensitivity.png` (`plotting.plot_lr_sensitivity`)."""

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from fastweights_study.reporting.common import write_csv
from keras_fastweights import models
from keras_fastweights import training

SENSITIVITY_FILENAMES = ("lr_sensitivity.csv", "lr_sensitivity.md")
# One row per (model, units, learning rate) (`sensitivity_rows`).
SENSITIVITY_COLUMNS = (
    "model",
    "units",
    "learning_rate",
    "seeds",
    "test_errors",
    "test_error_mean",
    "test_error_min",
    "test_error_max",
    "val_error_mean",
    "val_loss_mean",
    "chosen_on_seed_0",
    "chosen_on_mean",
)


def _mean_choice(rates: Mapping[float, Sequence[Mapping]], seeds) -> float:
    """The rate whose runs over `seeds` are best on validation on average
    (`training.validation_rank` of the mean validation accuracy and loss);
    None until every rate has run every seed."""
    complete = {
        rate: cell
        for rate, cell in rates.items()
        if sorted(run["seed"] for run in cell) == sorted(seeds)
    }
    if len(complete) < len(rates):
        return None
    return min(
        complete,
        key=lambda rate: training.validation_rank(
            1 - np.mean([r["val_error_percent"] for r in complete[rate]]) / 100,
            np.mean([r["val_loss"] for r in complete[rate]]),
        ),
    )


def sensitivity_rows(grid: Mapping, runs: Sequence[Mapping]) -> list[dict]:
    """One row per learning rate tried in each sensitivity cell of a
    search (`grid["sensitivity"]`), with the keys of `SENSITIVITY_COLUMNS`.

    Args:
        grid: The search's grid (`tuning.check_grid` with `sensitivity`).
        runs: As returned by `tuning.run_rows`.

    Returns:
        Rows by cell in the grid's order, rates ascending: the seeds that
        have run at the rate and their test errors (in the seeds' order),
        the test errors' mean, minimum and maximum, the mean validation
        error and loss, `chosen_on_seed_0` (the protocol's choice,
        `tuning.choose_learning_rate`, or the best so far while the cell
        widens) and `chosen_on_mean` (the best mean on validation over the
        seeds; no rate is marked until every rate has every seed).

    Raises:
        ValueError: the grid has no sensitivity cells.
    """
    # Imported here: fastweights_study.tuning needs keras-tuner.
    from fastweights_study import tuning

    if not grid.get("sensitivity"):
        raise ValueError(
            "A learning-rate sensitivity needs a search with --sensitivity "
            f"cells. Received a grid of {sorted(grid)}"
        )
    trials = tuning.trials_from_runs(runs)
    rows = []
    for kind, units in grid["sensitivity"]:
        cell = {"model": kind, "units": units}
        by_rate = {}
        for run in sorted(runs, key=lambda run: run["seed"]):
            if run["model"] == kind and run["units"] == units:
                by_rate.setdefault(run["learning_rate"], []).append(run)
        if not by_rate:
            continue
        seed_0 = tuning.choose_learning_rate(
            grid, trials, cell
        ) or tuning.widening_learning_rate(grid, trials, cell)
        on_mean = _mean_choice(by_rate, grid["seed"])
        for rate in sorted(by_rate):
            errors = [run["test_error_percent"] for run in by_rate[rate]]
            rows.append(
                {
                    **cell,
                    "learning_rate": rate,
                    "seeds": " ".join(str(r["seed"]) for r in by_rate[rate]),
                    "test_errors": " ".join(f"{e:g}" for e in errors),
                    "test_error_mean": round(float(np.mean(errors)), 4),
                    "test_error_min": float(min(errors)),
                    "test_error_max": float(max(errors)),
                    "val_error_mean": round(
                        float(
                            np.mean(
                                [r["val_error_percent"] for r in by_rate[rate]]
                            )
                        ),
                        4,
                    ),
                    "val_loss_mean": round(
                        float(np.mean([r["val_loss"] for r in by_rate[rate]])),
                        4,
                    ),
                    "chosen_on_seed_0": rate == seed_0,
                    "chosen_on_mean": rate == on_mean,
                }
            )
    return rows


def sensitivity_markdown(
    rows: Sequence[Mapping], seeds: Sequence[int], command: str | None = None
) -> str:
    """The sensitivity as Markdown: every (cell, rate) of
    `sensitivity_rows`, then for each cell the two choices side by side."""
    lines = [
        "# Learning-rate sensitivity\n",
        "Test error (%) against the learning rate, every seed at every rate "
        "tried, for the cells of Table 1's search run with `--sensitivity`. "
        "*Seed 0* marks the protocol's choice (best on validation with seed "
        "0); *mean* the rate that is best on validation on average over "
        f"seeds {' '.join(str(seed) for seed in seeds)}, once every rate "
        "has run every seed (– until then).\n",
        "| model | R | learning rate | seeds | test errors | mean | min–max "
        "| validation error (mean) | chosen on |",
        "|---|---:|---:|---|---|---:|---:|---:|---|",
    ]
    for row in rows:
        chosen = [
            name
            for name, key in (
                ("seed 0", "chosen_on_seed_0"),
                ("mean", "chosen_on_mean"),
            )
            if row[key]
        ]
        lines.append(
            f"| {models.PAPER_NAMES.get(row['model'], row['model'])} | "
            f"{row['units']} | {row['learning_rate']:g} | {row['seeds']} | "
            f"{row['test_errors']} | {row['test_error_mean']:g} | "
            f"{row['test_error_min']:g}–{row['test_error_max']:g} | "
            f"{row['val_error_mean']:g} | {', '.join(chosen) or '–'} |"
        )
    lines += [
        "",
        "The two choices, and the test error (mean over the seeds) each "
        "gives\n",
        "| model | R | seed 0's choice | its test error | the mean's choice "
        "| its test error |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    cells = dict.fromkeys((row["model"], row["units"]) for row in rows)
    for kind, units in cells:
        cell = [r for r in rows if (r["model"], r["units"]) == (kind, units)]
        picks = []
        for key in ("chosen_on_seed_0", "chosen_on_mean"):
            row = next((r for r in cell if r[key]), None)
            picks += (
                ["–", "–"]
                if row is None
                else [
                    f"{row['learning_rate']:g}",
                    f"{row['test_error_mean']:g}",
                ]
            )
        lines.append(
            f"| {models.PAPER_NAMES.get(kind, kind)} | {units} | "
            + " | ".join(picks)
            + " |"
        )
    text = "\n".join(lines) + "\n"
    if command:
        text += f"\nWritten by `{command}`.\n"
    return text


def write_sensitivity(
    grid: Mapping,
    runs: Sequence[Mapping],
    directory: str | os.PathLike,
    command: str | None = None,
) -> list[dict]:
    """Writes `lr_sensitivity.csv` (`sensitivity_rows`) and
    `lr_sensitivity.md` (`sensitivity_markdown`) into `directory`;
    returns the rows."""
    rows = sensitivity_rows(grid, runs)
    table_csv, table_md = (
        os.path.join(directory, name) for name in SENSITIVITY_FILENAMES
    )
    write_csv(rows, table_csv, SENSITIVITY_COLUMNS)
    with open(table_md, "w") as file:
        file.write(sensitivity_markdown(rows, grid["seed"], command))
    return rows
