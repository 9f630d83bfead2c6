"""The MQAR sweep's results (`fastweights_study.mqar`): `write_mqar` writes
`mqar.csv` (per cell, mixer and width, the run of the learning rate best
on validation), `mqar_runs.csv` (every run), `mqar.md` and `mqar.png`
(test accuracy against the recurrent state's size, one panel per
(sequence length, pairs), one line per mixer: Zoology's Figure 2)."""

import os
from collections.abc import Sequence

from fastweights_study import mqar
from fastweights_study import tuning
from fastweights_study.reporting.common import runs_markdown
from fastweights_study.reporting.common import write_csv
from keras_fastweights import models

MQAR_FILENAMES = ("mqar.csv", "mqar_runs.csv", "mqar.md", "mqar.png")
MIXER_NAMES = {
    "attention": "Attention (1 head)",
    "hebbian": "Fast weights (Hebbian)",
    "delta": "Fast weights (delta rule)",
    "lstm": "LSTM",
}
BEST_COLUMNS = (*mqar.RUN_COLUMNS[:-4], "rates_tried")


def load_runs(root) -> tuple[list[dict], list[dict]]:
    """The finished runs of every cell's search under `root`, in the order
    of `mqar.CELLS` (a cell not begun is skipped), and the cells' settings."""
    runs, cells = [], []
    for length, pairs in mqar.CELLS:
        directory = mqar.cell_directory(root, length, pairs)
        if not os.path.isdir(os.path.join(directory, tuning.PROJECT_NAME)):
            continue
        saved = tuning.load_settings(directory)
        search = mqar.make_search(directory, saved["grid"], saved["settings"])
        runs += mqar.run_rows(search, saved["settings"])
        cells.append(saved["settings"])
    return runs, cells


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
    lines += [
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


def plot_mqar(best: Sequence[dict], path) -> None:
    """Test accuracy against the state size (log scale), one panel per
    cell, one line per mixer."""
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
        axis.set_title(f"T = {length}, K = {pairs}")
        axis.set_xlabel("state size per layer (numbers)")
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (answers)")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_mqar(root, output_dir) -> list[dict]:
    """Writes `MQAR_FILENAMES` to `output_dir` from the sweep under `root`;
    returns the best rows."""
    runs, cells = load_runs(root)
    best = mqar.best_rows(runs)
    csv_name, runs_name, md_name, png_name = MQAR_FILENAMES
    write_csv(best, os.path.join(output_dir, csv_name), BEST_COLUMNS)
    write_csv(runs, os.path.join(output_dir, runs_name), mqar.RUN_COLUMNS)
    with open(os.path.join(output_dir, md_name), "w") as file:
        file.write(mqar_markdown(best, runs, cells))
    plot_mqar(best, os.path.join(output_dir, png_name))
    return best
