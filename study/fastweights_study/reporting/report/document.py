"""The report's template machinery: `render` fills the template's
`{{name}}` placeholders, `first_difference` is `--check`'s comparison of the
committed report with the rendered one, and `later_section` renders the
sections of experiments whose records land later (`LATER`)."""

import itertools
import os
import re
from collections.abc import Mapping

from fastweights_study.reporting.common import read_csv

TEMPLATE = os.path.join("docs", "report.template.md")
REPORT = os.path.join("docs", "report.md")
PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
NOTICE = (
    "<!-- Written by `python tuning/write_report.py` from "
    "docs/report.template.md and the records in results/: edit the "
    "template, not this file. -->\n"
)
# Experiments whose records land later: the CSV a section renders, the
# page beside it, and what the section says until the CSV exists.
LATER = {
    "convergence": (
        "table1_convergence.csv",
        "table1_convergence.md",
        "**Running.** Table 1 again, each run trained until its validation "
        "accuracy stops improving (Keras's `ReduceLROnPlateau` and "
        "`EarlyStopping` on validation accuracy), to tell the budget's part "
        "in Table 1 from the models'. Its table is rendered here from "
        "`results/table1_convergence.csv` once its runs have finished.",
    ),
    "mqar": (
        "mqar.csv",
        "mqar.md",
        "**Running.** Fast weights, the delta rule, the LSTM and attention "
        "on Zoology's multi-query associative recall "
        "(`keras_fastweights.datasets.mqar`): accuracy against the size of "
        "the recurrent state. Its table is rendered here from "
        "`results/mqar.csv` once its runs have finished.",
    ),
}


def render(template: str, values: Mapping[str, object]) -> str:
    """`template` with each `{{name}}` replaced by `values[name]`, the
    template's leading comment (for its writers) by `NOTICE`.

    Raises:
        KeyError: naming every placeholder that `values` lacks.
    """
    if template.startswith("<!--"):
        template = template[template.index("-->") + len("-->") :].lstrip("\n")
    missing = sorted(
        {name for name in PLACEHOLDER.findall(template) if name not in values}
    )
    if missing:
        raise KeyError(
            "The template names values the records do not give: "
            + ", ".join(missing)
        )
    return NOTICE + PLACEHOLDER.sub(
        lambda match: str(values[match.group(1)]), template
    )


def first_difference(committed: str, rendered: str) -> str | None:
    """Where the committed report differs from the rendered one: its first
    differing line, with both versions, or None if they are the same."""
    ours, theirs = committed.splitlines(), rendered.splitlines()
    for number, (line, expected) in enumerate(zip(ours, theirs), 1):
        if line != expected:
            return (
                f"{REPORT}:{number}: committed {line!r}, the records give "
                f"{expected!r}"
            )
    if len(ours) != len(theirs):
        number = min(len(ours), len(theirs)) + 1
        return (
            f"{REPORT}:{number}: the committed report has {len(ours)} lines, "
            f"the records give {len(theirs)}"
        )
    if committed != rendered:
        return f"{REPORT}: differs from the records' in its line endings"
    return None


def later_section(root: str | os.PathLike, name: str) -> str:
    """The section of an experiment of `LATER`: that it is running, until
    its CSV exists under `root/results`; then what its rows say
    (`convergence_text`, `mqar_text`)."""
    filename, page, running = LATER[name]
    path = os.path.join(root, "results", filename)
    if not os.path.exists(path):
        return running
    rows = read_csv(path)
    source = f"`results/{filename}`"
    if os.path.exists(os.path.join(root, "results", page)):
        source = f"[{page}](../results/{page}), {source}"
    if name == "mqar":
        return mqar_text(rows, source)
    from fastweights_study.reporting.convergence import CONVERGENCE_FILENAMES

    contrast = os.path.join(root, "results", CONVERGENCE_FILENAMES[-1])
    contrast = read_csv(contrast) if os.path.exists(contrast) else []
    return convergence_text(rows, source, contrast)


def convergence_text(rows, source: str, contrast=()) -> str:
    """Table 1 at convergence as far as its cells have finished: each
    cell's seeds at convergence beside the 100-epoch mean and the paper's
    value (`reporting.convergence.CELL_COLUMNS`); with the `contrast`'s
    runs (the budget alone, `reporting.convergence.contrast_reading`)."""
    from fastweights_study.reporting.common import SERIES_NAMES
    from fastweights_study.reporting.common import mean_and_std
    from fastweights_study.reporting.convergence import FITS_TRAINING
    from fastweights_study.reporting.convergence import SEEDS
    from fastweights_study.reporting.convergence import SERIES
    from fastweights_study.reporting.convergence import UNITS
    from fastweights_study.reporting.convergence import against_the_paper
    from fastweights_study.reporting.convergence import contrast_reading
    from fastweights_study.reporting.convergence import gap_closed
    from fastweights_study.reporting.convergence import gaps_reading
    from fastweights_study.reporting.convergence import ordering
    from fastweights_study.reporting.convergence import what_is_left
    from fastweights_study.reporting.plateau import PLATEAU_MARGIN
    from keras_fastweights import training

    def number(value):
        return "–" if value is None else f"{value:.2f}"

    missing = len(SEEDS) * len(SERIES) * len(UNITS) - sum(
        len(str(row["seeds"]).split()) for row in rows
    )
    heading = f"From {source}."
    if missing:
        heading = (
            f"**Running**: cells with runs so far, {len(rows)} of "
            f"{len(SERIES) * len(UNITS)}, from {source}."
        )
    lines = [
        f"{heading} Test error (%), "
        "mean ± sd over the seeds listed, each run trained from its "
        "cell's chosen rate until its validation accuracy stopped "
        "improving (at most 300 epochs), beside the 100-epoch table's mean "
        "and the paper's value. *Gap closed*: the share of the gap between "
        "the 100-epoch mean and the paper's value that training to "
        "convergence closed. *Training error*: the range over the seeds of "
        "the error on the training sequences at the best epoch. *Left*: "
        f"generalisation where every seed fits its training sequences (at "
        f"most {FITS_TRAINING} %), which more epochs cannot close; learning "
        "where the training error is at least half the test error; mostly "
        "generalisation otherwise; nothing where every seed is at 0.00 %.",
        "",
        "| Model | R | seeds | at convergence | min–max | 100 epochs "
        "| paper | gap closed | training error | left | runs at 0.00 % "
        "| stopped at 300 epochs |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    found = {(row["series"], int(row["units"])): row for row in rows}
    for series, units in itertools.product(SERIES, UNITS):
        row = found.get((series, units))
        if row is None:  # every cell has its line, its runs or not
            lines.append(
                f"| {SERIES_NAMES.get(series, series)} | {units} | none yet "
                + "| … " * 9
                + "|"
            )
            continue
        seeds = str(row["seeds"]).split()
        finished = len(seeds) == len(SEEDS)
        lines.append(
            f"| {SERIES_NAMES.get(row['series'], row['series'])} "
            f"| {row['units']} | {' '.join(seeds)} "
            f"| {mean_and_std(row['test_error_mean'], row['test_error_std'])} "
            f"| {row['test_error_min']:.2f}–{row['test_error_max']:.2f} "
            f"| {number(row['fixed_budget_mean'])} | {number(row['paper'])} "
            f"| {gap_closed(row) if finished else '…'} "
            f"| {row['train_error_min']:.2f}–{row['train_error_max']:.2f} "
            f"| {what_is_left(row) if finished else '…'} "
            f"| {row['at_zero']} of {len(seeds)} "
            f"| {row['stopped_at_max_epochs']} of {len(seeds)} |"
        )
    stuck = [row for row in rows if row["on_plateau"]]
    if stuck:
        lines += [
            "",
            "On the key-blind plateau when early stopping ended them (their "
            f"best validation error within {PLATEAU_MARGIN:g} points of it, "
            "§3.6: they never used the key): "
            + "; ".join(
                f"{SERIES_NAMES.get(row['series'], row['series'])} at R = "
                f"{row['units']}, {row['on_plateau']} of "
                f"{len(str(row['seeds']).split())} seeds"
                for row in stuck
            )
            + f". Early stopping ends a run {training.STOP_PATIENCE} epochs "
            "after its best, on the plateau too, where the 100-epoch protocol "
            "let it go on.",
        ]
    orders = [ordering(rows, units) for units in UNITS]
    if any(orders):
        lines += [
            "",
            "**The order at convergence** (finished cells, lowest mean first):",
            "",
        ]
        lines += [f"- {order}" for order in orders if order]
    verdicts = [against_the_paper(rows, units) for units in UNITS]
    if any(verdicts):
        lines += ["", "**Does the paper's order hold?**", ""]
        lines += [f"- {verdict}" for verdict in verdicts if verdict]
    gaps = gaps_reading(rows)
    if gaps:
        lines += [
            "",
            "**Which gaps to the paper close** (finished cells whose "
            f"100-epoch mean was above the paper's): {gaps}.",
        ]
    if contrast:
        lines += ["", contrast_reading(contrast, rows)]
    if missing:
        lines += [
            "",
            f"{missing} runs are still to come; the order of a row of Table "
            "1 is read here only from cells with every seed.",
        ]
    return "\n".join(lines)


def mqar_text(rows, source: str) -> str:
    """The MQAR sweep as far as its cells have runs: what each cell says
    (`reporting.mqar.mqar_reading`) and the two figures; the best run of
    each (cell, mixer, width) is the table of `source`."""
    from fastweights_study.mqar import CPU_CELLS
    from fastweights_study.mqar import CPU_WIDTHS
    from fastweights_study.mqar import LEARNING_RATES
    from fastweights_study.reporting.mqar import mqar_reading
    from keras_fastweights.models import MQAR_MIXERS

    lines = [f"From {source}:", ""]
    tried = {row["rates_tried"] for row in rows}
    cells = {(row["sequence_length"], row["num_pairs"]) for row in rows}
    points = len(MQAR_MIXERS) * sum(map(len, CPU_WIDTHS.values()))
    if min(tried) < len(LEARNING_RATES) or len(rows) < points:
        lines[0] = (
            f"**Running**: from {source}, {len(cells)} of the "
            f"{len(CPU_CELLS)} cells that a CPU runs begun, "
            f"{len(rows)} (cell, mixer, width) points with "
            f"{min(tried)} to {max(tried)} of the {len(LEARNING_RATES)} "
            "learning rates tried each. What a point says may change while "
            "its other rates run."
        )
    lines += [f"- {sentence}" for sentence in mqar_reading(rows)]
    lines += [""]
    lines += [
        "![MQAR accuracy against the state size](../results/mqar.png)",
        "",
        "![MQAR validation accuracy by epoch](../results/mqar_curves.png)",
    ]
    return "\n".join(lines)
