"""What the study's reports share: CSV files, the runs of a table's cell,
summaries of a cell's seeds, Markdown tables, and the series a run
belongs to (a model, or fast weights with the delta rule)."""

import csv
import os
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

from keras_fastweights import models

# A report's series: a model, or fast weights with the delta rule
# (`update_rule="delta"`, beyond the paper) beside the paper's layer.
DELTA_SERIES = "fast_weights_delta"
SERIES_NAMES = {
    **models.PAPER_NAMES,
    DELTA_SERIES: f"{models.PAPER_NAMES['fast_weights']}, delta rule",
}


def series(run: Mapping) -> str:
    """A run's or a table row's series: its model, or `DELTA_SERIES` for
    fast weights with the delta rule."""
    if run["model"] == "fast_weights" and run.get("update_rule") == "delta":
        return DELTA_SERIES
    return run["model"]


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


def variant_markdown(
    cells: Sequence[Mapping], extra: Sequence[tuple[str, str, str]] = ()
) -> str:
    """One line per (units, variant) cell of a grid of variants; `extra`
    adds `(header, key, alignment)` columns after the standard ones, the
    alignment as Markdown writes it (`"---:"` right, `"---"` left)."""
    lines = [
        "| R | variant | learning rate | seeds | test error (%) | min–max "
        "| runs at 0.00 % |"
        + "".join(f" {header} |" for header, _, _ in extra),
        "|---:|---|---:|---|---:|---:|---:|"
        + "".join(f"{alignment}|" for _, _, alignment in extra),
    ]
    for cell in cells:
        lines.append(
            f"| {cell['units']} | {cell['variant']} | "
            f"{cell['learning_rate']:g} | {cell['seeds']} | {cell['summary']} "
            f"| {cell['test_error_min']:.2f}–{cell['test_error_max']:.2f} "
            f"| {cell['at_zero']} |"
            + "".join(f" {cell[key]} |" for _, key, _ in extra)
        )
    return "\n".join(lines) + "\n"


def cell_runs(row: Mapping, runs: Sequence[Mapping]) -> list[Mapping]:
    """The runs (of `tuning.run_rows`) that a row of `tuning.table_rows`
    summarises: those of its cell, at its learning rate, with its seeds, in
    the order of their seeds."""
    keys = ("model", "units", "variant", "update_rule", "clipnorm")
    keys += ("learning_rate",)
    seeds = str(row["seeds"]).split()
    return sorted(
        (
            run
            for run in runs
            if all(run.get(key) == row.get(key) for key in keys)
            and str(run["seed"]) in seeds
        ),
        key=lambda run: run["seed"],
    )


def mean_and_std(mean: float, std: float | None) -> str:
    return f"{mean:.2f}" + ("" if std is None else f" ± {std:.2f}")


def summary_cells(
    rows: Sequence[Mapping], runs: Sequence[Mapping]
) -> list[dict]:
    """`rows` with `summary` (mean ± standard deviation) and `at_zero`
    (how many of the runs are at 0.00 %) as text for Markdown."""
    cells = []
    for row in rows:
        errors = [run["test_error_percent"] for run in cell_runs(row, runs)]
        cells.append(
            {
                **row,
                "summary": mean_and_std(
                    row["test_error_mean"], row["test_error_std"]
                ),
                "at_zero": f"{sum(e == 0 for e in errors)} of {len(errors)}",
                "rate": f"{row['learning_rate']:g}"
                + (" (widening)" if row.get("choice") == "widening" else ""),
            }
        )
    return cells


def runs_markdown(runs: Sequence[Mapping], columns: Sequence[str]) -> str:
    """One line per run, with the given columns."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for run in runs:
        lines.append(
            "| "
            + " | ".join(
                ""
                if run[c] is None
                else f"{run[c]:g}"
                if isinstance(run[c], float)
                else str(run[c])
                for c in columns
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def table1_markdown(
    rows: Iterable[Mapping],
    value: str = "test_error_percent",
    paper: Mapping | None = None,
    number_format: str = "{:.2f}",
    column: str = "units",
    column_label: str = "R",
    names: Mapping[str, str] | None = None,
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
        names: The rows' names by `model`; default `SERIES_NAMES` (the
            paper's models' names, and the delta rule's series).

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
        name = (names or SERIES_NAMES).get(kind, kind)
        lines.append(f"| {name} | " + " | ".join(entries) + " |")
    return "\n".join(lines) + "\n"
