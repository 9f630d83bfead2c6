"""The capacity curve: the test error against the number K of pairs, beside
the key-blind error (`capacity_rows`, `write_capacity`), and where its
runs' wrong answers come from (`capacity_error_summary`)."""

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from fastweights_study import analysis
from fastweights_study.reporting.common import DELTA_SERIES
from fastweights_study.reporting.common import SERIES_NAMES
from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import mean_and_std
from fastweights_study.reporting.common import runs_markdown
from fastweights_study.reporting.common import series
from fastweights_study.reporting.common import table1_markdown
from fastweights_study.reporting.common import write_csv
from fastweights_study.reporting.plateau import PLATEAU_MARGIN
from fastweights_study.reporting.plateau import key_blind_error
from fastweights_study.reporting.plateau import on_plateau
from fastweights_study.reporting.plateau import plateau_exit_epochs

# The capacity curve's files (`write_capacity`); its figure is
# `capacity.png` (`plotting.plot_capacity`).
CAPACITY_FILENAMES = ("capacity.csv", "capacity.md")
# The searches of the capacity curve (tuning/reproduce.sh): K = 4 is Table
# 1's, each other K has its own; the delta rule's the same in delta_search.
# K = 16 extends the curve beyond the 2 to 12 (run last).
CAPACITY_PAIRS = (2, 6, 8, 10, 12, 16)
CAPACITY_DIRECTORIES = (
    os.path.join("results", "table1_search"),
    *(
        os.path.join("results", "capacity_search", f"k{k}")
        for k in CAPACITY_PAIRS
    ),
    os.path.join("results", "delta_search", "table1"),
    *(os.path.join("results", "delta_search", f"k{k}") for k in CAPACITY_PAIRS),
)


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
        was still improving when its budget ended. `runs` (not a column)
        holds the runs counted (`tuning.run_rows`), in the order of their
        seeds.

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
                "plateau_exit_epochs": plateau_exit_epochs(
                    counted, search["histories"], num_pairs
                ),
                "best_epochs": " ".join(
                    str(run["best_epoch"]) for run in counted
                ),
                "directory": str(search["directory"]),
                # Not a column: the runs counted, for the scripts that read
                # them again (tuning/capacity_errors.py).
                "runs": counted,
            }
    all_pairs = sorted({num_pairs for _, num_pairs in cells})
    return [
        cells[kind, num_pairs]
        for kind in _series_order(kinds)
        for num_pairs in all_pairs
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
    order = _series_order(kinds)
    return sorted(
        found,
        key=lambda run: (
            order.index(run["model"]),
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
            "summary": mean_and_std(
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
            runs_markdown(
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
        "([the report](../docs/report.md), §4.4). Under the hypothesis that "
        "the error does not depend on the queried pair, the largest distance "
        "of a "
        "pair's error from the (model, K)'s, in binomial standard errors, "
        "and the Cochran-Armitage trend z (positive when newer pairs err "
        "more) are each about standard normal "
        "(`fastweights_study.analysis.queried_pair_effects`).",
        "",
    ]
    if summary:
        pairs = sum(row["num_pairs"] for row in summary)
        text += [
            runs_markdown(lines, columns).rstrip("\n"),
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
