"""The values of the report's causal readings (§4.6): what a trained
model's answer needs from its memory, one run and every read cell, and the
slow runs after Table 1's budget and the longer one."""

import os

from fastweights_study.reporting import capacity as capacity_report
from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import read_csv
from fastweights_study.reporting.report.formatting import causal_reading
from fastweights_study.reporting.report.formatting import compact
from fastweights_study.reporting.report.formatting import markdown_table
from fastweights_study.reporting.report.formatting import results_path
from fastweights_study.reporting.report.formatting import span
from fastweights_study.reporting.report.formatting import words

# The run that results/memory_causal.csv reads: tuning/memory_causal.py's
# default --trial, Table 1's search's first trial.
CAUSAL_TRIAL = 0
# A run answers by the look-up when removing the queried digit's stored
# state costs it more than this much probability of the right answer.
LOOKUP_CHANGE = 0.5
# The causal readings that each table of §4.6 quotes, by what they removed
# and which column.
READING_COLUMNS = (
    ("nothing", "probability"),
    ("queried value", "change"),
    ("every state but the queried value", "probability"),
    ("every stored state", "probability"),
)


def _readings_of(root, runs, prefix) -> list[dict] | None:
    """The causal readings of `runs`, or None if one has not been read."""
    names = [f"{prefix}trial_{int(run['trial_id']):04d}" for run in runs]
    directory = results_path(root, "memory_causal_seeds")
    if not all(os.path.isdir(os.path.join(directory, n)) for n in names):
        return None
    return [causal_reading(root, name) for name in names]


def causal_values(root, values) -> dict:
    runs = read_csv(results_path(root, "table1_runs.csv"))
    one = read_csv(results_path(root, "memory_causal.csv"))
    by_role = {row["removed"]: row for row in one}
    (trial,) = [run for run in runs if run["trial_id"] == CAUSAL_TRIAL]
    answer, key = by_role["queried value"], by_role["queried key"]
    alone = by_role["every state but the queried value"]
    single = ("queried key", "other key", "other value", "first ?", "second ?")
    others = [by_role[role]["change"] for role in single]
    table4 = markdown_table(
        [
            "removed from the query step's memory",
            "sequences",
            "its attention weight",
            "p(right answer) after",
            "mean change",
            "standard error",
        ],
        "lrrrrr",
        (
            [
                row["removed"],
                row["sequences"],
                f"{row['attention']:.3f}",
                f"{row['probability']:.4f}",
                f"{row['change']:+.4f}",
                f"{row['standard_error']:.4f}",
            ]
            for row in one
            if row["removed"] != "nothing"
        ),
    )
    # Every fast-weights cell of Table 1 and of the capacity curve whose
    # runs have been read.
    cells = []
    for row in read_csv(results_path(root, "table1.csv")):
        if row["model"] == "fast_weights":
            cells.append(
                (
                    f"K = {values['num_pairs']}, R = {row['units']}",
                    row,
                    runs,
                    "",
                )
            )
    for k in capacity_report.CAPACITY_PAIRS:
        search = results_path(root, "capacity_search", f"k{k}")
        if not os.path.exists(os.path.join(search, "table1.csv")):
            continue
        search_runs = read_csv(os.path.join(search, "table1_runs.csv"))
        for row in read_csv(os.path.join(search, "table1.csv")):
            if row["model"] == "fast_weights":
                cells.append(
                    (f"K = {k}, R = {row['units']}", row, search_runs, f"k{k}_")
                )
    lines, changes = [], []
    for label, row, cell_source, prefix in cells:
        counted = cell_runs(row, cell_source)
        readings = _readings_of(root, counted, prefix)
        if readings is None:
            continue
        columns = [
            [reading[removed][column] for reading in readings]
            for removed, column in READING_COLUMNS
        ]
        changes += columns[1]
        lines.append(
            [
                label,
                compact(row["learning_rate"]),
                span([run["test_error_percent"] for run in counted]),
                *(span(c, "{:.3f}", " to ") for c in columns),
            ]
        )
    header = [
        "cell",
        "learning rate",
        "test error (%)",
        "p, whole memory",
        "change, queried digit's state removed",
        "p, only that state kept",
        "p, memory removed",
    ]
    # The first grid's fast weights at R = 100, after Table 1's budget and
    # after the longer one.
    slow_rate = float(values["slow.rate"])
    slow_runs = [
        run
        for run in runs
        if (run["model"], run["units"], run["learning_rate"])
        == ("fast_weights", 100, slow_rate)
    ]
    longer = read_csv(
        results_path(root, "longer_budget", "r100_search", "table1_runs.csv")
    )
    # The seeds that had not found the look-up after Table 1's budget,
    # read again after the longer one.
    readings = {
        epochs: {
            run["seed"]: [reading[r][c] for r, c in READING_COLUMNS]
            + [run["test_error_percent"]]
            for run, reading in zip(group, _readings_of(root, group, prefix))
        }
        for epochs, group, prefix in (
            ("before", slow_runs, ""),
            ("after", longer, "longer_r100_"),
        )
    }
    slow = [
        seed
        for seed, cells_of in readings["before"].items()
        if abs(cells_of[1]) < LOOKUP_CHANGE
    ]
    slow_values = {
        "slow.count": len(slow),
        "slow.no_memory_max": (
            f"{max(readings[e][s][3] for e in readings for s in slow):.2f}"
        ),
    }
    for epochs, by_seed in readings.items():
        slow_values[f"slow.{epochs}.errors"] = words(
            compact(by_seed[seed][-1]) for seed in slow
        )
        slow_values[f"slow.{epochs}.changes"] = words(
            f"{-by_seed[seed][1]:.2f}" for seed in slow
        )
    return {
        "causal.sequences": f"{by_role['nothing']['sequences']:,}",
        "causal.one.rate": compact(trial["learning_rate"]),
        "causal.one.error": compact(trial["test_error_percent"]),
        "causal.one.table": table4,
        "causal.one.answer_change": f"{-answer['change']:.2f}",
        "causal.one.other_change": f"{max(abs(c) for c in others):.3f}",
        "causal.one.alone": f"{alone['probability']:.4f}",
        "causal.one.key_attention": f"{key['attention']:.3f}",
        "causal.one.key_change": f"{-key['change']:.4f}",
        "causal.cells": markdown_table(header, "lrrrrrr", lines),
        "causal.change_range": span([-c for c in changes], "{:.2f}", " to "),
        **slow_values,
    }
