"""The MQAR sweep's results (`fastweights_study.mqar`): `write_mqar` writes
`mqar.csv` (per cell, mixer and width, the run of the learning rate best
on validation), `mqar_runs.csv` (every run), `mqar.md`, `mqar.png`
(test accuracy against the recurrent state's size, one panel per
(sequence length, pairs), one line per mixer: Zoology's Figure 2) and
`mqar_curves.png` (the validation accuracy of those runs by epoch: a
mixer that stays at the accuracy of guessing among the values in context
has copied the values without binding them to their keys)."""

import os
from collections.abc import Sequence

from fastweights_study import mqar
from fastweights_study import tuning
from fastweights_study.reporting.common import runs_markdown
from fastweights_study.reporting.common import write_csv
from keras_fastweights import models

MQAR_FILENAMES = (
    "mqar.csv",
    "mqar_runs.csv",
    "mqar.md",
    "mqar.png",
    "mqar_curves.png",
)
MIXER_NAMES = {
    "attention": "Attention (1 head)",
    "hebbian": "Fast weights (Hebbian)",
    "delta": "Fast weights (delta rule)",
    "lstm": "LSTM",
}
BEST_COLUMNS = (*mqar.RUN_COLUMNS[:-4], "rates_tried")


def load_runs(root) -> tuple[list[dict], list[dict], dict]:
    """The finished runs of every cell's search under `root`, in the order
    of `mqar.CELLS` (a cell not begun is skipped), the cells' settings, and
    the runs' histories by (sequence length, pairs, trial id)."""
    runs, cells, histories = [], [], {}
    for length, pairs in mqar.CELLS:
        directory = mqar.cell_directory(root, length, pairs)
        if not os.path.isdir(os.path.join(directory, tuning.PROJECT_NAME)):
            continue
        saved = tuning.load_settings(directory)
        search = mqar.make_search(directory, saved["grid"], saved["settings"])
        runs += mqar.run_rows(search, saved["settings"])
        cells.append(saved["settings"])
        for trial_id, history in tuning.trial_histories(search).items():
            histories[(length, pairs, trial_id)] = history
    return runs, cells, histories


def mqar_reading(best: Sequence[dict]) -> list[str]:
    """What each cell's runs say, one sentence a cell: the mixers that
    recall (test accuracy at least `mqar.STOP_ACCURACY` at some width),
    and the best accuracy of the others, marked where it is near the
    accuracy of guessing among the cell's K values in context (1 / K):
    such a mixer copies the values without binding them to their keys;
    below half of it, it has not learned even that."""
    sentences = []
    cells = dict.fromkeys((r["sequence_length"], r["num_pairs"]) for r in best)
    for length, pairs in cells:
        rows = [
            r
            for r in best
            if (r["sequence_length"], r["num_pairs"]) == (length, pairs)
        ]
        recall, others = [], []
        for mixer in models.MQAR_MIXERS:
            found = [r for r in rows if r["mixer"] == mixer]
            if not found:
                continue
            top = max(found, key=lambda r: (r["test_accuracy"], -r["d_model"]))
            name = MIXER_NAMES[mixer]
            if top["test_accuracy"] >= mqar.STOP_ACCURACY:
                widths = sorted(
                    r["d_model"]
                    for r in found
                    if r["test_accuracy"] >= mqar.STOP_ACCURACY
                )
                recall.append(f"{name} (d = {', '.join(map(str, widths))})")
            else:
                note = ""
                if top["test_accuracy"] < 0.5 / pairs:
                    note = ", below guessing"
                elif top["test_accuracy"] < 1.5 / pairs:
                    note = ", near guessing"
                others.append(
                    f"{name} {top['test_accuracy']:.2f} (d = "
                    f"{top['d_model']}{note})"
                )
        text = (
            f"T = {length}, K = {pairs} (guessing among the {pairs} values "
            f"in context: {1 / pairs:.2f}): "
            + (
                f"recall at {mqar.STOP_ACCURACY} by " + ", ".join(recall)
                if recall
                else f"no mixer reached {mqar.STOP_ACCURACY}"
            )
        )
        if others:
            text += "; the best of the others: " + ", ".join(others)
        sentences.append(text + ".")
    return sentences


def mqar_markdown(best: Sequence[dict], runs: Sequence[dict], cells) -> str:
    """The sweep as Markdown: what was scaled, the best run of each
    (cell, mixer, width), and every run."""
    lines = [
        "# MQAR (multi-query associative recall)",
        "",
        "Zoology's task (Arora et al., 2023) on this project's layers: two "
        "mixing blocks (pre-norm, residual, no MLP), one seed, the "
        "learning rate best on validation per (cell, mixer, width), a run "
        f"stopped once its validation accuracy reached {mqar.STOP_ACCURACY}. "
        "Accuracy counts the answers only. The state size is what a mixer "
        "keeps of the past per layer (attention's keys and values at that "
        "length, `d² + d` for fast weights, `2d` for the LSTM).",
        "",
        "Cells run (scaled from Zoology's 100,000 sequences, 64 epochs and "
        "8,192 tokens so that each value is an answer as often over a "
        "training as in Zoology's (64, 4), `fastweights_study.mqar`):",
        "",
    ]
    for cell in cells:
        lines.append(
            f"- T = {cell['sequence_length']}, K = {cell['num_pairs']}: "
            f"{cell['num_train']:,} training, {cell['num_val']:,} validation "
            f"and {cell['num_test']:,} test sequences, {cell['vocab_size']:,} "
            f"tokens, at most {cell['epochs']} epochs, batch "
            f"{cell['batch_size']}, "
            + ("random" if cell["random_non_queries"] else "zero")
            + " fillers"
        )
    columns = [
        "sequence_length",
        "num_pairs",
        "mixer",
        "d_model",
        "state_size",
        "learning_rate",
        "epochs",
        "best_epoch",
        "test_accuracy",
        "rates_tried",
    ]
    lines += ["", "## What the runs say", ""]
    lines += [f"- {sentence}" for sentence in mqar_reading(best)]
    lines += [
        "",
        "![accuracy against the state size](mqar.png)",
        "",
        "![validation accuracy by epoch](mqar_curves.png)",
        "",
        "## Best learning rate per cell",
        "",
        runs_markdown(best, columns).rstrip("\n"),
        "",
        "## Runs",
        "",
        runs_markdown(runs, columns[:-1]).rstrip("\n"),
        "",
    ]
    return "\n".join(lines)


def _cell_panels(best: Sequence[dict]):
    """A figure with one panel per (sequence length, pairs) of `best`:
    the figure, `pyplot`, and the panels with their cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = list(
        dict.fromkeys((r["sequence_length"], r["num_pairs"]) for r in best)
    )
    figure, axes = plt.subplots(
        1,
        max(len(cells), 1),
        figsize=(4.2 * max(len(cells), 1), 3.6),
        sharey=True,
        squeeze=False,
    )
    for axis, (length, pairs) in zip(axes[0], cells):
        axis.set_title(f"T = {length}, K = {pairs}")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
    return figure, plt, list(zip(axes[0], cells))


def _save(figure, plt, ylabel: str, path, legend="lower right") -> None:
    axes = figure.axes
    axes[0].set_ylabel(ylabel)
    # One legend for every panel's lines: a cell may lack some mixers.
    handles = {}
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    axes[-1].legend(handles.values(), handles.keys(), fontsize=7, loc=legend)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_mqar(best: Sequence[dict], path) -> None:
    """Test accuracy against the state size (log scale), one panel per
    cell, one line per mixer."""
    figure, plt, panels = _cell_panels(best)
    for axis, (length, pairs) in panels:
        for mixer in models.MQAR_MIXERS:
            points = sorted(
                (r["state_size"], r["test_accuracy"])
                for r in best
                if (r["sequence_length"], r["num_pairs"], r["mixer"])
                == (length, pairs, mixer)
            )
            if points:
                sizes, accuracies = zip(*points)
                axis.plot(
                    sizes, accuracies, marker="o", label=MIXER_NAMES[mixer]
                )
        axis.set_xscale("log")
        axis.set_xlabel("state size per layer (numbers)")
    _save(figure, plt, "test accuracy (answers)", path)


def plot_curves(best: Sequence[dict], histories: dict, path) -> None:
    """The validation accuracy by epoch of each (cell, mixer, width) at
    its best rate, one panel per cell, one colour per mixer (solid the
    narrower width, dashed the wider)."""
    figure, plt, panels = _cell_panels(best)
    widths = sorted({r["d_model"] for r in best})
    colours = dict(zip(models.MQAR_MIXERS, plt.rcParams["axes.prop_cycle"]))
    for axis, (length, pairs) in panels:
        for row in best:
            if (row["sequence_length"], row["num_pairs"]) != (length, pairs):
                continue
            accuracy = histories[(length, pairs, row["trial_id"])][
                "val_accuracy"
            ]
            axis.plot(
                range(1, len(accuracy) + 1),
                accuracy,
                color=colours[row["mixer"]]["color"],
                linestyle="-" if row["d_model"] == widths[0] else "--",
                label=f"{MIXER_NAMES[row['mixer']]}, d = {row['d_model']}",
            )
        axis.set_xlabel("epoch")
        axis.xaxis.get_major_locator().set_params(integer=True)
    # Between the mixers that recall (top) and those at guessing (bottom).
    _save(figure, plt, "validation accuracy (answers)", path, "center right")


def write_mqar(root, output_dir) -> list[dict]:
    """Writes `MQAR_FILENAMES` to `output_dir` from the sweep under `root`;
    returns the best rows."""
    runs, cells, histories = load_runs(root)
    best = mqar.best_rows(runs)
    csv_name, runs_name, md_name, png_name, curves_name = MQAR_FILENAMES
    write_csv(best, os.path.join(output_dir, csv_name), BEST_COLUMNS)
    write_csv(runs, os.path.join(output_dir, runs_name), mqar.RUN_COLUMNS)
    with open(os.path.join(output_dir, md_name), "w") as file:
        file.write(mqar_markdown(best, runs, cells))
    plot_mqar(best, os.path.join(output_dir, png_name))
    plot_curves(best, histories, os.path.join(output_dir, curves_name))
    return best
