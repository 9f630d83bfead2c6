"""The values of the report's Table 1 and its learning rates and budget
(§4.2, §4.3): the table, Welch's tests, the plateau's exits, the
learning-rate sensitivity and the longer budget."""

import os

import numpy as np

from fastweights_study.reporting.common import DELTA_SERIES
from fastweights_study.reporting.common import SERIES_NAMES
from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import mean_and_std
from fastweights_study.reporting.common import read_csv
from fastweights_study.reporting.common import summary_cells
from fastweights_study.reporting.common import table1_markdown
from fastweights_study.reporting.plateau import on_plateau
from fastweights_study.reporting.plateau import plateau_exit_epoch
from fastweights_study.reporting.report.formatting import cell_numbers
from fastweights_study.reporting.report.formatting import compact
from fastweights_study.reporting.report.formatting import markdown_table
from fastweights_study.reporting.report.formatting import results_path
from fastweights_study.reporting.report.formatting import series_name
from fastweights_study.reporting.report.formatting import span
from fastweights_study.reporting.report.formatting import trial_history
from fastweights_study.reporting.report.formatting import welch_text
from fastweights_study.reporting.report.formatting import words
from fastweights_study.reporting.report.protocol import FIGURE2_UNITS
from fastweights_study.reporting.table1 import PAPER_TABLE1
from fastweights_study.reporting.table1 import as_series
from keras_fastweights import models
from keras_fastweights import training

# The series of Table 1 by the short names of the template.
TABLE1_SERIES = {
    "fw": "fast_weights",
    "lstm": "lstm",
    "alstm": "associative_lstm",
    "irnn": "irnn",
    "delta": DELTA_SERIES,
}


def table1_values(root, values, grid) -> dict:
    rows = read_csv(results_path(root, "table1.csv"))
    runs = read_csv(results_path(root, "table1_runs.csv"))
    delta = results_path(root, "delta_search", "table1")
    shown_rows = as_series(rows) + as_series(
        read_csv(os.path.join(delta, "table1.csv"))
    )
    shown_runs = as_series(runs) + as_series(
        read_csv(os.path.join(delta, "table1_runs.csv"))
    )
    cells = summary_cells(shown_rows, shown_runs)
    by_cell = {(cell["model"], cell["units"]): cell for cell in cells}
    errors = {
        key: [run["test_error_percent"] for run in cell_runs(cell, shown_runs)]
        for key, cell in by_cell.items()
    }
    num_pairs = values["num_pairs"]
    search = results_path(root, "table1_search")
    out = {
        "table1.table": table1_markdown(
            cells, value="summary", paper=PAPER_TABLE1, number_format="{}"
        ).rstrip("\n"),
        "table1.rates": table1_markdown(
            cells, value="rate", number_format="{}"
        ).rstrip("\n"),
        "table1.run_count": len(runs),
        "table1.cell_count": len(rows),
        "table1.run_hours": f"{sum(r['seconds'] for r in runs) / 3600:.1f}",
    }
    all_units = sorted({units for _, units in by_cell})
    others = list(dict.fromkeys(c["model"] for c in cells))
    others.remove("fast_weights")
    out["table1.welch"] = markdown_table(
        ["R", *(SERIES_NAMES[s] for s in others)],
        "r" * (len(others) + 1),
        (
            [
                units,
                *(
                    welch_text(errors["fast_weights", units], errors[s, units])
                    if (s, units) in errors
                    else "–"
                    for s in others
                ),
            ]
            for units in all_units
        ),
    )
    for short, series in TABLE1_SERIES.items():
        for units in all_units:
            if (series, units) not in by_cell:
                continue
            cell, seeds = by_cell[series, units], errors[series, units]
            name = f"{short}.{units}"
            out[name] = cell["summary"]
            out[f"{name}.min"] = compact(min(seeds))
            out[f"{name}.range"] = span(seeds)
            out[f"{name}.at_zero"] = cell["at_zero"]
            out[f"{name}.rate"] = compact(cell["learning_rate"])
            if series != "fast_weights":
                out[f"p.{units}.{series}"] = welch_text(
                    errors["fast_weights", units], seeds
                )
    # Fast weights' runs at R = 50: when they left the plateau, against the
    # other paper models'; the first epoch's validation error of each.
    counted = {
        (series, units): cell_runs(by_cell[series, units], shown_runs)
        for series, units in by_cell
        if series in models.PAPER_NAMES
    }
    first, exits = {}, {}
    for (series, units), cell in counted.items():
        for run in cell:
            history = trial_history(search, run["trial_id"])
            first.setdefault((series, units), []).append(
                100 * (1 - history["val_accuracy"][0])
            )
            exits.setdefault((series, units), []).append(
                plateau_exit_epoch(history, num_pairs)
            )
    units = FIGURE2_UNITS
    other_models = [m for m in models.PAPER_NAMES if m != "fast_weights"]
    out["fw.50.exits"] = ", ".join(map(str, exits["fast_weights", units]))
    out["plateau.others_exit_max"] = max(
        e for m in other_models for e in exits[m, units]
    )
    out["plateau.first_epoch_range"] = span(
        [e for m in other_models for e in first[m, units]], "{:.2f}"
    )
    out["plateau.fw_first_epoch_range"] = span(
        first["fast_weights", units], "{:.2f}"
    )
    out["fw.best_epoch_min"] = min(
        run["best_epoch"]
        for (series, _), cell in counted.items()
        if series == "fast_weights"
        for run in cell
    )
    out["table1.best_epoch_median"] = compact(
        float(
            np.median(
                [run["best_epoch"] for c in counted.values() for run in c]
            )
        )
    )
    never = [run for run in runs if on_plateau(run, num_pairs)]
    out["plateau.never_count"] = len(never)
    out["plateau.never_list"] = "; ".join(
        f"{series_name(run['model'])}, R = {run['units']}, "
        f"{compact(run['learning_rate'])}, seed {run['seed']}"
        for run in never
    )
    moved = [
        row for row in rows if row["learning_rate"] not in grid["learning_rate"]
    ]
    out["rates.moved"] = len(moved)
    out["rates.moved_list"] = "; ".join(
        f"{series_name(row['model'])} at R = {row['units']}, to "
        f"{compact(row['learning_rate'])}"
        for row in moved
    )
    # Fast weights at R = 100 on the first grid: the rate seed 0 chose
    # there, and its seeds.
    chosen = _first_grid_choice(
        runs, "fast_weights", 100, grid["learning_rate"]
    )
    first_grid = [
        run
        for run in runs
        if (run["model"], run["units"], run["learning_rate"])
        == ("fast_weights", 100, chosen)
    ]
    errors_first = [run["test_error_percent"] for run in first_grid]
    out["fw100.first_rate"] = compact(chosen)
    out["fw100.first_grid"] = mean_and_std(
        np.mean(errors_first), np.std(errors_first, ddof=1)
    )
    out["slow.rate"] = compact(chosen)
    return out


def _first_grid_choice(runs, model, units, rates) -> float:
    """The learning rate that seed 0 chose among `rates` (the first grid)
    for `(model, units)`, by `training.validation_rank`."""
    candidates = [
        run
        for run in runs
        if (run["model"], run["units"], run["seed"]) == (model, units, 0)
        and run["learning_rate"] in rates
    ]
    best = min(
        candidates,
        key=lambda run: training.validation_rank(
            1 - run["val_error_percent"] / 100, run["val_loss"]
        ),
    )
    return best["learning_rate"]


def sensitivity_values(root) -> dict:
    rows = read_csv(results_path(root, "lr_sensitivity.csv"))
    cells = {}
    for row in rows:
        cell = cells.setdefault((row["model"], row["units"]), {})
        if row["chosen_on_seed_0"] == "True":
            cell["seed 0"] = row
        if row["chosen_on_mean"] == "True":
            cell["mean"] = row
    differ = []
    for (model, units), cell in cells.items():
        seed0, mean = cell["seed 0"], cell["mean"]
        if seed0["learning_rate"] != mean["learning_rate"]:
            differ.append(
                f"{series_name(model)} at R = {units} "
                f"({compact(mean['learning_rate'])} for "
                f"{compact(seed0['learning_rate'])}: "
                f"{mean['test_error_mean']:.2f} against "
                f"{seed0['test_error_mean']:.2f} % mean test error)"
            )
    units = min(u for _, u in cells)
    p = {
        on: welch_text(
            cell_numbers(cells["fast_weights", units][on]["test_errors"]),
            cell_numbers(cells["lstm", units][on]["test_errors"]),
        )
        for on in ("seed 0", "mean")
    }
    return {
        "sensitivity.differ": (
            f"for {words(differ)}, and agrees elsewhere"
            if differ
            else "nowhere: it agrees with seed 0's in every cell"
        ),
        "sensitivity.cell_count": len(cells),
        "sensitivity.p_seed0": p["seed 0"],
        "sensitivity.p_mean": p["mean"],
    }


def longer_values(root, values) -> dict:
    from fastweights_study import tuning

    runs = read_csv(results_path(root, "table1_runs.csv"))
    table1_grid = tuning.load_settings(results_path(root, "table1_search"))[
        "grid"
    ]
    rate = _first_grid_choice(
        runs, "fast_weights", FIGURE2_UNITS, table1_grid["learning_rate"]
    )
    before = [
        run["test_error_percent"]
        for run in runs
        if (run["model"], run["units"], run["learning_rate"])
        == ("fast_weights", FIGURE2_UNITS, rate)
    ]
    after = []
    for seed in sorted({run["seed"] for run in runs}):
        history = training.read_history(
            results_path(
                root,
                "longer_budget",
                f"fast_weights_{FIGURE2_UNITS}_seed{seed}",
                training.HISTORY_FILENAME,
            )
        )
        best = training.best_epoch(history)
        after.append(100 * (1 - history["test_accuracy"][best]))
    r100 = results_path(root, "longer_budget", "r100_search")
    (row,) = read_csv(os.path.join(r100, "table1.csv"))
    return {
        "longer.epochs": tuning.load_settings(r100)["settings"]["epochs"],
        "longer50.rate": compact(rate),
        "longer50.before": mean_and_std(
            np.mean(before), np.std(before, ddof=1)
        ),
        "longer50.after": mean_and_std(np.mean(after), np.std(after, ddof=1)),
        "longer100.rate": compact(row["learning_rate"]),
        "longer100.before": values["fw100.first_grid"],
        "longer100.after": mean_and_std(
            row["test_error_mean"], row["test_error_std"]
        ),
    }
