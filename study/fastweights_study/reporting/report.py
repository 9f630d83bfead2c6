"""docs/report.md, the study's paper, rendered from its records.

The report's prose is a template, `docs/report.template.md`, in which every
number is a placeholder `{{name}}`. `report_values` computes each from the
committed records under `results/` (the tables' CSV files, the trials'
histories, the causal readings) and from what the code holds (the paper's
Table 1, the layer's defaults, the key-blind error); `render` fills them
in. `tuning/write_report.py` writes the report, or with `--check` says
whether the committed one is what the records give (`first_difference`).

Experiments whose records have not landed yet (`LATER`) render a sentence
saying that they are running, and their table once their CSV exists.
"""

import inspect
import math
import os
import re
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from fastweights_study import analysis
from fastweights_study.reporting import capacity as capacity_report
from fastweights_study.reporting.common import DELTA_SERIES
from fastweights_study.reporting.common import SERIES_NAMES
from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import mean_and_std
from fastweights_study.reporting.common import read_csv
from fastweights_study.reporting.common import runs_markdown
from fastweights_study.reporting.common import summary_cells
from fastweights_study.reporting.common import table1_markdown
from fastweights_study.reporting.plateau import key_blind_error
from fastweights_study.reporting.plateau import on_plateau
from fastweights_study.reporting.plateau import plateau_exit_epoch
from fastweights_study.reporting.table1 import PAPER_TABLE1
from fastweights_study.reporting.table1 import as_series
from keras_fastweights import models
from keras_fastweights import training
from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.layers import fast_weights_rnn_cell

TEMPLATE = os.path.join("docs", "report.template.md")
REPORT = os.path.join("docs", "report.md")
PLACEHOLDER = re.compile(r"\{\{\s*([\w.]+)\s*\}\}")
NOTICE = (
    "<!-- Written by `python tuning/write_report.py` from "
    "docs/report.template.md and the records in results/: edit the "
    "template, not this file. -->\n"
)
# The run that results/memory_causal.csv reads: tuning/memory_causal.py's
# default --trial, Table 1's search's first trial.
CAUSAL_TRIAL = 0
# A run answers by the look-up when removing the queried digit's stored
# state costs it more than this much probability of the right answer.
LOOKUP_CHANGE = 0.5
# The width of the recurrent layer of Figure 2, at which the cost of the
# paper's task is counted.
FIGURE2_UNITS = 50
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


def write_report(root: str | os.PathLike) -> str:
    """The report that the records under `root` give (its text)."""
    with open(os.path.join(root, TEMPLATE), encoding="utf-8") as file:
        template = file.read()
    return render(template, report_values(root))


def later_section(root: str | os.PathLike, name: str) -> str:
    """The section of an experiment of `LATER`: that it is running, until
    its CSV exists under `root/results`; then its rows as a table."""
    filename, page, running = LATER[name]
    path = os.path.join(root, "results", filename)
    if not os.path.exists(path):
        return running
    rows = read_csv(path)
    columns = list(rows[0]) if rows else []
    source = f"`results/{filename}`"
    if os.path.exists(os.path.join(root, "results", page)):
        source = f"[{page}](../results/{page}), {source}"
    text = f"From {source}:\n\n" + runs_markdown(rows, columns).rstrip("\n")
    figure = os.path.splitext(filename)[0] + ".png"
    if os.path.exists(os.path.join(root, "results", figure)):
        text += f"\n\n![{name}](../results/{figure})"
    return text


# --- formatting --------------------------------------------------------------


def _g(number: float) -> str:
    return f"{number:g}"


def _name(series: str) -> str:
    """A series' name inside a sentence: "fast weights", "LSTM"."""
    name = SERIES_NAMES[series]
    return name[0].lower() + name[1:] if name.startswith("Fast") else name


def _words(items: Iterable) -> str:
    """`a`, `a and b`, `a, b and c`."""
    items = [str(item) for item in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _span(numbers: Sequence[float], form: str = "{:g}", sep: str = "–") -> str:
    """The range of `numbers` as text, one number where they are equal."""
    low, high = form.format(min(numbers)), form.format(max(numbers))
    return low if low == high else f"{low}{sep}{high}"


def _welch(a: Sequence[float], b: Sequence[float]) -> float:
    return analysis.welch_test(list(a), list(b))["p"]


def _p(a: Sequence[float], b: Sequence[float]) -> str:
    return f"{_welch(a, b):.2g}"


def _numbers(text) -> list[float]:
    """A CSV cell of numbers separated by spaces, as floats."""
    return [float(word) for word in str(text).split()]


def _exits(text) -> str:
    """A CSV cell of plateau exit epochs as the report gives them: "never"
    for a run that did not leave the plateau ("–")."""
    return ", ".join("never" if e == "–" else e for e in str(text).split())


def _table(header: Sequence[str], align: str, rows: Iterable) -> str:
    """A Markdown table; `align` has one character a column, `l` or `r`."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "".join("---|" if a == "l" else "---:|" for a in align),
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _results(root, *parts) -> str:
    return os.path.join(root, "results", *parts)


def _history(search: str, trial_id) -> dict:
    """A trial's per-epoch history from a search's records."""
    from fastweights_study import tuning

    return training.read_history(
        os.path.join(
            search,
            tuning.PROJECT_NAME,
            f"trial_{int(trial_id):04d}",
            training.HISTORY_FILENAME,
        )
    )


def _reading(root, name: str) -> dict:
    """A causal reading (`tuning/memory_causal.py`'s CSV) by what it
    removed."""
    path = _results(root, "memory_causal_seeds", name, "memory_causal.csv")
    return {row["removed"]: row for row in read_csv(path)}


# --- the values --------------------------------------------------------------


def report_values(root: str | os.PathLike) -> dict[str, str]:
    """Every placeholder of the template, from the records under `root`."""
    from fastweights_study import tuning

    saved = tuning.load_settings(_results(root, "table1_search"))
    values = {}
    values.update(_protocol_values(saved["settings"], saved["grid"]))
    values.update(_method_values(values, saved["settings"]))
    values.update(_table1_values(root, values, saved["grid"]))
    values.update(_sensitivity_values(root))
    values.update(_longer_values(root, values))
    values.update(_capacity_values(root))
    values.update(_errors_values(root))
    values.update(_ablation_values(root, values))
    values.update(_clipping_values(root))
    values.update(_causal_values(root, values))
    values.update(_machine_values(root))
    for name in LATER:
        values[name] = later_section(root, name)
    return values


def _protocol_values(settings, grid) -> dict:
    num_pairs, epochs = settings["num_pairs"], settings["epochs"]
    updates = epochs * math.ceil(settings["num_train"] / settings["batch_size"])
    builder = inspect.signature(models.build_retrieval_model).parameters
    seeds = grid["seed"]
    return {
        "num_pairs": num_pairs,
        "epochs": epochs,
        "updates": f"{updates:,}",
        "batch_size": settings["batch_size"],
        "data_seed": settings["data_seed"],
        **{
            name: f"{settings[name]:,}"
            for name in ("num_train", "num_val", "num_test")
        },
        "sequence_length": associative_retrieval.sequence_length(num_pairs),
        "seeds": ", ".join(map(str, seeds)),
        "seeds.after": _words(seeds[1:]),
        "seed_count": len(seeds),
        "rates.first": _words(map(_g, grid["learning_rate"])),
        "rates.ladder": ", ".join(map(_g, grid["learning_rate_ladder"])),
        "architecture": (
            f"`Embedding({associative_retrieval.VOCABULARY_SIZE}, "
            f"{builder['embedding_dim'].default})` → the recurrent layer of "
            f"R units → `Dense({builder['hidden_dim'].default}, relu)` → "
            f"`Dense({associative_retrieval.NUM_CLASSES})`"
        ),
        "alstm_copies": models.ASSOCIATIVE_LSTM_COPIES,
        "info.units": min(grid["units"]),
        "info.units_bits": 32 * min(grid["units"]),
    }


def _method_values(values, settings) -> dict:
    cell = inspect.signature(fast_weights_rnn_cell.FastWeightsRNNCell)
    decay = cell.parameters["decay_rate"].default
    inner_steps = cell.parameters["inner_steps"].default
    eta = fast_weights_rnn_cell.DEFAULT_FAST_LEARNING_RATES["hebbian"]
    num_pairs = settings["num_pairs"]
    # Multiply-adds a sequence of the paper's task (§3.3's formulas).
    steps = values["sequence_length"]
    features = (
        inspect.signature(models.build_retrieval_model)
        .parameters["embedding_dim"]
        .default
    )
    units = FIGURE2_UNITS
    matrix = steps * (features * units + (inner_steps + 2) * units**2)
    attention = steps * (features * units + units**2)
    attention += inner_steps * steps * (steps + 1) * units
    blind = {}
    for pairs in sorted({2, 3, num_pairs, 8, 12}):
        error, log_likelihood = analysis.key_blind_bayes(pairs)
        blind[pairs] = (100 * error, -log_likelihood)
    error = blind[num_pairs][0] / 100
    standard_error = 100 * math.sqrt(error * (1 - error) / settings["num_test"])
    failed = [v for v in PAPER_TABLE1.values() if v > 50]
    distances = [abs(v - 100 * error) / standard_error for v in failed]
    return {
        "eta": eta,
        "decay": decay,
        "inner_steps": inner_steps,
        "half_life": f"{math.log(2) / -math.log(decay):.1f}",
        "weight_sum": f"{1 / (1 - decay):g}",
        "cost.shape": f"T = {steps}, F = {features}, H = {units}, "
        f"S = {inner_steps}",
        "cost.matrix": f"{matrix:,}",
        "cost.attention": f"{attention:,}",
        "blind.table": _table(
            ["K", "key-blind error (%)", "key-blind loss (nats)"],
            "rrr",
            (
                [pairs, f"{error:.2f}", f"{loss:.3f}"]
                for pairs, (error, loss) in blind.items()
            ),
        ),
        "blind.error": f"{blind[num_pairs][0]:.2f}",
        "blind.loss": f"{blind[num_pairs][1]:.3f}",
        "blind.se": f"{standard_error:.2f}",
        "paper.failed_range": _span(failed, "{:.2f}"),
        "paper.failed_distance": _span(distances, "{:.1f}", " to "),
        **{
            f"paper.fast_weights.{units}": _g(
                PAPER_TABLE1["fast_weights", units]
            )
            for units in (20, 50, 100)
        },
        "info_bits": f"{analysis.retrieval_information_bits(num_pairs):.2f}",
    }


# The series of Table 1 by the short names of the template.
TABLE1_SERIES = {
    "fw": "fast_weights",
    "lstm": "lstm",
    "alstm": "associative_lstm",
    "irnn": "irnn",
    "delta": DELTA_SERIES,
}


def _table1_values(root, values, grid) -> dict:
    rows = read_csv(_results(root, "table1.csv"))
    runs = read_csv(_results(root, "table1_runs.csv"))
    delta = _results(root, "delta_search", "table1")
    shown_rows = as_series(rows) + as_series(
        read_csv(os.path.join(delta, "table1.csv"))
    )
    shown_runs = as_series(runs) + as_series(
        read_csv(os.path.join(delta, "table1_runs.csv"))
    )
    cells = summary_cells(shown_rows, shown_runs)
    by_cell = {(cell["model"], cell["units"]): cell for cell in cells}
    errors = {
        key: [run["test_error_percent"] for run in cell_runs(cell, shown_runs)]
        for key, cell in by_cell.items()
    }
    num_pairs = values["num_pairs"]
    search = _results(root, "table1_search")
    out = {
        "table1.table": table1_markdown(
            cells, value="summary", paper=PAPER_TABLE1, number_format="{}"
        ).rstrip("\n"),
        "table1.rates": table1_markdown(
            cells, value="rate", number_format="{}"
        ).rstrip("\n"),
        "table1.run_count": len(runs),
        "table1.cell_count": len(rows),
        "table1.run_hours": f"{sum(r['seconds'] for r in runs) / 3600:.1f}",
    }
    all_units = sorted({units for _, units in by_cell})
    others = list(dict.fromkeys(c["model"] for c in cells))
    others.remove("fast_weights")
    out["table1.welch"] = _table(
        ["R", *(SERIES_NAMES[s] for s in others)],
        "r" * (len(others) + 1),
        (
            [
                units,
                *(
                    _p(errors["fast_weights", units], errors[s, units])
                    if (s, units) in errors
                    else "–"
                    for s in others
                ),
            ]
            for units in all_units
        ),
    )
    for short, series in TABLE1_SERIES.items():
        for units in all_units:
            if (series, units) not in by_cell:
                continue
            cell, seeds = by_cell[series, units], errors[series, units]
            name = f"{short}.{units}"
            out[name] = cell["summary"]
            out[f"{name}.min"] = _g(min(seeds))
            out[f"{name}.range"] = _span(seeds)
            out[f"{name}.at_zero"] = cell["at_zero"]
            out[f"{name}.rate"] = _g(cell["learning_rate"])
            if series != "fast_weights":
                out[f"p.{units}.{series}"] = _p(
                    errors["fast_weights", units], seeds
                )
    # Fast weights' runs at R = 50: when they left the plateau, against the
    # other paper models'; the first epoch's validation error of each.
    counted = {
        (series, units): cell_runs(by_cell[series, units], shown_runs)
        for series, units in by_cell
        if series in models.PAPER_NAMES
    }
    first, exits = {}, {}
    for (series, units), cell in counted.items():
        for run in cell:
            history = _history(search, run["trial_id"])
            first.setdefault((series, units), []).append(
                100 * (1 - history["val_accuracy"][0])
            )
            exits.setdefault((series, units), []).append(
                plateau_exit_epoch(history, num_pairs)
            )
    units = FIGURE2_UNITS
    other_models = [m for m in models.PAPER_NAMES if m != "fast_weights"]
    out["fw.50.exits"] = ", ".join(map(str, exits["fast_weights", units]))
    out["plateau.others_exit_max"] = max(
        e for m in other_models for e in exits[m, units]
    )
    out["plateau.first_epoch_range"] = _span(
        [e for m in other_models for e in first[m, units]], "{:.2f}"
    )
    out["plateau.fw_first_epoch_range"] = _span(
        first["fast_weights", units], "{:.2f}"
    )
    out["fw.best_epoch_min"] = min(
        run["best_epoch"]
        for (series, _), cell in counted.items()
        if series == "fast_weights"
        for run in cell
    )
    out["table1.best_epoch_median"] = _g(
        float(
            np.median(
                [run["best_epoch"] for c in counted.values() for run in c]
            )
        )
    )
    never = [run for run in runs if on_plateau(run, num_pairs)]
    out["plateau.never_count"] = len(never)
    out["plateau.never_list"] = "; ".join(
        f"{_name(run['model'])}, R = {run['units']}, "
        f"{_g(run['learning_rate'])}, seed {run['seed']}"
        for run in never
    )
    moved = [
        row for row in rows if row["learning_rate"] not in grid["learning_rate"]
    ]
    out["rates.moved"] = len(moved)
    out["rates.moved_list"] = "; ".join(
        f"{_name(row['model'])} at R = {row['units']}, to "
        f"{_g(row['learning_rate'])}"
        for row in moved
    )
    # Fast weights at R = 100 on the first grid: the rate seed 0 chose
    # there, and its seeds.
    chosen = _first_grid_choice(
        runs, "fast_weights", 100, grid["learning_rate"]
    )
    first_grid = [
        run
        for run in runs
        if (run["model"], run["units"], run["learning_rate"])
        == ("fast_weights", 100, chosen)
    ]
    errors_first = [run["test_error_percent"] for run in first_grid]
    out["fw100.first_rate"] = _g(chosen)
    out["fw100.first_grid"] = mean_and_std(
        np.mean(errors_first), np.std(errors_first, ddof=1)
    )
    out["slow.rate"] = _g(chosen)
    return out


def _first_grid_choice(runs, model, units, rates) -> float:
    """The learning rate that seed 0 chose among `rates` (the first grid)
    for `(model, units)`, by `training.validation_rank`."""
    candidates = [
        run
        for run in runs
        if (run["model"], run["units"], run["seed"]) == (model, units, 0)
        and run["learning_rate"] in rates
    ]
    best = min(
        candidates,
        key=lambda run: training.validation_rank(
            1 - run["val_error_percent"] / 100, run["val_loss"]
        ),
    )
    return best["learning_rate"]


def _sensitivity_values(root) -> dict:
    rows = read_csv(_results(root, "lr_sensitivity.csv"))
    cells = {}
    for row in rows:
        cell = cells.setdefault((row["model"], row["units"]), {})
        if row["chosen_on_seed_0"] == "True":
            cell["seed 0"] = row
        if row["chosen_on_mean"] == "True":
            cell["mean"] = row
    lines, differ = [], []
    for (model, units), cell in cells.items():
        seed0, mean = cell["seed 0"], cell["mean"]
        lines.append(
            [
                SERIES_NAMES[model],
                units,
                _g(seed0["learning_rate"]),
                f"{seed0['test_error_mean']:.2f}",
                _g(mean["learning_rate"]),
                f"{mean['test_error_mean']:.2f}",
            ]
        )
        if seed0["learning_rate"] != mean["learning_rate"]:
            differ.append(f"{_name(model)} at R = {units}")
    units = min(u for _, u in cells)
    p = {
        on: _p(
            _numbers(cells["fast_weights", units][on]["test_errors"]),
            _numbers(cells["lstm", units][on]["test_errors"]),
        )
        for on in ("seed 0", "mean")
    }
    return {
        "sensitivity.table": _table(
            [
                "model",
                "R",
                "seed 0's choice",
                "its mean test error (%)",
                "the mean's choice",
                "its mean test error (%)",
            ],
            "lrrrrr",
            lines,
        ),
        "sensitivity.differ": (
            f"for {_words(differ)}, and agrees elsewhere"
            if differ
            else "nowhere: it agrees with seed 0's in every cell"
        ),
        "sensitivity.cell_count": len(cells),
        "sensitivity.p_seed0": p["seed 0"],
        "sensitivity.p_mean": p["mean"],
    }


def _longer_values(root, values) -> dict:
    from fastweights_study import tuning

    runs = read_csv(_results(root, "table1_runs.csv"))
    table1_grid = tuning.load_settings(_results(root, "table1_search"))["grid"]
    rate = _first_grid_choice(
        runs, "fast_weights", FIGURE2_UNITS, table1_grid["learning_rate"]
    )
    before = [
        run["test_error_percent"]
        for run in runs
        if (run["model"], run["units"], run["learning_rate"])
        == ("fast_weights", FIGURE2_UNITS, rate)
    ]
    after = []
    for seed in sorted({run["seed"] for run in runs}):
        history = training.read_history(
            _results(
                root,
                "longer_budget",
                f"fast_weights_{FIGURE2_UNITS}_seed{seed}",
                training.HISTORY_FILENAME,
            )
        )
        best = training.best_epoch(history)
        after.append(100 * (1 - history["test_accuracy"][best]))
    r100 = _results(root, "longer_budget", "r100_search")
    (row,) = read_csv(os.path.join(r100, "table1.csv"))
    return {
        "longer.epochs": tuning.load_settings(r100)["settings"]["epochs"],
        "longer50.rate": _g(rate),
        "longer50.before": mean_and_std(
            np.mean(before), np.std(before, ddof=1)
        ),
        "longer50.after": mean_and_std(np.mean(after), np.std(after, ddof=1)),
        "longer100.rate": _g(row["learning_rate"]),
        "longer100.before": values["fw100.first_grid"],
        "longer100.after": mean_and_std(
            row["test_error_mean"], row["test_error_std"]
        ),
    }


CAPACITY_SERIES = ("fast_weights", DELTA_SERIES, "lstm")


def _capacity_values(root) -> dict:
    rows = read_csv(_results(root, "capacity.csv"))
    finished = {
        (row["model"], row["num_pairs"]): row
        for row in rows
        if row["num_seeds"] == len(str(row["seeds"]).split()) >= 3
    }
    ks = sorted({k for _, k in finished})
    seeds = {key: _numbers(row["test_errors"]) for key, row in finished.items()}

    def cell(series, k):
        row = finished.get((series, k))
        if row is None:
            return "–"
        return mean_and_std(row["test_error_mean"], row["test_error_std"])

    def p(series, other, k):
        if (series, k) not in seeds or (other, k) not in seeds:
            return "–"
        return _p(seeds[series, k], seeds[other, k])

    blind = {k: key_blind_error(k) for k in ks}
    table = _table(
        ["", *(f"K = {k}" for k in ks)],
        "l" + "r" * len(ks),
        [
            *(
                [SERIES_NAMES[s], *(cell(s, k) for k in ks)]
                for s in CAPACITY_SERIES
            ),
            ["key-blind error", *(f"{blind[k]:.2f}" for k in ks)],
            [
                "Welch p, fast weights against the LSTM",
                *(p("fast_weights", "lstm", k) for k in ks),
            ],
            [
                "Welch p, fast weights against the delta rule",
                *(p("fast_weights", DELTA_SERIES, k) for k in ks),
            ],
        ],
    )
    hebbian = sorted(k for s, k in finished if s == "fast_weights")
    both = [k for k in hebbian if ("lstm", k) in seeds and k > min(ks)]
    below = [
        k for k in both if max(seeds["fast_weights", k]) < min(seeds["lstm", k])
    ]
    significant = [
        k
        for k in both
        if _welch(seeds["fast_weights", k], seeds["lstm", k]) < 0.05
    ]
    delta_ks = sorted(k for s, k in finished if s == DELTA_SERIES)
    exits = {
        series: [
            int(e)
            for (s, _), row in finished.items()
            if s == series
            for e in str(row["plateau_exit_epochs"]).split()
            if e != "–"
        ]
        for series in CAPACITY_SERIES
    }
    pending = []
    for series in CAPACITY_SERIES:
        missing = [
            k
            for k in sorted({*capacity_report.CAPACITY_PAIRS, *ks})
            if (series, k) not in finished
        ]
        if missing:
            pending.append(f"{_name(series)} at K = {_words(missing)}")
    peak = max(
        hebbian, key=lambda k: finished["fast_weights", k]["test_error_mean"]
    )
    out = {
        "capacity.table": table,
        "capacity.ks": _words(ks),
        "capacity.fw_peak_k": peak,
        "capacity.fw_below_lstm_ks": _words(below),
        "capacity.fw_lstm_significant_ks": _words(significant),
        "capacity.fw_spread": "; ".join(
            f"{_span(seeds['fast_weights', k], sep=' to ')} % at K = {k}"
            for k in hebbian[-2:]
        ),
        "capacity.delta_worst": "; ".join(
            f"{_g(max(seeds[DELTA_SERIES, k]))} % at K = {k}" for k in delta_ks
        ),
        "capacity.delta_exit_max": max(exits[DELTA_SERIES]),
        "capacity.hebbian_exit_max": max(exits["fast_weights"]),
        "capacity.fw_best_min": min(
            int(e)
            for k in hebbian
            if k > min(ks)
            for e in str(finished["fast_weights", k]["best_epochs"]).split()
        ),
        "capacity.pending": (
            f"Still running: {'; '.join(pending)}. Table 3 gains their cells "
            "as their seeds finish."
            if pending
            else ""
        ),
    }
    # The delta rule at the largest K its seeds finished, against the
    # paper's update and the LSTM; and where Welch's test separates them.
    k = max(delta_ks)
    worst = int(np.argmax(seeds[DELTA_SERIES, k]))
    delta_p = {
        k: _welch(seeds["fast_weights", k], seeds[DELTA_SERIES, k])
        for k in delta_ks
        if ("fast_weights", k) in seeds and k > min(ks)
    }
    out.update(
        {
            "delta.best_k": k,
            "delta.best_k.delta": cell(DELTA_SERIES, k),
            "delta.best_k.hebbian": cell("fast_weights", k),
            "delta.best_k.lstm": cell("lstm", k),
            "delta.best_k.p": f"{delta_p[k]:.2g}",
            "delta.best_k.worst_seed": _g(seeds[DELTA_SERIES, k][worst]),
            "delta.best_k.worst_best_epoch": str(
                finished[DELTA_SERIES, k]["best_epochs"]
            ).split()[worst],
            "delta.significant_ks": _words(
                k for k, p in delta_p.items() if p < 0.05
            ),
            "delta.significant_ps": _words(
                f"{p:.2g}" for p in delta_p.values() if p < 0.05
            ),
        }
    )
    return out


def _errors_values(root) -> dict:
    rows = read_csv(_results(root, "capacity_errors.csv"))
    summary = capacity_report.capacity_error_summary(rows)
    pairs = sum(row["num_pairs"] for row in summary)
    distance = max(row["largest_distance"] for row in summary)
    trend = max(abs(row["trend_z"]) for row in summary)
    distance_bound = analysis.bonferroni_bound(pairs)
    trend_bound = analysis.bonferroni_bound(len(summary))
    by = {(row["model"], row["num_pairs"]): row for row in summary}
    counts = [
        f"at K = {k}, {by[DELTA_SERIES, k]['wrong']} against "
        f"{by['fast_weights', k]['wrong']}"
        for (series, k) in by
        if series == DELTA_SERIES and ("fast_weights", k) in by
    ]
    sequences = by[next(iter(by))]["sequences"]
    return {
        "errors.share_range": _span(
            [row["stored_percent"] for row in summary], "{:.1f}"
        ),
        "errors.chance_range": _span(
            [row["chance_percent"] for row in summary], "{:.1f}"
        ),
        "errors.k_from": min(row["num_pairs"] for row in summary),
        "errors.largest_distance": f"{distance:.2f}",
        "errors.distance_bound": f"{distance_bound:.2f}",
        "errors.distance_verdict": (
            "within" if distance < distance_bound else "beyond"
        ),
        "errors.pairs": pairs,
        "errors.largest_trend": f"{trend:.2f}",
        "errors.trend_bound": f"{trend_bound:.2f}",
        "errors.trend_verdict": "within" if trend < trend_bound else "beyond",
        "errors.delta_counts": f"wrong answers in {sequences:,} test sequences "
        "(the seeds pooled), the delta rule's against the paper's update, "
        + "; ".join(counts),
    }


def _label(description: str) -> str:
    """A variant of the ablation in a few words: the first clause of its
    description (ablation.csv's `description`)."""
    return description.split(";")[0].split(":")[0]


def _ablation_values(root, values) -> dict:
    rows = read_csv(_results(root, "ablation.csv"))
    runs = read_csv(_results(root, "ablation_runs.csv"))
    (paper,) = [row for row in rows if row["variant"] == "paper"]
    errors = {
        row["variant"]: [r["test_error_percent"] for r in cell_runs(row, runs)]
        for row in rows
    }
    p = {
        row["variant"]: _welch(errors[row["variant"]], errors["paper"])
        for row in rows
        if row is not paper
    }
    table = _table(
        [
            "variant",
            "learning rate",
            f"test error (%), seeds {values['seeds']}",
            "mean ± sd",
            "left the plateau at epoch",
            "Welch p",
        ],
        "lrlrlr",
        (
            [
                _label(row["description"]),
                _g(row["learning_rate"]),
                ", ".join(map(_g, errors[row["variant"]])),
                mean_and_std(row["test_error_mean"], row["test_error_std"]),
                _exits(row["plateau_exit_epochs"]),
                f"{p[row['variant']]:.2g}" if row is not paper else "–",
            ]
            for row in rows
        ),
    )
    # Every run: the epoch it left the plateau (after the last: never) and
    # its error.
    never = values["epochs"] + 1
    outcomes = sorted(
        (never if epoch == "–" else int(epoch), error)
        for row in rows
        for epoch, error in zip(
            str(row["plateau_exit_epochs"]).split(), errors[row["variant"]]
        )
    )
    # The split of the runs by exit epoch that separates the errors, with
    # the widest gap of epochs between the two groups.
    splits = [
        (outcomes[i][0], outcomes[i + 1][0], i + 1)
        for i in range(len(outcomes) - 1)
        if outcomes[i][0] < outcomes[i + 1][0]
        and max(e for _, e in outcomes[: i + 1])
        < min(e for _, e in outcomes[i + 1 :])
    ]
    early, late, at = max(splits, key=lambda s: s[1] - s[0])
    seed_count = values["seed_count"]
    worse = [
        _label(row["description"])
        for row in rows
        if row is not paper and row["seeds_worse_than_paper"] == seed_count
    ]
    (no_layer_norm,) = [r for r in rows if r["variant"] == "no_layer_norm"]
    return {
        "ablation.table": table,
        "ablation.units": paper["units"],
        "ablation.rates": _words(
            map(_g, sorted({run["learning_rate"] for run in runs}))
        ),
        "ablation.early_exit": early,
        "ablation.early_max": _g(max(e for _, e in outcomes[:at])),
        "ablation.late_exit": late,
        "ablation.late_min": _g(min(e for _, e in outcomes[at:])),
        "ablation.always_worse": _words(worse),
        "ablation.chance": f"1/{2**seed_count}",
        "ablation.significant": _words(
            _label(row["description"])
            for row in rows
            if row is not paper and p[row["variant"]] < 0.05
        )
        or "none",
        "ablation.no_ln_diverged": no_layer_norm["runs_diverged"],
    }


def _clipping_values(root) -> dict:
    rows = read_csv(_results(root, "clipping.csv"))
    described = {
        row["variant"]: row["description"]
        for row in read_csv(_results(root, "ablation.csv"))
    }
    errors = {
        (r["variant"], r["units"], r["clipnorm"]): _numbers(r["test_errors"])
        for r in rows
    }

    def p(row):
        unclipped = (row["variant"], row["units"], 0.0)
        if not row["clipnorm"] or unclipped not in errors:
            return "–"
        return _p(
            errors[row["variant"], row["units"], row["clipnorm"]],
            errors[unclipped],
        )

    table = _table(
        [
            "variant",
            "R",
            "clipnorm",
            "learning rate",
            "test error (%), by seed",
            "mean ± sd",
            "left the plateau at epoch",
            "diverged, every run of the cell",
            "Welch p",
        ],
        "lrrrlrlrr",
        (
            [
                _label(described[row["variant"]]),
                row["units"],
                _g(row["clipnorm"]) if row["clipnorm"] else "none",
                _g(row["learning_rate"]),
                ", ".join(map(_g, _numbers(row["test_errors"]))),
                mean_and_std(row["test_error_mean"], row["test_error_std"]),
                _exits(row["plateau_exit_epochs"]),
                f"{row['cell_runs_diverged']} of {row['cell_runs']}",
                p(row),
            ]
            for row in sorted(
                rows,
                key=lambda r: (
                    r["variant"] != "paper",
                    r["units"],
                    r["clipnorm"],
                ),
            )
        ),
    )
    paper20 = {
        r["clipnorm"]: r
        for r in rows
        if (r["variant"], r["units"]) == ("paper", 20)
    }
    norm = max(r["clipnorm"] for r in rows)
    return {
        "clipping.table": table,
        "clipping.norm": _g(norm),
        "clipping.r20_unclipped_rate": _g(paper20[0.0]["learning_rate"]),
        "clipping.r20_clipped_rate": _g(paper20[norm]["learning_rate"]),
    }


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
    directory = _results(root, "memory_causal_seeds")
    if not all(os.path.isdir(os.path.join(directory, n)) for n in names):
        return None
    return [_reading(root, name) for name in names]


def _causal_values(root, values) -> dict:
    runs = read_csv(_results(root, "table1_runs.csv"))
    one = read_csv(_results(root, "memory_causal.csv"))
    by_role = {row["removed"]: row for row in one}
    (trial,) = [run for run in runs if run["trial_id"] == CAUSAL_TRIAL]
    answer, key = by_role["queried value"], by_role["queried key"]
    alone = by_role["every state but the queried value"]
    single = ("queried key", "other key", "other value", "first ?", "second ?")
    others = [by_role[role]["change"] for role in single]
    table4 = _table(
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
    for row in read_csv(_results(root, "table1.csv")):
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
        search = _results(root, "capacity_search", f"k{k}")
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
                _g(row["learning_rate"]),
                _span([run["test_error_percent"] for run in counted]),
                *(_span(c, "{:.3f}", " to ") for c in columns),
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
        _results(root, "longer_budget", "r100_search", "table1_runs.csv")
    )
    slow_lines, slow_count, slow_no_memory = [], 0, []
    for epochs, group, prefix in (
        (values["epochs"], slow_runs, ""),
        (values["longer.epochs"], longer, "longer_r100_"),
    ):
        for run, reading in zip(group, _readings_of(root, group, prefix)):
            cells_of = [reading[r][c] for r, c in READING_COLUMNS]
            if abs(cells_of[1]) < LOOKUP_CHANGE:
                slow_count += epochs == values["epochs"]
                slow_no_memory.append(cells_of[3])
            slow_lines.append(
                [
                    epochs,
                    run["seed"],
                    _g(run["test_error_percent"]),
                    *(f"{c:.3f}" for c in cells_of),
                ]
            )
    return {
        "causal.sequences": f"{by_role['nothing']['sequences']:,}",
        "causal.one.rate": _g(trial["learning_rate"]),
        "causal.one.error": _g(trial["test_error_percent"]),
        "causal.one.table": table4,
        "causal.one.answer_change": f"{-answer['change']:.2f}",
        "causal.one.other_change": f"{max(abs(c) for c in others):.3f}",
        "causal.one.alone": f"{alone['probability']:.4f}",
        "causal.one.key_attention": f"{key['attention']:.3f}",
        "causal.one.key_change": f"{-key['change']:.4f}",
        "causal.cells": _table(header, "lrrrrrr", lines),
        "causal.change_range": _span([-c for c in changes], "{:.2f}", " to "),
        "slow.table": _table(
            ["epochs", "seed", *header[2:]], "rrrrrrr", slow_lines
        ),
        "slow.count": slow_count,
        "slow.no_memory_max": f"{max(slow_no_memory):.2f}",
    }


def _machine_values(root) -> dict:
    table1 = read_csv(_results(root, "table1_runs.csv"))
    ablation = read_csv(_results(root, "ablation_runs.csv"))
    delta = read_csv(
        _results(root, "delta_search", "table1", "table1_runs.csv")
    )
    key = ("fast_weights", 20, 0.003, 0)

    def run_of(runs, **variant):
        (run,) = [
            r
            for r in runs
            if (r["model"], r["units"], r["learning_rate"], r["seed"]) == key
            and all(r.get(k) == v for k, v in variant.items())
        ]
        return run

    same = run_of(table1), run_of(ablation, variant="paper")
    recorded = [*table1, *ablation, *delta]
    return {
        "machines.same_run": (
            f"{_name(key[0])} at R = {key[1]}, learning rate "
            f"{_g(key[2])}, seed {key[3]}: {_g(same[0]['test_error_percent'])} "
            f"% in Table 1's search and {_g(same[1]['test_error_percent'])} % "
            "in the ablation's, on two such machines"
        ),
        "machines.cpus": _words(
            sorted({r["cpu"] for r in recorded if r["cpu"]})
        ),
        "machines.cores": _words(
            sorted(
                {
                    int(cores)
                    for r in recorded
                    if r["cpu"]
                    for cores in re.findall(r"(\d+) cores", r["cpu"])
                }
            )
        ),
        "machines.versions": _words(
            sorted({r["versions"] for r in recorded if r["versions"]})
        ),
    }
