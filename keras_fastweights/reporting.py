"""Results tables laid out like Table 1 of Ba et al. (2016).

Table 1 of https://arxiv.org/abs/1610.06258 reports the test error (%) on
associative retrieval with K = 4 pairs: rows are models, columns the number
R of recurrent hidden units.
"""

import csv
import os
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

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


def write_csv(
    rows: Sequence[Mapping], path: str | os.PathLike, columns: Sequence[str]
) -> None:
    """Writes `rows` (dicts) to a CSV file with the given column order."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(columns))
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column) for column in columns})


def read_csv(path: str | os.PathLike) -> list[dict]:
    """Reads a results CSV back, with numbers as numbers and empty cells as
    `None`."""

    def number(text):
        if text == "":
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    with open(path, newline="") as file:
        return [
            {key: number(value) for key, value in row.items()}
            for row in csv.DictReader(file)
        ]


def _variant_markdown(cells: Sequence[Mapping]) -> str:
    """One line per (units, variant) cell of a grid of variants."""
    lines = [
        "| R | variant | learning rate | seeds | test error (%) | min–max "
        "| runs at 0.00 % |",
        "|---:|---|---:|---|---:|---:|---:|",
    ]
    for cell in cells:
        lines.append(
            f"| {cell['units']} | {cell['variant']} | "
            f"{cell['learning_rate']:g} | {cell['seeds']} | {cell['summary']} "
            f"| {cell['test_error_min']:.2f}–{cell['test_error_max']:.2f} "
            f"| {cell['at_zero']} |"
        )
    return "\n".join(lines) + "\n"


def table1_markdown(
    rows: Iterable[Mapping],
    value: str = "test_error_percent",
    paper: Mapping | None = None,
    number_format: str = "{:.2f}",
    column: str = "units",
    column_label: str = "R",
) -> str:
    """Formats results as Markdown laid out like the paper's Table 1.

    Args:
        rows: Dicts with at least `model`, `units` and `value`.
        value: The column shown in the cells.
        paper: Optional `{(model, units): error}`, e.g. `PAPER_TABLE1`;
            each cell then shows `ours (paper)`.
        number_format: Format of the numbers, e.g. `"{:g}"`.
        column, column_label: The key whose values make the columns, and
            its name in the header (`"R = 20"`, ...).

    Returns:
        A Markdown table: one row per model, one column per `R = units`.
    """
    rows = list(rows)
    kinds = list(dict.fromkeys(row["model"] for row in rows))
    units = sorted({int(row[column]) for row in rows})
    cells = {(row["model"], int(row[column])): row[value] for row in rows}
    header = (
        "| Model | " + " | ".join(f"{column_label} = {u}" for u in units) + " |"
    )
    lines = [header, "|---|" + "---:|" * len(units)]
    for kind in kinds:
        entries = []
        for u in units:
            ours = cells.get((kind, u))
            text = "–" if ours is None else number_format.format(ours)
            if paper is not None and (kind, u) in paper:
                text += f" ({paper[(kind, u)]:.2f})"
            entries.append(text)
        name = models.PAPER_NAMES.get(kind, kind)
        lines.append(f"| {name} | " + " | ".join(entries) + " |")
    return "\n".join(lines) + "\n"


def write_table1(
    rows: Sequence[Mapping],
    runs: Sequence[Mapping],
    directory: str | os.PathLike,
    grid: Mapping | None = None,
) -> None:
    """Writes `table1.csv` (one row per (model, R)), `table1_runs.csv` (one
    row per run) and `table1.md` (both, beside the paper's values) into
    `directory`.

    Args:
        rows: As returned by `keras_fastweights.tuning.table_rows`.
        runs: As returned by `keras_fastweights.tuning.run_rows`.
        directory: Where to write, created if missing.
        grid: The search's grid; a grid of variants adds their column.
    """
    # Imported here: keras_fastweights.tuning needs keras-tuner.
    from keras_fastweights import tuning

    table_csv, runs_csv, table_md = (
        os.path.join(directory, name) for name in TABLE1_FILENAMES
    )
    grid = grid or {}
    run_columns = tuning.columns(tuning.RUN_COLUMNS, grid)
    write_csv(rows, table_csv, tuning.columns(tuning.TABLE_COLUMNS, grid))
    write_csv(runs, runs_csv, run_columns)
    cell_keys = ("model", "units", "variant", "learning_rate")
    cells = []
    for row in rows:
        errors = [
            run["test_error_percent"]
            for run in runs
            if all(run.get(key) == row.get(key) for key in cell_keys)
        ]
        std = row["test_error_std"]
        cells.append(
            {
                **row,
                "summary": f"{row['test_error_mean']:.2f}"
                + ("" if std is None else f" ± {std:.2f}"),
                "at_zero": f"{sum(e == 0 for e in errors)} of {len(errors)}",
            }
        )
    with open(table_md, "w") as file:
        file.write(
            "Test error (%): mean ± sample standard deviation over the seeds "
            "of the learning rate chosen on validation"
        )
        if "variant" in grid:
            file.write(".\n\n")
            file.write(_variant_markdown(cells))
        else:
            file.write("; the paper's value in brackets.\n\n")
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
            file.write("\nChosen learning rates\n\n")
            file.write(
                table1_markdown(
                    cells, value="learning_rate", number_format="{:g}"
                )
            )
        file.write("\nEvery run\n\n")
        file.write("| " + " | ".join(run_columns) + " |\n")
        file.write("|" + "---|" * len(run_columns) + "\n")
        for run in runs:
            file.write(
                "| "
                + " | ".join(
                    ""
                    if run[c] is None
                    else f"{run[c]:g}"
                    if isinstance(run[c], float)
                    else str(run[c])
                    for c in run_columns
                )
                + " |\n"
            )
