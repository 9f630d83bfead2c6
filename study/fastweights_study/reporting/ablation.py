"""The ablation study: the variants of the fast-weights layer
(`variants.FAST_WEIGHTS_VARIANTS`) at one R (`ablation_rows`,
`write_ablation`)."""

import inspect
import os
from collections.abc import Mapping
from collections.abc import Sequence

from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import runs_markdown
from fastweights_study.reporting.common import summary_cells
from fastweights_study.reporting.common import variant_markdown
from fastweights_study.reporting.common import write_csv
from fastweights_study.reporting.plateau import OUTCOME_COLUMNS
from fastweights_study.reporting.plateau import plateau_rule
from fastweights_study.reporting.plateau import run_outcomes
from fastweights_study.variants import FAST_WEIGHTS_VARIANTS
from keras_fastweights.layers import FastWeightsRNNCell
from keras_fastweights.layers.fast_weights_rnn_cell import (
    DEFAULT_FAST_LEARNING_RATES,
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
    *OUTCOME_COLUMNS,
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
    """A variant of `FAST_WEIGHTS_VARIANTS` in words: what it
    changes in the paper's layer, then what it keeps (the defaults of
    `FastWeightsRNN`).

    Example:

    >>> variant_description("no_fast_memory")
    'η = 0 (no fast memory); λ = 0.95, S = 1 inner step, layer norm kept'
    >>> variant_description("paper")
    "the paper's layer: η = 0.5, λ = 0.95, S = 1 inner step, layer norm"
    """
    if variant not in FAST_WEIGHTS_VARIANTS:
        raise ValueError(
            f"Unknown variant {variant!r}; expected one of "
            f"{tuple(FAST_WEIGHTS_VARIANTS)}"
        )
    changed = FAST_WEIGHTS_VARIANTS[variant]
    # FastWeightsRNN takes its cell's arguments, with the cell's defaults.
    parameters = inspect.signature(FastWeightsRNNCell).parameters
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
        `seeds_paired` (the seeds at which the paper's layer also ran, at
        its own chosen rate, and had a lower test error; None for the
        paper's layer) and the
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
    table = [
        (row, cell_runs(row, runs)) for row in tuning.table_rows(grid, runs)
    ]
    # The paper's layer as the table counts it: at its own chosen rate.
    paper = {
        _pair_key(run): run["test_error_percent"]
        for row, counted in table
        if row["variant"] == "paper"
        for run in counted
    }
    return [
        {
            **row,
            **run_outcomes(counted, histories, num_pairs),
            **_paired_with_paper(counted, paper),
            "description": variant_description(row["variant"]),
        }
        for row, counted in table
    ]


def _pair_key(run: Mapping) -> tuple:
    return run["model"], run["units"], run["seed"]


def _paired_with_paper(counted: Sequence[Mapping], paper: Mapping) -> dict:
    """How many of a variant's runs (`counted`, at its chosen rate) have a
    higher test error than the paper's layer at the same R and seed, at
    the paper's own chosen rate (`paper`, by `_pair_key`)
    (`seeds_worse_than_paper`), of how many have such a run
    (`seeds_paired`); both None for the paper's layer itself.

    The same seed gives every variant the same initial weights (those it
    shares with the paper's layer) and the same batches; each is trained
    at the rate its own grid chose."""
    if not counted or counted[0]["variant"] == "paper":
        return {"seeds_worse_than_paper": None, "seeds_paired": None}
    pairs = [
        (run["test_error_percent"], paper[_pair_key(run)])
        for run in counted
        if _pair_key(run) in paper
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
    if len(grid["learning_rate"]) > 1:
        rates = (
            f"each variant's learning rate chosen on validation with seed "
            f"{grid['seed'][0]} among {rates}, the other seeds at it"
        )
    else:
        rates = f"learning rate {rates}"
    units = ", ".join(str(u) for u in grid["units"])
    text = [
        f"# Ablation study: fast weights, K = {num_pairs}, R = {units}\n",
        "The paper's fast-weights layer and variants that each change one "
        "thing (`fastweights_study.variants.FAST_WEIGHTS_VARIANTS`), on the "
        f"associative-retrieval task with K = {num_pairs} pairs: "
        f"{rates}; seeds {seeds}, {settings['epochs']} epochs each, the "
        "best epoch on validation kept. Test error (%): mean ± sample "
        "standard deviation over the seeds. *On the plateau*: runs whose "
        f"{plateau_rule(num_pairs)}. *Epoch it left the plateau*: for each "
        "seed, the first epoch whose validation error fell that far (– if "
        "none). *Diverged*: runs whose loss became "
        "NaN or infinite (their best epoch came before). *Worse than the "
        "paper's, same seed*: of the seeds at which the paper's layer ran "
        "too (at its own chosen rate), those where the variant's test error "
        "is higher; a seed gives every variant the same initial weights and "
        "batches.\n",
        f"{tuning.runs_finished(grid, runs)}."
        + (f" Not run yet: {', '.join(waiting)}." if waiting else "")
        + "\n",
        variant_markdown(
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
                for cell in summary_cells(rows, runs)
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
        runs_markdown(runs, tuning.columns(tuning.RUN_COLUMNS, grid)),
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
