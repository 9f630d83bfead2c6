"""The values of the report's method and protocol (§3, §4.1: the task,
the settings and grid of Table 1's search, the layer's defaults, the cost
and the key-blind error) and of its machines (§6, Reproducing)."""

import inspect
import math
import re

from fastweights_study import analysis
from fastweights_study import tuning
from fastweights_study.reporting.common import read_csv
from fastweights_study.reporting.report.formatting import compact
from fastweights_study.reporting.report.formatting import markdown_table
from fastweights_study.reporting.report.formatting import results_path
from fastweights_study.reporting.report.formatting import series_name
from fastweights_study.reporting.report.formatting import span
from fastweights_study.reporting.report.formatting import words
from fastweights_study.reporting.table1 import PAPER_TABLE1
from keras_fastweights import models
from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.layers import fast_weights_rnn_cell

# The width of the recurrent layer of Figure 2, at which the cost of the
# paper's task is counted.
FIGURE2_UNITS = 50


def protocol_values(settings, grid) -> dict:
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
        "seeds.after": words(seeds[1:]),
        "seed_count": len(seeds),
        "rates.first": words(map(compact, grid["learning_rate"])),
        "rates.ladder": ", ".join(map(compact, grid["learning_rate_ladder"])),
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


def method_values(values, settings) -> dict:
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
        "blind.table": markdown_table(
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
        "paper.failed_range": span(failed, "{:.2f}"),
        "paper.failed_distance": span(distances, "{:.1f}", " to "),
        **{
            f"paper.fast_weights.{units}": compact(
                PAPER_TABLE1["fast_weights", units]
            )
            for units in (20, 50, 100)
        },
        "info_bits": f"{analysis.retrieval_information_bits(num_pairs):.2f}",
    }


def machine_values(root) -> dict:
    table1 = read_csv(results_path(root, "table1_runs.csv"))
    ablation = read_csv(results_path(root, "ablation_runs.csv"))
    delta = read_csv(
        results_path(root, "delta_search", "table1", "table1_runs.csv")
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

    in_table1, in_ablation = (
        compact(run["test_error_percent"])
        for run in (run_of(table1), run_of(ablation, variant="paper"))
    )
    converged = read_csv(results_path(root, "table1_convergence_runs.csv"))
    recorded = [*table1, *ablation, *delta, *converged]

    def each(runs, column):
        # Every machine (or versions) the runs name, a run that went on on
        # another machine naming each.
        return {m for r in runs for m in tuning.machines_of(r[column] or "")}

    def models_of(runs):
        # The CPU's model name, without the cores and family that some
        # records add in brackets.
        return words(sorted({cpu.split(" (")[0] for cpu in each(runs, "cpu")}))

    return {
        "machines.by_table": (
            f"Table 1's runs on {models_of([*table1, *delta])}, the runs at "
            f"convergence on {models_of(converged)}"
        ),
        "machines.same_run": (
            f"{series_name(key[0])} at R = {key[1]}, learning rate "
            f"{compact(key[2])}, seed {key[3]}: {in_table1} % in Table 1's "
            f"search and {in_ablation} % in the ablation's, on two such "
            "machines"
        ),
        "machines.cpus": words(sorted(each(recorded, "cpu"))),
        "machines.cores": words(
            sorted(
                {
                    int(cores)
                    for cpu in each(recorded, "cpu")
                    for cores in re.findall(r"(\d+) cores", cpu)
                }
            )
        ),
        "machines.versions": words(sorted(each(recorded, "versions"))),
    }
