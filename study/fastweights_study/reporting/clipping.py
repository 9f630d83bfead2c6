"""Gradient clipping, measured: fast weights with the global gradient norm
clipped (a search with `--clipnorm`) beside the same cells unclipped
(Table 1's search, the ablation's), each under its own learning rate
chosen on validation (`clipping_rows`, `write_clipping`)."""

import os
from collections.abc import Mapping
from collections.abc import Sequence

from fastweights_study import analysis
from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import mean_and_std
from fastweights_study.reporting.common import write_csv
from fastweights_study.reporting.plateau import OUTCOME_COLUMNS
from fastweights_study.reporting.plateau import diverged
from fastweights_study.reporting.plateau import plateau_rule
from fastweights_study.reporting.plateau import run_outcomes

CLIPPING_FILENAMES = ("clipping.csv", "clipping.md")
# One row per (variant, R, clipnorm) cell (`clipping_rows`).
CLIPPING_COLUMNS = (
    "variant",
    "units",
    "clipnorm",
    "learning_rate",
    "choice",
    "rates_tried",
    "seeds",
    "test_errors",
    *OUTCOME_COLUMNS,
    "cell_runs",
    "cell_runs_diverged",
)


def clipping_rows(
    searches: Sequence[Mapping], model: str = "fast_weights"
) -> list[dict]:
    """One row per (variant, R, clipnorm) cell of `model` in `searches`
    whose (variant, R) a clipped search's grid plans, sorted so that a
    cell's clipped and unclipped rows are neighbours; where two searches
    have the same cell (Table 1's and the ablation's paper layer at one R),
    the first in `searches` gives it.

    Args:
        searches: Searches as `tuning.load_search` returns them, with and
            without a `clipnorm` axis (a search without one is unclipped:
            clipnorm 0), with or without variants (without: "paper").
        model: The model whose cells are compared.

    Returns:
        Rows with the keys of `CLIPPING_COLUMNS`: the cell's chosen (or,
        while it widens, best so far) learning rate and the test error
        over its seeds (`tuning.table_rows`; `test_errors` the seeds'
        own, in their order), `rates_tried` (the rates
        tried with seed 0, ascending), what its counted runs did
        (`plateau.run_outcomes`), and `cell_runs_diverged` of `cell_runs`:
        the runs at every rate and seed of the cell whose loss became
        NaN. A cell without a chosen rate is left out.
    """
    # Imported here: fastweights_study.tuning needs keras-tuner.
    from fastweights_study import tuning

    # The cells compared: those the clipped searches' grids plan.
    compared = {
        (variant, units)
        for search in searches
        if any(search["grid"].get("clipnorm", [0.0]))
        for variant in search["grid"].get("variant", ["paper"])
        for units in search["grid"]["units"]
    }
    rows, seen = [], set()
    for search in searches:
        grid, runs, histories = (
            search["grid"],
            search["runs"],
            search["histories"],
        )
        for row in tuning.table_rows(grid, runs):
            variant = row.get("variant", "paper")
            clipnorm = float(row.get("clipnorm") or 0.0)
            key = (variant, row["units"], clipnorm)
            if row["model"] != model or key[:2] not in compared or key in seen:
                continue
            seen.add(key)
            everything = [
                run
                for run in runs
                if run["model"] == model
                and run["units"] == row["units"]
                and run.get("variant", "paper") == variant
                and float(run.get("clipnorm") or 0.0) == clipnorm
            ]
            rates = sorted(
                {run["learning_rate"] for run in everything if run["seed"] == 0}
            )
            counted = cell_runs(row, runs)
            rows.append(
                {
                    **{key: row[key] for key in tuning.TABLE_COLUMNS[2:]},
                    "variant": variant,
                    "units": row["units"],
                    "clipnorm": clipnorm,
                    "rates_tried": " ".join(f"{rate:g}" for rate in rates),
                    "test_errors": " ".join(
                        f"{run['test_error_percent']:g}" for run in counted
                    ),
                    **run_outcomes(
                        counted, histories, search["settings"]["num_pairs"]
                    ),
                    "cell_runs": len(everything),
                    "cell_runs_diverged": sum(
                        diverged(histories[run["trial_id"]])
                        for run in everything
                    ),
                }
            )
    rows.sort(key=lambda row: (row["variant"], row["units"], row["clipnorm"]))
    return rows


def clipping_markdown(
    rows: Sequence[Mapping],
    num_pairs: int,
    command: str | None = None,
) -> str:
    """The comparison as Markdown: one line per cell of `clipping_rows`,
    and for each (variant, R) with both sides finished, Welch's p on the
    test errors of the counted seeds.

    Args:
        rows: As returned by `clipping_rows`.
        num_pairs: The task's K, for the plateau rule.
        command: The command that wrote it, shown at the end.
    """
    lines = [
        "# Gradient clipping: fast weights with and without\n",
        "Fast weights on the associative-retrieval task (K = "
        f"{num_pairs}), trained as in Table 1 (100 epochs, batch 128, Adam, "
        "the epoch best on validation kept), with the global gradient norm "
        "clipped (`--clipnorm`) or not (clipnorm 0). Each cell has its own "
        "learning rate, chosen on validation with seed 0 from a grid "
        "widened until the choice is interior (*rates tried*), then seeds "
        "1 and 2 at it; *(widening)* marks a cell whose grid is still "
        "growing, with its best rate so far. Test error (%): mean ± sample "
        "standard deviation over the seeds. *On the plateau*: runs whose "
        f"{plateau_rule(num_pairs)}; *left it at epoch*: each seed's first "
        "epoch below that line (– if never). *Diverged*: runs whose loss "
        "became NaN, among the counted runs and among every run of the "
        "cell (every rate and seed tried).\n",
        "| variant | R | clipnorm | learning rate | rates tried | seeds "
        "| test error (%) | min–max | on the plateau | left it at epoch "
        "| diverged | diverged, every run of the cell |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        clipnorm = f"{row['clipnorm']:g}" if row["clipnorm"] else "none"
        rate = f"{row['learning_rate']:g}"
        if row["choice"] == "widening":
            rate += " (widening)"
        lines.append(
            f"| {row['variant']} | {row['units']} | "
            f"{clipnorm} | {rate} | {row['rates_tried']} | "
            f"{row['seeds']} | "
            f"{mean_and_std(row['test_error_mean'], row['test_error_std'])} "
            f"| {row['test_error_min']:g}–{row['test_error_max']:g} | "
            f"{row['runs_on_plateau']} of {row['runs']} | "
            f"{row['plateau_exit_epochs']} | "
            f"{row['runs_diverged']} of {row['runs']} | "
            f"{row['cell_runs_diverged']} of {row['cell_runs']} |"
        )
    tests = []
    cells = {(r["variant"], r["units"], r["clipnorm"]): r for r in rows}
    for (variant, units, clipnorm), row in cells.items():
        unclipped = cells.get((variant, units, 0.0))
        if not clipnorm or unclipped is None:
            continue
        if "widening" in (row["choice"], unclipped["choice"]):
            continue
        a, b = (
            [float(e) for e in str(r["test_errors"]).split()]
            for r in (row, unclipped)
        )
        if len(a) < 2 or len(b) < 2:
            continue
        p = analysis.welch_test(a, b)["p"]
        tests.append(
            f"| {variant} | {units} | {clipnorm:g} | "
            f"{mean_and_std(row['test_error_mean'], row['test_error_std'])} "
            "| "
            + mean_and_std(
                unclipped["test_error_mean"], unclipped["test_error_std"]
            )
            + f" | {p:.2g} |"
        )
    if tests:
        lines += [
            "",
            "Clipped against unclipped, each at its chosen rate: Welch's "
            "two-sided p on the seeds' test errors (three seeds can "
            "support little)\n",
            "| variant | R | clipnorm | clipped | unclipped | Welch p |",
            "|---|---:|---:|---:|---:|---:|",
            *tests,
        ]
    text = "\n".join(lines) + "\n"
    if command:
        text += f"\nWritten by `{command}`.\n"
    return text


def write_clipping(
    searches: Sequence[Mapping],
    directory: str | os.PathLike,
    command: str | None = None,
) -> list[dict]:
    """Writes `clipping.csv` (`clipping_rows`, `CLIPPING_COLUMNS`) and
    `clipping.md` (`clipping_markdown`) into `directory`.

    Args:
        searches: As `clipping_rows` takes them, all at one K.
        directory: Where to write.
        command: The command that wrote them, for `clipping.md`.

    Returns:
        The rows written.

    Raises:
        ValueError: the searches are at different K.
    """
    pairs = {search["settings"]["num_pairs"] for search in searches}
    if len(pairs) != 1:
        raise ValueError(
            "The searches compared must share their number of pairs K. "
            f"Received K = {sorted(pairs)}"
        )
    rows = clipping_rows(searches)
    table_csv, table_md = (
        os.path.join(directory, name) for name in CLIPPING_FILENAMES
    )
    write_csv(rows, table_csv, CLIPPING_COLUMNS)
    with open(table_md, "w") as file:
        file.write(clipping_markdown(rows, pairs.pop(), command))
    return rows
