"""Table 1 at convergence: every cell of Table 1 (the delta rule's row
included) trained from the learning rate its 100-epoch search chose, with
Keras's plateau schedule and early stopping on validation accuracy
(`keras_fastweights.training.schedule_callbacks`), seeds 0, 1 and 2, one
search per cell in `results/convergence_search/<series>_<units>`.
`write_convergence` writes `table1_convergence.csv`,
`table1_convergence_runs.csv` and `table1_convergence.md`, the last beside
the 100-epoch table, the paper's values and the LSTM at R = 100 trained at
its constant rate for as many epochs (the budget alone)."""

import os
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from fastweights_study import analysis
from fastweights_study import tuning
from fastweights_study.reporting import plateau as plateau_report
from fastweights_study.reporting.common import DELTA_SERIES
from fastweights_study.reporting.common import SERIES_NAMES
from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import mean_and_std
from fastweights_study.reporting.common import read_csv
from fastweights_study.reporting.common import runs_markdown
from fastweights_study.reporting.common import series
from fastweights_study.reporting.common import write_csv
from fastweights_study.reporting.table1 import PAPER_TABLE1
from fastweights_study.reporting.table1 import comparisons_markdown
from keras_fastweights import training

CONVERGENCE_FILENAMES = (
    "table1_convergence.csv",
    "table1_convergence_runs.csv",
    "table1_convergence.md",
    # The budget alone (`CONTRAST` at its constant rate): its runs so far.
    "table1_convergence_contrast.csv",
)
# The series in the order of the table's rows.
SERIES = ("fast_weights", DELTA_SERIES, "lstm", "associative_lstm", "irnn")
UNITS = (20, 50, 100)
SEEDS = (0, 1, 2)
# Table 1's pairs a sequence.
NUM_PAIRS = 4
# The cells' searches, named by series and units, as tuning/reproduce.sh
# runs them; and the constant-rate contrast.
SEARCH_NAMES = {DELTA_SERIES: "delta_rule"}
CONTRAST = ("lstm", 100)

RUN_COLUMNS = (
    "series",
    "units",
    "learning_rate",
    "seed",
    "epochs",
    "reason",
    "rate_reductions",
    "best_epoch",
    "train_error_percent",
    "val_error_percent",
    "test_error_percent",
    "seconds",
    "trial_id",
    "cpu",
    "versions",
)
CELL_COLUMNS = (
    "series",
    "units",
    "learning_rate",
    "seeds",
    "test_error_mean",
    "test_error_std",
    "test_error_min",
    "test_error_max",
    "train_error_mean",
    "train_error_min",
    "train_error_max",
    "at_zero",
    "best_seed",
    "stopped_at_max_epochs",
    "fixed_budget_mean",
    "paper",
    "welch_p_fast_weights",
    "on_plateau",
)


def search_directory(root, series_name: str, units: int) -> str:
    """The search of a cell at convergence under `root`."""
    name = SEARCH_NAMES.get(series_name, series_name)
    return os.path.join(root, f"{name}_{units}")


def stopped_runs(search: Mapping) -> list[dict]:
    """A search's runs (`tuning.run_rows`), each labelled with its series,
    how it ended (`training.stopping`: the reason, the epochs after which
    the rate fell, as text) and its error (%) on the training sequences at
    its best epoch (as `fit` measured it during that epoch)."""
    max_epochs = search["settings"]["epochs"]
    rows = []
    for run in search["runs"]:
        history = search["histories"][run["trial_id"]]
        if "learning_rate" in history:
            ended = training.stopping(history, max_epochs)
            reason = ended["reason"]
            cuts = " ".join(map(str, ended["rate_reductions"]))
        else:  # The constant rate: every epoch of the budget.
            reason, cuts = "max_epochs", ""
        run = dict(run)
        name = series(run)
        run.pop("update_rule", None)  # in the series
        rows.append(
            {
                **run,
                "series": name,
                "model": name,
                "reason": reason,
                "rate_reductions": cuts,
                "train_error_percent": round(
                    100 * (1 - history["accuracy"][run["best_epoch"] - 1]), 3
                ),
            }
        )
    return rows


def cell_rows(runs: Sequence[Mapping], fixed_budget: Mapping) -> list[dict]:
    """One row per cell with runs (`CELL_COLUMNS`), in the order of `SERIES`
    then `UNITS`: the seeds' test errors at the cell's rate, the range of
    their training errors at the best epoch, how many runs are at 0.00 %,
    the best seed (on test error, the lowest seed of a tie), how many
    stopped at the most epochs, beside the 100-epoch
    table's mean (`fixed_budget`, by (series, units)) and the paper's;
    Welch's p of fast weights against the cell at the same units, and how
    many of its runs stopped on the key-blind plateau
    (`reporting.plateau.on_plateau`)."""
    rows = []
    for name in SERIES:
        for units in UNITS:
            found = sorted(
                (r for r in runs if (r["series"], r["units"]) == (name, units)),
                key=lambda r: r["seed"],
            )
            if not found:
                continue
            errors = np.array([r["test_error_percent"] for r in found])
            best = min(
                found, key=lambda r: (r["test_error_percent"], r["seed"])
            )
            rows.append(
                {
                    "series": name,
                    "model": name,
                    "units": units,
                    "learning_rate": found[0]["learning_rate"],
                    "seeds": " ".join(str(r["seed"]) for r in found),
                    **tuning.error_summary(found),
                    "train_error_mean": round(
                        float(
                            np.mean([r["train_error_percent"] for r in found])
                        ),
                        4,
                    ),
                    "train_error_min": min(
                        r["train_error_percent"] for r in found
                    ),
                    "train_error_max": max(
                        r["train_error_percent"] for r in found
                    ),
                    "at_zero": int(np.sum(errors == 0)),
                    "best_seed": best["seed"],
                    "stopped_at_max_epochs": sum(
                        r["reason"] == "max_epochs" for r in found
                    ),
                    "fixed_budget_mean": fixed_budget.get((name, units)),
                    "paper": PAPER_TABLE1.get((name, units)),
                    "welch_p_fast_weights": None,
                    "on_plateau": sum(
                        plateau_report.on_plateau(r, NUM_PAIRS) for r in found
                    ),
                    "errors": errors,
                }
            )
    # Welch's p of fast weights against each other cell at the same R, where
    # both have two seeds or more.
    reference = {
        r["units"]: r["errors"] for r in rows if r["series"] == SERIES[0]
    }
    for row in rows:
        ours = reference.get(row["units"])
        if row["series"] != SERIES[0] and ours is not None:
            if min(len(ours), len(row["errors"])) > 1:
                p = analysis.welch_test(list(ours), list(row["errors"]))["p"]
                row["welch_p_fast_weights"] = float(f"{p:.2g}")
    for row in rows:
        del row["errors"]
    return rows


# A training error (%) at the best epoch at or below this for every seed
# (100 of the 100,000 training sequences): the cell fits its training set.
FITS_TRAINING = 0.1


def gap_closed(cell: Mapping) -> str:
    """The share of the gap between the 100-epoch mean and the paper's
    value that training to convergence closed: `"at the paper"` where the
    cell's mean rounds to the paper's value, `"below the paper"` where it
    is lower (the paper's failed baselines), `"none"` where it is no lower
    than at 100 epochs, `"–"` where the paper has no value."""
    mean, fixed, paper = (
        cell["test_error_mean"],
        cell["fixed_budget_mean"],
        cell["paper"],
    )
    if paper is None or fixed is None:
        return "–"
    if round(mean, 2) == round(paper, 2):
        return "at the paper"
    if mean < paper:
        return "below the paper"
    if fixed <= mean:
        return "none"
    return f"{(fixed - mean) / (fixed - paper):.0%}"


def what_is_left(cell: Mapping) -> str:
    """What limits a cell at convergence, read from its training error at
    the best epoch: `"generalisation"` where every seed fits its training
    sequences (more epochs cannot close what is left), `"learning"` where
    the training error is at least half the test error, and `"mostly
    generalisation"` otherwise; `"nothing"` where every seed is at 0.00 %."""
    if cell["test_error_max"] == 0:
        return "nothing"
    if cell["train_error_max"] <= FITS_TRAINING:
        return "generalisation"
    if cell["train_error_mean"] >= 0.5 * cell["test_error_mean"]:
        return "learning"
    return "mostly generalisation"


def gaps_reading(cells: Sequence[Mapping]) -> str | None:
    """Which gaps to the paper training to convergence closed, over the
    finished cells whose 100-epoch mean was above the paper's value (the
    paper's failed baselines, below which every cell is, aside): those
    closed, those where what is left is generalisation (more epochs cannot
    close it), learning, or mostly generalisation (`what_is_left`), each
    with the share closed (`gap_closed`) and the seeds' training and test
    errors (a cell that went below the paper's value counts as closed);
    `None` until a finished cell has a gap."""
    groups = {}
    for units in UNITS:
        for cell in finished_at(cells, units):
            fixed, paper = cell["fixed_budget_mean"], cell["paper"]
            if paper is None or fixed is None or round(fixed, 2) <= paper:
                continue
            closed = gap_closed(cell)
            series = SERIES_NAMES.get(cell["series"], cell["series"])
            name = f"{series} at R = {units}"
            if closed in ("at the paper", "below the paper"):
                groups.setdefault("closed", []).append(
                    f"{name} ({cell['test_error_mean']:.2f} against "
                    f"{paper:.2f})"
                )
                continue
            groups.setdefault(what_is_left(cell), []).append(
                f"{name} ({closed} closed; training "
                f"{cell['train_error_min']:.2f}–{cell['train_error_max']:.2f}, "
                f"test {cell['test_error_min']:.2f}–"
                f"{cell['test_error_max']:.2f} %)"
            )
    if not groups:
        return None
    headings = {
        "closed": "closed",
        "generalisation": "what is left is generalisation, every seed "
        "fitting its training sequences",
        "learning": "what is left is learning, the seeds not fitting their "
        "training sequences",
        "mostly generalisation": "what is left is mostly generalisation",
    }
    return "; ".join(
        f"{headings[key]}: {', '.join(groups[key])}"
        for key in headings
        if key in groups
    )


def contrast_reading(
    contrast: Sequence[Mapping], cells: Sequence[Mapping]
) -> str:
    """The budget alone: `CONTRAST`'s runs at its constant rate (their
    mean, and each seed's error and best epoch), beside the same cell with
    the plateau schedule (`cells`) and at 100 epochs."""
    kind, units = CONTRAST
    summary = tuning.error_summary(contrast)
    each = "; ".join(
        f"seed {r['seed']}: {r['test_error_percent']:.2f} % at epoch "
        f"{r['best_epoch']}"
        for r in contrast
    )
    text = (
        f"**The budget alone**: the {SERIES_NAMES[kind]} at R = {units} at "
        f"its constant rate ({contrast[0]['learning_rate']:g}) for "
        f"{max(r['epochs'] for r in contrast)} epochs, the best epoch on "
        "validation kept: "
        + mean_and_std(summary["test_error_mean"], summary["test_error_std"])
        + f" % ({each})"
    )
    cell = next(
        (c for c in cells if (c["series"], c["units"]) == CONTRAST), None
    )
    if cell is not None:
        text += (
            "; with the plateau schedule "
            + mean_and_std(cell["test_error_mean"], cell["test_error_std"])
            + f" %, at 100 epochs {cell['fixed_budget_mean']:.2f} %"
        )
    return text + "."


def finished_at(cells: Sequence[Mapping], units: int) -> list[Mapping]:
    """The cells at `units` that have every seed of `SEEDS`."""
    return [
        c
        for c in cells
        if c["units"] == units and len(str(c["seeds"]).split()) == len(SEEDS)
    ]


def ordering(cells: Sequence[Mapping], units: int) -> str | None:
    """The finished cells (every seed of `SEEDS`) at `units`, lowest mean
    test error first, beside the paper's order of the same models; `None`
    with fewer than two finished."""
    finished = sorted(
        finished_at(cells, units), key=lambda c: c["test_error_mean"]
    )
    if len(finished) < 2:
        return None
    ours = ", ".join(
        f"{SERIES_NAMES.get(c['series'], c['series'])} "
        f"{c['test_error_mean']:.2f}"
        for c in finished
    )
    papers = sorted(
        (c["paper"], SERIES_NAMES.get(c["series"], c["series"]))
        for c in finished
        if c["paper"] is not None
    )
    text = f"R = {units}: {ours}"
    if len(papers) > 1:
        text += "; the paper's: " + ", ".join(
            f"{name} {value:.2f}" for value, name in papers
        )
    return text + "."


def against_the_paper(cells: Sequence[Mapping], units: int) -> str | None:
    """Whether the paper's order of fast weights and each other finished
    cell at `units` holds at convergence: the two means, Welch's p and the
    paper's two values; `None` until fast weights and another cell with
    a paper value have every seed."""
    finished = {c["series"]: c for c in finished_at(cells, units)}
    ours = finished.get(SERIES[0])
    if ours is None or ours["paper"] is None:
        return None
    mine, verdicts = ours["test_error_mean"], []
    for name in SERIES[1:]:
        cell = finished.get(name)
        if cell is None or cell["paper"] is None:
            continue
        theirs = cell["test_error_mean"]
        if round(ours["paper"], 2) == round(cell["paper"], 2):
            verdict = "level in the paper"
        elif round(mine, 2) == round(theirs, 2):
            verdict = "level here, not in the paper"
        elif (ours["paper"] < cell["paper"]) == (mine < theirs):
            verdict = "the paper's order"
        else:
            verdict = "the paper's order reversed"
        verdicts.append(
            f"the {SERIES_NAMES.get(name, name)} {theirs:.2f} % (Welch p = "
            f"{cell['welch_p_fast_weights']:g}): {verdict} "
            f"({ours['paper']:.2f} against {cell['paper']:.2f})"
        )
    if not verdicts:
        return None
    verdicts = "; ".join(verdicts)
    return f"R = {units}: fast weights {mine:.2f} %; {verdicts}."


def fixed_budget_means(*paths) -> dict:
    """The 100-epoch tables' means by (series, units), from their
    `table1.csv` files (Table 1's and the delta rule's)."""
    means = {}
    for path in paths:
        if os.path.exists(path):
            for row in read_csv(path):
                means[(series(row), row["units"])] = row["test_error_mean"]
    return means


def convergence_markdown(
    cells: Sequence[Mapping],
    runs: Sequence[Mapping],
    contrast: Sequence[Mapping] = (),
    max_epochs: int = training.MAX_EPOCHS,
) -> str:
    """The Markdown page: the cells, the comparisons of fast weights with
    each model, the constant-rate contrast and every run."""
    planned = len(SERIES) * len(UNITS) * len(SEEDS)
    plateau = training.PLATEAU
    lines = [
        "# Table 1 at convergence",
        "",
        f"Test error (%) on associative retrieval (K = {NUM_PAIRS}), "
        f"{len(runs)} of "
        f"{planned} runs finished. Each cell trains from the learning rate "
        "its 100-epoch search chose on validation (that protocol's choice "
        "stays the choice), with Keras's `ReduceLROnPlateau` on validation "
        f"accuracy (factor {plateau['factor']}, patience "
        f"{plateau['patience']}, down to {plateau['min_lr']:g}) and "
        f"`EarlyStopping` (patience {training.STOP_PATIENCE}), at most "
        f"{max_epochs} epochs, the best epoch on validation kept; mean ± "
        "standard deviation over the seeds listed. Beside it: the "
        "100-epoch table's mean at a constant rate, and the paper's value. "
        "The training error is the range over the seeds of the error on the "
        "training sequences at the best epoch.",
        "",
        "| Model | R | rate | seeds | at convergence | min–max | training "
        "error | runs at 0.00 % | best seed | 100 epochs | paper | stopped "
        "at (epoch) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for cell in cells:
        stops = ", ".join(
            f"{r['epochs']}" + (" (max)" if r["reason"] == "max_epochs" else "")
            for r in cell_runs(cell, runs)
        )
        fixed, paper = cell["fixed_budget_mean"], cell["paper"]
        lines.append(
            f"| {SERIES_NAMES.get(cell['series'], cell['series'])} "
            f"| {cell['units']} | {cell['learning_rate']:g} | {cell['seeds']} "
            f"| {mean_and_std(cell['test_error_mean'], cell['test_error_std'])}"
            f" | {cell['test_error_min']:.2f}–{cell['test_error_max']:.2f} "
            f"| {cell['train_error_min']:.2f}–{cell['train_error_max']:.2f} "
            f"| {cell['at_zero']} of {len(cell['seeds'].split())} "
            f"| {cell['best_seed']} "
            f"| {'–' if fixed is None else f'{fixed:.2f}'} "
            f"| {'–' if paper is None else f'{paper:.2f}'} | {stops} |"
        )
    unconverged = [
        cell
        for cell in cells
        if cell["stopped_at_max_epochs"] == len(cell["seeds"].split())
    ]
    lines += [""]
    if unconverged:
        names = ", ".join(
            f"{SERIES_NAMES.get(c['series'], c['series'])} at R = {c['units']}"
            for c in unconverged
        )
        lines += [
            f"Not converged (every seed stopped at {max_epochs} epochs): "
            f"{names}.",
            "",
        ]
    stuck = [r for r in runs if plateau_report.on_plateau(r, NUM_PAIRS)]
    if stuck:
        key_blind = plateau_report.key_blind_error(NUM_PAIRS)
        lines += [
            "Stopped on the key-blind plateau (its best validation error "
            f"within {plateau_report.PLATEAU_MARGIN:g} points of the "
            f"{key_blind:.2f} % of the best answer "
            "that ignores the key: it never used the key): "
            + "; ".join(
                f"{SERIES_NAMES.get(r['series'], r['series'])} at R = "
                f"{r['units']}, seed {r['seed']}, best epoch "
                f"{r['best_epoch']}, stopped at {r['epochs']}"
                for r in stuck
            )
            + ". Early stopping ends a run that has not improved for "
            f"{training.STOP_PATIENCE} epochs, on the plateau too, where "
            "the 100-epoch protocol let it go on.",
            "",
        ]
    lines += [
        "## Fast weights against each model",
        "",
        "Mean and range of the seeds' test errors (%) and Welch's p.",
        "",
        comparisons_markdown(cells, runs).rstrip("\n"),
        "",
    ]
    if contrast:
        summary = tuning.error_summary(contrast)
        kind, units = CONTRAST
        lines += [
            "## The budget alone",
            "",
            f"{SERIES_NAMES[kind]} at R = {units} at its constant rate "
            f"({contrast[0]['learning_rate']:g}) for "
            f"{contrast[0]['epochs']} epochs, the best epoch on validation "
            "kept: "
            + mean_and_std(
                summary["test_error_mean"], summary["test_error_std"]
            )
            + " % over seeds "
            + " ".join(str(r["seed"]) for r in contrast)
            + ".",
            "",
            runs_markdown(
                contrast,
                ["seed", "epochs", "best_epoch", "test_error_percent"],
            ).rstrip("\n"),
            "",
        ]
    lines += [
        "## Runs",
        "",
        runs_markdown(
            runs,
            [
                column
                for column in RUN_COLUMNS[:11]
                if column not in ("val_error_percent", "seconds")
            ],
        ).rstrip("\n"),
        "",
    ]
    return "\n".join(lines)


def load_runs(root) -> list[dict]:
    """The finished runs of every cell's search under `root` (a cell not
    begun yet is skipped), in the order of `SERIES` and `UNITS`."""
    runs = []
    for name in SERIES:
        for units in UNITS:
            directory = search_directory(root, name, units)
            if os.path.isdir(os.path.join(directory, tuning.PROJECT_NAME)):
                runs += stopped_runs(tuning.load_search(directory))
    return runs


def write_convergence(
    root,
    output_dir,
    fixed_budget_tables: Sequence = (),
    contrast_directory=None,
) -> list[dict]:
    """Writes `CONVERGENCE_FILENAMES` to `output_dir` from the searches
    under `root`; returns the cells."""
    runs = load_runs(root)
    cells = cell_rows(runs, fixed_budget_means(*fixed_budget_tables))
    contrast = []
    if contrast_directory and os.path.isdir(
        os.path.join(contrast_directory, tuning.PROJECT_NAME)
    ):
        contrast = stopped_runs(tuning.load_search(contrast_directory))
    csv_name, runs_name, md_name, contrast_name = CONVERGENCE_FILENAMES
    write_csv(cells, os.path.join(output_dir, csv_name), CELL_COLUMNS)
    write_csv(runs, os.path.join(output_dir, runs_name), RUN_COLUMNS)
    write_csv(contrast, os.path.join(output_dir, contrast_name), RUN_COLUMNS)
    with open(os.path.join(output_dir, md_name), "w") as file:
        file.write(convergence_markdown(cells, runs, contrast))
    return cells
