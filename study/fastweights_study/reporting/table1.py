"""Table 1 of Ba et al. (2016), https://arxiv.org/abs/1610.06258: the test
error (%) on associative retrieval with K = 4 pairs, rows models, columns
the number R of recurrent hidden units; `write_table1` writes
`table1.csv`, `table1_runs.csv` and `table1.md`."""

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from fastweights_study import analysis
from fastweights_study.reporting.common import SERIES_NAMES
from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import runs_markdown
from fastweights_study.reporting.common import series
from fastweights_study.reporting.common import summary_cells
from fastweights_study.reporting.common import table1_markdown
from fastweights_study.reporting.common import variant_markdown
from fastweights_study.reporting.common import write_csv
from keras_fastweights import models

# Table 1 of the paper, test error in %, for K = 4 pairs (section 4.1).
PAPER_TABLE1 = {
    ("irnn", 20): 62.11,
    ("irnn", 50): 60.23,
    ("irnn", 100): 0.34,
    ("lstm", 20): 60.81,
    ("lstm", 50): 1.85,
    ("lstm", 100): 0.0,
    ("fast_weights", 20): 1.81,
    ("fast_weights", 50): 0.0,
    ("fast_weights", 100): 0.0,
    ("associative_lstm", 20): 60.13,
    ("associative_lstm", 50): 1.62,
    ("associative_lstm", 100): 0.0,
}
TABLE1_FILENAMES = ("table1.csv", "table1_runs.csv", "table1.md")


def comparisons_markdown(
    rows: Sequence[Mapping],
    runs: Sequence[Mapping],
    reference: str = "fast_weights",
) -> str:
    """A Markdown table comparing `reference` with every other model of
    `rows` (`tuning.table_rows`, their `model` a series of
    `common.series`) at each R: each side's mean and range of
    test errors over its seeds and Welch's p (`analysis.welch_test`); "–"
    where a side has fewer than two seeds."""
    errors = {
        (row["model"], row["units"]): [
            run["test_error_percent"] for run in cell_runs(row, runs)
        ]
        for row in rows
    }
    lines = [
        f"| R | model | {SERIES_NAMES.get(reference, reference)} | "
        "model's | Welch p |",
        "|---:|---|---:|---:|---:|",
    ]

    def summary(values):
        if not values:
            return "–"
        return f"{np.mean(values):.3g} ({min(values):g}–{max(values):g})"

    for units in sorted({row["units"] for row in rows}):
        if (reference, units) not in errors:
            continue  # Nothing to compare with at this R.
        ours = errors[(reference, units)]
        for model in dict.fromkeys(row["model"] for row in rows):
            if model == reference or (model, units) not in errors:
                continue
            theirs = errors[(model, units)]
            p = "–"
            if len(ours) >= 2 and len(theirs) >= 2:
                p = f"{analysis.welch_test(ours, theirs)['p']:.2g}"
            name = SERIES_NAMES.get(model, model)
            lines.append(
                f"| {units} | {name} | {summary(ours)} | {summary(theirs)} "
                f"| {p} |"
            )
    return "\n".join(lines) + "\n"


def as_series(rows: Sequence[Mapping]) -> list[dict]:
    """`rows` (runs or table rows) with their `model` replaced by their
    series (`common.series`): the delta rule's fast weights apart."""
    return [{**row, "model": series(row)} for row in rows]


def check_beside(settings: Mapping, beside: Sequence[Mapping]) -> None:
    """Raises a ValueError naming the search and the setting if a search of
    `beside` ran on other data or another budget than `settings`, or holds
    no other series than the paper's models (which would repeat Table 1's
    rows)."""
    for search in beside:
        differ = sorted(
            key
            for key in set(settings) | set(search["settings"])
            if settings.get(key) != search["settings"].get(key)
        )
        if differ:
            raise ValueError(
                f"{search['directory']} ran with other settings than Table "
                "1's search: "
                + ", ".join(
                    f"{key} {search['settings'].get(key)} (Table 1: "
                    f"{settings.get(key)})"
                    for key in differ
                )
            )
        models_run = {series(run) for run in search["runs"]}
        repeated = sorted(models_run & set(models.PAPER_NAMES))
        if repeated:
            raise ValueError(
                f"{search['directory']} holds runs of {', '.join(repeated)}, "
                "a row Table 1's search has: give a search of another series "
                "(the delta rule's)"
            )


def write_table1(
    runs: Sequence[Mapping],
    directory: str | os.PathLike,
    grid: Mapping,
    beside: Sequence[Mapping] = (),
) -> list[dict]:
    """Writes `table1.csv` (one row per (model, R)), `table1_runs.csv` (one
    row per run) and `table1.md` (both, beside the paper's values) into
    `directory`.

    Args:
        runs: The search's runs, as returned by
            `fastweights_study.tuning.run_rows`.
        directory: Where to write, created if missing.
        grid: The search's grid; a grid of variants adds their column.
        beside: Searches of further rows, beyond the paper (the delta
            rule's, `results/delta_search/table1`): dicts with the
            `directory`, `grid` and `runs` of a search
            (`tuning.load_search`), which share the settings of Table 1's
            (`check_beside`, which the caller runs). Their rows join
            `table1.md`'s tables under their series' names
            (`common.SERIES_NAMES`), with no paper value, and their runs
            its list; `table1.csv` and `table1_runs.csv` stay this
            search's.

    Returns:
        The rows of `table1.csv` (`fastweights_study.tuning.table_rows`).
    """
    # Imported here: fastweights_study.tuning needs keras-tuner.
    from fastweights_study import tuning

    if beside and "variant" in grid:
        raise ValueError("a search of variants takes no searches beside it")
    rows = tuning.table_rows(grid, runs)

    table_csv, runs_csv, table_md = (
        os.path.join(directory, name) for name in TABLE1_FILENAMES
    )
    run_columns = tuning.columns(tuning.RUN_COLUMNS, grid)
    write_csv(rows, table_csv, tuning.columns(tuning.TABLE_COLUMNS, grid))
    write_csv(runs, runs_csv, run_columns + list(tuning.ENVIRONMENT_COLUMNS))
    # The Markdown tables: this search's rows, then each search beside it,
    # by series (a search of the delta rule alone is not the paper's row).
    shown_rows, shown_runs = as_series(rows), as_series(runs)
    for search in beside:
        shown_rows += as_series(
            tuning.table_rows(search["grid"], search["runs"])
        )
        shown_runs += as_series(search["runs"])
    cells = summary_cells(shown_rows, shown_runs)
    with open(table_md, "w") as file:
        file.write(
            "Test error (%): mean ± sample standard deviation over the seeds "
            "of the learning rate chosen on validation"
        )
        if "variant" in grid:
            file.write(".\n\n")
            file.write(variant_markdown(cells))
        else:
            file.write("; the paper's value in brackets.")
            for search in beside:
                names = sorted(
                    {SERIES_NAMES[series(run)] for run in search["runs"]}
                )
                file.write(
                    f" {', '.join(names)}: beyond the paper, the same "
                    f"protocol and data (`{search['directory']}`)."
                )
            file.write("\n\n")
            file.write(
                table1_markdown(
                    cells,
                    value="summary",
                    paper=PAPER_TABLE1,
                    number_format="{}",
                )
            )
            file.write("\nRuns at 0.00 % test error\n\n")
            file.write(
                table1_markdown(cells, value="at_zero", number_format="{}")
            )
            file.write(
                "\nThe best seed's test error (%), as the paper gives one "
                "number per cell\n\n"
            )
            file.write(
                table1_markdown(
                    cells, value="test_error_min", number_format="{:g}"
                )
            )
            # Said only while a cell still tries further rates with seed 0.
            widening = any(cell.get("choice") == "widening" for cell in cells)
            file.write(
                "\nChosen learning rates"
                + (
                    " (widening: further rates are still being tried with "
                    "seed 0)"
                    if widening
                    else ""
                )
                + "\n\n"
            )
            file.write(table1_markdown(cells, value="rate", number_format="{}"))
            if any(row["model"] == "fast_weights" for row in shown_rows):
                file.write(
                    "\nFast weights against each other model, by R: the test "
                    "errors' means and ranges over the seeds, and Welch's "
                    "two-sided p (three seeds can support little)\n\n"
                )
                file.write(comparisons_markdown(shown_rows, shown_runs))
        file.write("\nEvery run\n\n")
        file.write(runs_markdown(runs, run_columns))
        for search in beside:
            file.write(f"\nEvery run of `{search['directory']}`\n\n")
            file.write(
                runs_markdown(
                    search["runs"],
                    tuning.columns(tuning.RUN_COLUMNS, search["grid"]),
                )
            )
    return rows
