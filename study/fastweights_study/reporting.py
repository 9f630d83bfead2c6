"""Results tables: Table 1 of Ba et al. (2016), the ablation study and the
capacity curve.

Table 1 of https://arxiv.org/abs/1610.06258 reports the test error (%) on
associative retrieval with K = 4 pairs: rows are models, columns the number
R of recurrent hidden units. The ablation study (`ablation_rows`,
`write_ablation`) compares the variants of the fast-weights layer
(`models.FAST_WEIGHTS_VARIANTS`) at one R; the capacity curve
(`capacity_rows`, `write_capacity`) is the test error against the number K
of pairs, beside the key-blind error (`analysis.key_blind_bayes`).
"""

import csv
import inspect
import os
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from fastweights_study import analysis
from keras_fastweights import models
from keras_fastweights.layers import FastWeightsRNN
from keras_fastweights.layers.fast_weights_rnn_cell import (
    DEFAULT_FAST_LEARNING_RATES,
)

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


def _variant_markdown(
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


def _mean_and_std(mean: float, std: float | None) -> str:
    return f"{mean:.2f}" + ("" if std is None else f" ± {std:.2f}")


def _summary_cells(
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
                "summary": _mean_and_std(
                    row["test_error_mean"], row["test_error_std"]
                ),
                "at_zero": f"{sum(e == 0 for e in errors)} of {len(errors)}",
                "rate": f"{row['learning_rate']:g}"
                + (" (widening)" if row.get("choice") == "widening" else ""),
            }
        )
    return cells


def _runs_markdown(runs: Sequence[Mapping], columns: Sequence[str]) -> str:
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
        name = SERIES_NAMES.get(kind, kind)
        lines.append(f"| {name} | " + " | ".join(entries) + " |")
    return "\n".join(lines) + "\n"


def comparisons_markdown(
    rows: Sequence[Mapping],
    runs: Sequence[Mapping],
    reference: str = "fast_weights",
) -> str:
    """A Markdown table comparing `reference` with every other model of
    `rows` (`tuning.table_rows`) at each R: each side's mean and range of
    test errors over its seeds and Welch's p (`analysis.welch_test`); "–"
    where a side has fewer than two seeds."""
    errors = {
        (row["model"], row["units"]): [
            run["test_error_percent"] for run in cell_runs(row, runs)
        ]
        for row in rows
    }
    lines = [
        f"| R | model | {models.PAPER_NAMES.get(reference, reference)} | "
        "model's | Welch p |",
        "|---:|---|---:|---:|---:|",
    ]

    def summary(values):
        if not values:
            return "–"
        return f"{np.mean(values):.3g} ({min(values):g}–{max(values):g})"

    for units in sorted({row["units"] for row in rows}):
        ours = errors.get((reference, units), [])
        for model in dict.fromkeys(row["model"] for row in rows):
            if model == reference or (model, units) not in errors:
                continue
            theirs = errors[(model, units)]
            p = "–"
            if len(ours) >= 2 and len(theirs) >= 2:
                p = f"{analysis.welch_test(ours, theirs)['p']:.2g}"
            name = models.PAPER_NAMES.get(model, model)
            lines.append(
                f"| {units} | {name} | {summary(ours)} | {summary(theirs)} "
                f"| {p} |"
            )
    return "\n".join(lines) + "\n"


def write_table1(
    runs: Sequence[Mapping],
    directory: str | os.PathLike,
    grid: Mapping,
) -> list[dict]:
    """Writes `table1.csv` (one row per (model, R)), `table1_runs.csv` (one
    row per run) and `table1.md` (both, beside the paper's values) into
    `directory`.

    Args:
        runs: The search's runs, as returned by
            `fastweights_study.tuning.run_rows`.
        directory: Where to write, created if missing.
        grid: The search's grid; a grid of variants adds their column.

    Returns:
        The rows of `table1.csv` (`fastweights_study.tuning.table_rows`).
    """
    # Imported here: fastweights_study.tuning needs keras-tuner.
    from fastweights_study import tuning

    rows = tuning.table_rows(grid, runs)

    table_csv, runs_csv, table_md = (
        os.path.join(directory, name) for name in TABLE1_FILENAMES
    )
    run_columns = tuning.columns(tuning.RUN_COLUMNS, grid)
    write_csv(rows, table_csv, tuning.columns(tuning.TABLE_COLUMNS, grid))
    write_csv(runs, runs_csv, run_columns + list(tuning.ENVIRONMENT_COLUMNS))
    cells = _summary_cells(rows, runs)
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
            file.write(
                "\nThe best seed's test error (%), as the paper gives one "
                "number per cell\n\n"
            )
            file.write(
                table1_markdown(
                    cells, value="test_error_min", number_format="{:g}"
                )
            )
            file.write(
                "\nChosen learning rates (widening: further rates are "
                "still being tried with seed 0)\n\n"
            )
            file.write(table1_markdown(cells, value="rate", number_format="{}"))
            file.write(
                "\nFast weights against each other model, by R: the test "
                "errors' means and ranges over the seeds, and Welch's "
                "two-sided p (three seeds can support little)\n\n"
            )
            file.write(comparisons_markdown(rows, runs))
        file.write("\nEvery run\n\n")
        file.write(_runs_markdown(runs, run_columns))
    return rows


# A run stayed on the key-blind plateau (never learned to use the key) if
# its best validation error never fell more than this many points below
# the key-blind error.
PLATEAU_MARGIN = 5.0


def key_blind_error(num_pairs: int) -> float:
    """The error (%) of the best prediction that ignores the queried key,
    with `num_pairs` pairs: `100 * analysis.key_blind_bayes(num_pairs)[0]`.

    Example:

    >>> round(key_blind_error(4), 2)
    61.65
    """
    return 100 * analysis.key_blind_bayes(num_pairs)[0]


def on_plateau(
    run: Mapping, num_pairs: int, margin: float = PLATEAU_MARGIN
) -> bool:
    """Whether a run (a row of `tuning.run_rows`) stayed on the key-blind
    plateau, i.e. never learned to use the key: its best validation error
    never fell more than `margin` points below `key_blind_error(num_pairs)`
    (a run that stayed above it, nearer chance, counts too)."""
    return run["val_error_percent"] >= key_blind_error(num_pairs) - margin


def plateau_exit_epoch(
    history: Mapping, num_pairs: int, margin: float = PLATEAU_MARGIN
) -> int | None:
    """The first epoch (counted from 1) at which a run's validation error
    fell more than `margin` points below `key_blind_error(num_pairs)`, the
    epoch it left the key-blind plateau; None if it never did (then
    `on_plateau` holds for it).

    Args:
        history: The run's `{metric: [value per epoch]}` with
            `val_accuracy`, as `training.read_history` returns it.
        num_pairs: The task's K.
        margin: Points below the key-blind error, as in `on_plateau`.

    Example:

    >>> plateau_exit_epoch({"val_accuracy": [0.1, 0.38, 0.45, 0.9]}, 4)
    3
    """
    threshold = key_blind_error(num_pairs) - margin
    errors = 100 * (1 - np.asarray(history["val_accuracy"], dtype=float))
    below = np.flatnonzero(errors < threshold)
    return int(below[0]) + 1 if below.size else None


def diverged(history: Mapping) -> bool:
    """Whether a run's loss became NaN or infinite: any non-finite `loss`
    or `val_loss` in its history (`{metric: [value per epoch]}`, as
    `training.read_history` returns it). Its best epoch, kept by the
    training recipe, comes before.

    Example:

    >>> diverged({"loss": [2.3, 1.9], "val_loss": [2.2, float("nan")]})
    True
    """
    return any(
        not np.all(np.isfinite(history[name]))
        for name in ("loss", "val_loss")
        if name in history
    )


def plateau_rule(num_pairs: int) -> str:
    """`on_plateau`'s rule in words, for the reports."""
    return (
        "best validation error never fell more than "
        f"{PLATEAU_MARGIN:g} points below the key-blind error "
        f"({key_blind_error(num_pairs):.2f} %, K = {num_pairs}), i.e. that "
        "did not learn to use the key"
    )


# The ablation study's files (`write_ablation`); its figure is
# `ablation.png` (`plotting.plot_ablation`).
ABLATION_FILENAMES = ("ablation.csv", "ablation_runs.csv", "ablation.md")
# One row per variant (`ablation_rows`), as in `results/ablation.csv`.
ABLATION_COLUMNS = (
    "variant",
    "model",
    "units",
    "learning_rate",
    "seeds",
    "runs",
    "test_error_mean",
    "test_error_std",
    "test_error_min",
    "test_error_max",
    "runs_at_zero",
    "best_epoch_mean",
    "runs_on_plateau",
    "plateau_exit_epochs",
    "runs_diverged",
    "seeds_worse_than_paper",
    "seeds_paired",
    "description",
)
# The options of `FastWeightsRNN` that the variants change, in the order
# their descriptions name them.
_VARIANT_OPTIONS = (
    "fast_learning_rate",
    "decay_rate",
    "inner_steps",
    "use_layer_norm",
)


def _option_words(name, value):
    """An option of `FastWeightsRNN` in the paper's symbols."""
    if name == "fast_learning_rate":
        return f"η = {value:g}" + (" (no fast memory)" if value == 0 else "")
    if name == "decay_rate":
        return f"λ = {value:g}" + (" (no decay)" if value == 1 else "")
    if name == "inner_steps":
        return f"S = {value} inner step" + ("" if value == 1 else "s")
    if name == "use_layer_norm":
        return "layer norm" if value else "no layer norm"
    return f"{name} = {value}"


def variant_description(variant: str) -> str:
    """A variant of `models.FAST_WEIGHTS_VARIANTS` in words: what it
    changes in the paper's layer, then what it keeps (the defaults of
    `FastWeightsRNN`).

    Example:

    >>> variant_description("no_fast_memory")
    'η = 0 (no fast memory); λ = 0.95, S = 1 inner step, layer norm kept'
    >>> variant_description("paper")
    "the paper's layer: η = 0.5, λ = 0.95, S = 1 inner step, layer norm"
    """
    if variant not in models.FAST_WEIGHTS_VARIANTS:
        raise ValueError(
            f"Unknown variant {variant!r}; expected one of "
            f"{tuple(models.FAST_WEIGHTS_VARIANTS)}"
        )
    changed = models.FAST_WEIGHTS_VARIANTS[variant]
    parameters = inspect.signature(FastWeightsRNN).parameters
    defaults = {name: parameters[name].default for name in _VARIANT_OPTIONS}
    # η's default depends on the update rule; the variants are Hebbian.
    defaults["fast_learning_rate"] = DEFAULT_FAST_LEARNING_RATES["hebbian"]
    kept = ", ".join(
        _option_words(name, defaults[name])
        for name in _VARIANT_OPTIONS
        if name not in changed
    )
    if not changed:
        return f"the paper's layer: {kept}"
    return (
        ", ".join(_option_words(name, value) for name, value in changed.items())
        + f"; {kept} kept"
    )


def ablation_rows(
    grid: Mapping,
    runs: Sequence[Mapping],
    num_pairs: int,
    histories: Mapping[str, Mapping],
) -> list[dict]:
    """One row per variant of an ablation search, with the keys of
    `ABLATION_COLUMNS`.

    Args:
        grid: The search's grid (`tuning.check_grid` with `variants`).
        runs: As returned by `tuning.run_rows`.
        num_pairs: The search's K, for the key-blind plateau.
        histories: Each run's history by `trial_id`
            (`tuning.trial_history`), for `runs_diverged`.

    Returns:
        Rows in the grid's order of variants (`tuning.table_rows`), a
        variant without a finished run left out: the test error's mean,
        sample standard deviation, minimum and maximum over the seeds,
        `runs` counted, `runs_at_zero` (test error 0.00 %),
        `best_epoch_mean`, `runs_on_plateau` (`on_plateau`),
        `plateau_exit_epochs` (each seed's `plateau_exit_epoch`, in the
        order of `seeds`, "–" for a run that never left the plateau),
        `runs_diverged` (`diverged`), `seeds_worse_than_paper` of
        `seeds_paired` (the seeds at which the paper's layer also ran and
        had a lower test error; None for the paper's layer) and the
        variant's `description` (`variant_description`).

    Raises:
        ValueError: the grid has no variants.
    """
    # Imported here: fastweights_study.tuning needs keras-tuner.
    from fastweights_study import tuning

    if "variant" not in grid:
        raise ValueError(
            "An ablation search has a grid of variants (tuning/grid_search.py "
            f"--variants). Received a grid of {sorted(grid)}"
        )
    rows = []
    for row in tuning.table_rows(grid, runs):
        counted = cell_runs(row, runs)
        rows.append(
            {
                **row,
                "runs": len(counted),
                "runs_at_zero": sum(
                    run["test_error_percent"] == 0 for run in counted
                ),
                "best_epoch_mean": round(
                    float(np.mean([run["best_epoch"] for run in counted])), 2
                ),
                "runs_on_plateau": sum(
                    on_plateau(run, num_pairs) for run in counted
                ),
                "plateau_exit_epochs": _plateau_exit_epochs(
                    counted, histories, num_pairs
                ),
                "runs_diverged": sum(
                    diverged(histories[run["trial_id"]]) for run in counted
                ),
                **_paired_with_paper(counted, runs),
                "description": variant_description(row["variant"]),
            }
        )
    return rows


def _plateau_exit_epochs(
    counted: Sequence[Mapping], histories: Mapping[str, Mapping], num_pairs: int
) -> str:
    """Each run's `plateau_exit_epoch`, in the order of `counted`, as text:
    "–" for a run that never left the plateau."""
    return " ".join(
        str(plateau_exit_epoch(histories[run["trial_id"]], num_pairs) or "–")
        for run in counted
    )


def _paired_with_paper(
    counted: Sequence[Mapping], runs: Sequence[Mapping]
) -> dict:
    """How many of a variant's runs (`counted`) have a higher test error
    than the paper's layer at the same R, learning rate and seed
    (`seeds_worse_than_paper`), of how many have such a run
    (`seeds_paired`); both None for the paper's layer itself.

    The same seed gives every variant the same initial weights (those it
    shares with the paper's layer) and the same batches, so a seed's two
    runs differ only by the variant."""
    if not counted or counted[0]["variant"] == "paper":
        return {"seeds_worse_than_paper": None, "seeds_paired": None}
    keys = ("model", "units", "learning_rate", "seed")
    paper = {
        tuple(run[key] for key in keys): run["test_error_percent"]
        for run in runs
        if run["variant"] == "paper"
    }
    pairs = [
        (run["test_error_percent"], paper[tuple(run[key] for key in keys)])
        for run in counted
        if tuple(run[key] for key in keys) in paper
    ]
    return {
        "seeds_worse_than_paper": sum(mine > its for mine, its in pairs),
        "seeds_paired": len(pairs),
    }


def ablation_markdown(
    rows: Sequence[Mapping],
    runs: Sequence[Mapping],
    grid: Mapping,
    settings: Mapping,
    command: str | None = None,
) -> str:
    """The ablation study as Markdown: what was run, how much of it has
    finished, one line per variant (`ablation_rows`) and every run.

    Args:
        rows: As returned by `ablation_rows`.
        runs: As returned by `tuning.run_rows`.
        grid: The search's grid.
        settings: The search's settings (`tuning.load_settings`): the
            data sizes, `num_pairs` and `epochs`.
        command: The command that wrote it, shown at the end.
    """
    from fastweights_study import tuning

    num_pairs = settings["num_pairs"]
    done = {row["variant"] for row in rows}
    waiting = [v for v in grid["variant"] if v not in done]
    seeds = " ".join(str(seed) for seed in grid["seed"])
    rates = ", ".join(f"{rate:g}" for rate in grid["learning_rate"])
    units = ", ".join(str(u) for u in grid["units"])
    text = [
        f"# Ablation study: fast weights, K = {num_pairs}, R = {units}\n",
        "The paper's fast-weights layer and variants that each change one "
        "thing (`keras_fastweights.models.FAST_WEIGHTS_VARIANTS`), on the "
        f"associative-retrieval task with K = {num_pairs} pairs: learning "
        f"rate {rates}, seeds {seeds}, {settings['epochs']} epochs each, the "
        "best epoch on validation kept. Test error (%): mean ± sample "
        "standard deviation over the seeds. *On the plateau*: runs whose "
        f"{plateau_rule(num_pairs)}. *Epoch it left the plateau*: for each "
        "seed, the first epoch whose validation error fell that far (– if "
        "none). *Diverged*: runs whose loss became "
        "NaN or infinite (their best epoch came before). *Worse than the "
        "paper's, same seed*: of the seeds at which the paper's layer ran "
        "too, those where the variant's test error is higher; a seed gives "
        "every variant the same initial weights and batches.\n",
        f"{tuning.runs_finished(grid, runs)}."
        + (f" Not run yet: {', '.join(waiting)}." if waiting else "")
        + "\n",
        _variant_markdown(
            [
                {
                    **cell,
                    "best_epoch": f"{cell['best_epoch_mean']:g}",
                    "on_plateau": f"{cell['runs_on_plateau']} of "
                    f"{cell['runs']}",
                    "diverged": f"{cell['runs_diverged']} of {cell['runs']}",
                    "worse": "–"
                    if not cell["seeds_paired"]
                    else f"{cell['seeds_worse_than_paper']} of "
                    f"{cell['seeds_paired']}",
                }
                for cell in _summary_cells(rows, runs)
            ],
            extra=[
                ("mean best epoch", "best_epoch", "---:"),
                ("on the plateau", "on_plateau", "---:"),
                ("epoch it left the plateau", "plateau_exit_epochs", "---:"),
                ("diverged", "diverged", "---:"),
                ("worse than the paper's, same seed", "worse", "---:"),
                ("what it is", "description", "---"),
            ],
        ),
        "Every run\n",
        _runs_markdown(runs, tuning.columns(tuning.RUN_COLUMNS, grid)),
    ]
    if command:
        text.append(f"Written by `{command}`.\n")
    return "\n".join(text)


def write_ablation(
    rows: Sequence[Mapping],
    runs: Sequence[Mapping],
    directory: str | os.PathLike,
    grid: Mapping,
    settings: Mapping,
    command: str | None = None,
) -> None:
    """Writes `ablation.csv` (`rows`, `ABLATION_COLUMNS`),
    `ablation_runs.csv` (one row per run) and `ablation.md`
    (`ablation_markdown`) into `directory`, created if missing.

    Args:
        rows: As returned by `ablation_rows`.
        runs: As returned by `tuning.run_rows`.
        directory: Where to write.
        grid, settings: The search's (`tuning.load_settings`).
        command: The command that wrote them, for `ablation.md`.
    """
    from fastweights_study import tuning

    table_csv, runs_csv, table_md = (
        os.path.join(directory, name) for name in ABLATION_FILENAMES
    )
    write_csv(rows, table_csv, ABLATION_COLUMNS)
    write_csv(
        runs,
        runs_csv,
        tuning.columns(tuning.RUN_COLUMNS, grid)
        + list(tuning.ENVIRONMENT_COLUMNS),
    )
    with open(table_md, "w") as file:
        file.write(ablation_markdown(rows, runs, grid, settings, command))


# The capacity curve's files (`write_capacity`); its figure is
# `capacity.png` (`plotting.plot_capacity`).
CAPACITY_FILENAMES = ("capacity.csv", "capacity.md")
# The searches of the capacity curve (tuning/reproduce.sh): K = 4 is Table
# 1's, each other K has its own; the delta rule's the same in delta_search.
CAPACITY_PAIRS = (2, 6, 8, 10, 12)
CAPACITY_DIRECTORIES = (
    os.path.join("results", "table1_search"),
    *(
        os.path.join("results", "capacity_search", f"k{k}")
        for k in CAPACITY_PAIRS
    ),
    os.path.join("results", "delta_search", "table1"),
    *(os.path.join("results", "delta_search", f"k{k}") for k in CAPACITY_PAIRS),
)
# The capacity curve's series: a model, or fast weights with the delta
# rule (`update_rule="delta"`, beyond the paper) beside the paper's.
DELTA_SERIES = "fast_weights_delta"
SERIES_NAMES = {
    **models.PAPER_NAMES,
    DELTA_SERIES: f"{models.PAPER_NAMES['fast_weights']}, delta rule",
}


def series(run: Mapping) -> str:
    """A run's or a table row's series of the capacity curve: its model,
    or `DELTA_SERIES` for fast weights with the delta rule."""
    if run["model"] == "fast_weights" and run.get("update_rule") == "delta":
        return DELTA_SERIES
    return run["model"]


def _series_order(kinds: Sequence[str]) -> list[str]:
    """The series of `kinds`, in their order, the delta rule's after
    fast weights'."""
    order = []
    for kind in kinds:
        order.append(kind)
        if kind == "fast_weights":
            order.append(DELTA_SERIES)
    return order


# One row per (model, K) (`capacity_rows`), as in `results/capacity.csv`.
CAPACITY_COLUMNS = (
    "model",
    "num_pairs",
    "units",
    "learning_rate",
    "seeds",
    "num_seeds",
    "test_errors",
    "test_error_mean",
    "test_error_std",
    "key_blind_error",
    "runs_on_plateau",
    "plateau_exit_epochs",
    "best_epochs",
    "directory",
)


def capacity_rows(
    searches: Sequence[Mapping], kinds: Sequence[str], units: int
) -> list[dict]:
    """One row per (model, K) of searches that differ in K, with the keys
    of `CAPACITY_COLUMNS`.

    Args:
        searches: Dicts with the `directory` of a search, its `grid` and
            `settings` (`tuning.load_settings`), its `runs`
            (`tuning.run_rows`) and their `histories` by `trial_id`
            (`tuning.trial_history`); their settings' `num_pairs` (K)
            differ.
        kinds: The models to report, in this order.
        units: The R to report; every search's grid must have it.

    Returns:
        Rows in the order of `kinds` (fast weights with the delta rule,
        `model` `DELTA_SERIES`, after fast weights), then K ascending; a
        (model, K) whose learning rate is not chosen yet, or that its
        search lacks, is left out. `learning_rate` is the one chosen on
        validation (`tuning.table_rows`), `seeds` and `test_errors` list
        its runs' seeds and test errors (%), `key_blind_error` is
        `key_blind_error(K)` (%), `runs_on_plateau` counts the runs that
        never left the key-blind plateau (`on_plateau`) and
        `plateau_exit_epochs` gives each seed's `plateau_exit_epoch` ("–"
        for never): a run that ends on the plateau failed to learn to use
        the key, which says nothing about what the model can store.
        `best_epochs` gives each seed's best epoch on validation (the
        epoch whose weights were tested): one near the last says the run
        was still improving when its budget ended.

    Raises:
        ValueError: two searches that hold the same (model, K), or a
            search without R = `units`; the message names the directories.
    """
    from fastweights_study import tuning

    cells = {}
    for search in searches:
        directory, grid = search["directory"], search["grid"]
        num_pairs = search["settings"]["num_pairs"]
        if units not in grid["units"]:
            raise ValueError(
                f"{directory} has no R = {units}: its grid has units "
                f"{grid['units']}"
            )
        for row in tuning.table_rows(search["grid"], search["runs"]):
            if row["units"] != units or row.get("variant", "paper") != "paper":
                continue
            key = series(row), num_pairs
            if key in cells:
                raise ValueError(
                    f"{cells[key]['directory']} and {directory} both hold "
                    f"{SERIES_NAMES[key[0]]} at K = {num_pairs}: give one "
                    "search per (model, K)"
                )
            counted = cell_runs(row, search["runs"])
            cells[key] = {
                "model": key[0],
                "num_pairs": num_pairs,
                "units": units,
                "learning_rate": row["learning_rate"],
                "seeds": row["seeds"],
                "num_seeds": len(counted),
                "test_errors": " ".join(
                    f"{run['test_error_percent']:g}" for run in counted
                ),
                "test_error_mean": row["test_error_mean"],
                "test_error_std": row["test_error_std"],
                "key_blind_error": round(key_blind_error(num_pairs), 4),
                "runs_on_plateau": sum(
                    on_plateau(run, num_pairs) for run in counted
                ),
                "plateau_exit_epochs": _plateau_exit_epochs(
                    counted, search["histories"], num_pairs
                ),
                "best_epochs": " ".join(
                    str(run["best_epoch"]) for run in counted
                ),
                "directory": str(search["directory"]),
            }
    return [
        cells[kind, num_pairs]
        for kind in _series_order(kinds)
        for num_pairs in sorted({pairs for _, pairs in cells})
        if (kind, num_pairs) in cells
    ]


def capacity_plateau_runs(
    searches: Sequence[Mapping], kinds: Sequence[str], units: int
) -> list[dict]:
    """Every finished run of `searches` (as `capacity_rows` takes them) of
    the models `kinds` at R = `units` that stayed on the key-blind plateau
    of its K (`on_plateau`), at any learning rate: dicts with `model`,
    `num_pairs`, `learning_rate`, `seed` and `val_error_percent` (its best
    validation error), in the order of `kinds` (`model` is the run's
    `series`), then K, learning rate and seed."""
    found = [
        {
            "model": series(run),
            "num_pairs": search["settings"]["num_pairs"],
            "learning_rate": run["learning_rate"],
            "seed": run["seed"],
            "val_error_percent": run["val_error_percent"],
        }
        for search in searches
        for run in search["runs"]
        if run["model"] in kinds
        and run["units"] == units
        and run.get("variant", "paper") == "paper"
        and on_plateau(run, search["settings"]["num_pairs"])
    ]
    return sorted(
        found,
        key=lambda run: (
            _series_order(kinds).index(run["model"]),
            run["num_pairs"],
            run["learning_rate"],
            run["seed"],
        ),
    )


def capacity_markdown(
    rows: Sequence[Mapping],
    notes: Sequence[str] = (),
    command: str | None = None,
    plateau: Sequence[Mapping] = (),
) -> str:
    """The capacity curve as Markdown: one row per model and one column per
    K beside the key-blind error, then one line per (model, K), then the
    runs at any learning rate that stayed on the plateau.

    Args:
        rows: As returned by `capacity_rows`.
        notes: Lines on the searches read (what has finished, what was
            skipped), listed under the tables.
        command: The command that wrote it, shown at the end.
        plateau: As returned by `capacity_plateau_runs`.
    """
    units = sorted({row["units"] for row in rows})
    cells = [
        {
            **row,
            "summary": _mean_and_std(
                row["test_error_mean"], row["test_error_std"]
            )
            + f" ({row['num_seeds']})",
        }
        for row in rows
    ]
    cells += [
        {
            "model": "key-blind error",
            "num_pairs": num_pairs,
            "summary": f"{key_blind_error(num_pairs):.2f}",
        }
        for num_pairs in sorted({row["num_pairs"] for row in rows})
    ]
    text = [
        "# Capacity: test error against the number K of pairs"
        + (f", R = {', '.join(str(u) for u in units)}" if units else "")
        + "\n",
        "Test error (%) of the learning rate chosen on validation at seed "
        "0: mean ± sample standard deviation over the seeds run (their "
        "number in brackets; the first, seed 0, is the run that chose the "
        "learning rate). The key-blind error is the best a model that "
        "ignores the queried key can do (`analysis.key_blind_bayes`); a run "
        "whose validation error never fell more than "
        f"{PLATEAU_MARGIN:g} points below it stayed on the key-blind "
        'plateau ("–" for the epoch it left it: it never learned to use '
        "the key, an optimisation failure rather than a limit of what the "
        "model can store).\n",
    ]
    if rows:
        text += [
            table1_markdown(
                cells,
                value="summary",
                number_format="{}",
                column="num_pairs",
                column_label="K",
            ),
            "| model | K | learning rate | seeds | test error per seed (%) "
            "| key-blind error (%) | epoch each seed left the plateau "
            "| best epoch of each seed | search |\n"
            "|---|---:|---:|---|---|---:|---|---|---|",
            "\n".join(
                f"| {SERIES_NAMES.get(row['model'], row['model'])} "
                f"| {row['num_pairs']} | {row['learning_rate']:g} "
                f"| {row['seeds']} | {row['test_errors']} "
                f"| {row['key_blind_error']:.2f} "
                f"| {row['plateau_exit_epochs']} | {row['best_epochs']} "
                f"| `{row['directory']}` |"
                for row in rows
            )
            + "\n",
        ]
    else:
        text.append("No (model, K) has finished yet.\n")
    text.append(
        "Runs at any learning rate (not only the chosen one) whose best "
        f"validation error never fell more than {PLATEAU_MARGIN:g} points "
        "below the key-blind error of their K: "
        + (f"{len(plateau)}.\n" if plateau else "none.\n")
    )
    if plateau:
        text.append(
            _runs_markdown(
                plateau,
                (
                    "model",
                    "num_pairs",
                    "learning_rate",
                    "seed",
                    "val_error_percent",
                ),
            )
        )
    if notes:
        text.append("Searches read:\n")
        text.append("\n".join(f"- {note}" for note in notes) + "\n")
    if command:
        text.append(f"Written by `{command}`.\n")
    return "\n".join(text)


def write_capacity(
    rows: Sequence[Mapping],
    directory: str | os.PathLike,
    notes: Sequence[str] = (),
    command: str | None = None,
    plateau: Sequence[Mapping] = (),
) -> None:
    """Writes `capacity.csv` (`rows`, `CAPACITY_COLUMNS`) and `capacity.md`
    (`capacity_markdown`, with the `plateau` runs) into `directory`,
    created if missing."""
    table_csv, table_md = (
        os.path.join(directory, name) for name in CAPACITY_FILENAMES
    )
    write_csv(rows, table_csv, CAPACITY_COLUMNS)
    with open(table_md, "w") as file:
        file.write(capacity_markdown(rows, notes, command, plateau))


def capacity_error_summary(rows: Sequence[Mapping]) -> list[dict]:
    """The wrong answers of the capacity runs, the seeds of each (model, K)
    pooled, with `analysis.queried_pair_effects` of their error by queried
    pair.

    Args:
        rows: One per run, with the columns of `capacity_errors.csv`
            (`tuning/capacity_errors.py`): `model`, `num_pairs`, `seed`,
            `recorded_test_error_percent`, `wrong`, `wrong_stored`,
            `stored_by_chance`, and `sequences_by_pair` and `wrong_by_pair`
            as space-separated counts.

    Returns:
        One dict per (model, K) whose runs recorded a test error above 0
        and answered wrong (where every run recorded 0 %, a few wrong
        answers can only come from a checkpoint that is not the tested
        weights), in the order of `rows`: `model`, `num_pairs`, `seeds`,
        `sequences`, `wrong`, `stored_percent` (wrong answers that are
        another pair's digit),
        `chance_percent` (the same if wrong answers were spread over the
        nine wrong digits), `error_by_pair_percent` (an array, first pair
        first), `largest_distance` and `trend_z`.
    """
    groups = {}
    for row in rows:
        group = groups.setdefault((row["model"], row["num_pairs"]), [])
        group.append(row)
    summary = []
    for (model, num_pairs), runs in groups.items():
        wrong = sum(run["wrong"] for run in runs)
        if not wrong or not any(
            run["recorded_test_error_percent"] for run in runs
        ):
            continue
        sequences, wrong_by_pair = (
            sum(np.array(str(run[column]).split(), int) for run in runs)
            for column in ("sequences_by_pair", "wrong_by_pair")
        )
        summary.append(
            {
                "model": model,
                "num_pairs": num_pairs,
                "seeds": " ".join(str(run["seed"]) for run in runs),
                "sequences": int(sequences.sum()),
                "wrong": wrong,
                "stored_percent": 100
                * sum(run["wrong_stored"] for run in runs)
                / wrong,
                "chance_percent": 100
                * sum(run["stored_by_chance"] for run in runs)
                / wrong,
                "error_by_pair_percent": 100 * wrong_by_pair / sequences,
                **analysis.queried_pair_effects(sequences, wrong_by_pair),
            }
        )
    return summary


def capacity_errors_markdown(
    summary: Sequence[Mapping], command: str | None = None
) -> str:
    """`capacity_error_summary` as Markdown: a line per (model, K), then
    the Bonferroni bounds (`analysis.bonferroni_bound`, 5 %) for the
    largest distance over every pair listed and for the largest |trend z|
    over the (model, K) listed."""
    columns = (
        "model",
        "K",
        "seeds",
        "wrong answers",
        "another pair's digit (%)",
        "if spread over the nine wrong digits (%)",
        "error by queried pair, first pair first (%)",
        "largest distance (binomial SE)",
        "trend z",
    )
    lines = [
        {
            "model": SERIES_NAMES[row["model"]],
            "K": row["num_pairs"],
            "seeds": row["seeds"],
            "wrong answers": f"{row['wrong']} of {row['sequences']}",
            "another pair's digit (%)": f"{row['stored_percent']:.1f}",
            "if spread over the nine wrong digits (%)": (
                f"{row['chance_percent']:.1f}"
            ),
            "error by queried pair, first pair first (%)": " ".join(
                f"{error:.2f}" for error in row["error_by_pair_percent"]
            ),
            "largest distance (binomial SE)": f"{row['largest_distance']:.2f}",
            "trend z": f"{row['trend_z']:+.2f}",
        }
        for row in summary
    ]
    text = [
        "# Where the capacity runs' wrong answers come from",
        "",
        "Each (model, K) of [capacity.md](capacity.md) whose runs recorded "
        "test errors, its seeds pooled, on all its test sequences "
        "(docs/method.md, section 6). Under the hypothesis that the error "
        "does not depend on the queried pair, the largest distance of a "
        "pair's error from the (model, K)'s, in binomial standard errors, "
        "and the Cochran-Armitage trend z (positive when newer pairs err "
        "more) are each about standard normal "
        "(`fastweights_study.analysis.queried_pair_effects`).",
        "",
    ]
    if summary:
        pairs = sum(row["num_pairs"] for row in summary)
        text += [
            _runs_markdown(lines, columns).rstrip("\n"),
            "",
            f"Bounds at 5 % (Bonferroni, `analysis.bonferroni_bound`): "
            f"{analysis.bonferroni_bound(pairs):.2f} for the largest "
            f"distance over the {pairs} pairs listed, "
            f"{analysis.bonferroni_bound(len(summary)):.2f} for the largest "
            f"|trend z| over the {len(summary)} (model, K) listed.",
        ]
    else:
        text.append("No run recorded a test error above 0 %.")
    if command:
        text += ["", f"Written by `{command}`."]
    return "\n".join(text) + "\n"
