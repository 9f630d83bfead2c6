"""The ablation study's and the capacity curve's results:
fastweights_study.reporting, keras_fastweights.plotting,
tuning/ablation_report.py and tuning/capacity_report.py."""

import csv
import itertools
import os
import re
import statistics
import subprocess
import sys

import numpy as np
import pytest
from fastweights_study import analysis
from fastweights_study import plotting
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import load_script
from scripts import read_document

from keras_fastweights import models
from keras_fastweights import training

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


ablation_report = load_script("ablation_report")
capacity_report = load_script("capacity_report")

EPOCHS = 3
VARIANTS = ["paper", "no_fast_memory", "decay_0.5"]


def settings(num_pairs=4):
    return {
        "num_pairs": num_pairs,
        "num_train": 640,
        "num_val": 32,
        "num_test": 32,
        "data_seed": 0,
        "epochs": EPOCHS,
        "batch_size": 128,
    }


def point_key(values):
    return tuple(
        values.get(axis)
        for axis in ("model", "units", "variant", "learning_rate", "seed")
    )


def random_results(grid, seed):
    """Made-up results for every point of `grid`, as
    `RetrievalHyperModel.fit` returns them: some runs at 0.00 %, some on
    the key-blind plateau, some marked `diverged` (`RecordedSearch` then
    writes a NaN validation loss into their history)."""
    rng = np.random.default_rng(seed)
    axes = ["model", "units", "variant", "learning_rate", "seed"]
    results = {}
    for values in itertools.product(*(grid.get(a, [None]) for a in axes)):
        if rng.random() < 0.2:
            val_error = round(60 + float(rng.random()), 2)
            test_error = round(61 + float(rng.random()), 4)
        elif rng.random() < 0.3:
            val_error, test_error = 0.0, 0.0
        else:
            val_error = round(float(rng.uniform(0, 40)), 2)
            test_error = round(float(rng.uniform(0, 40)), 4)
        results[point_key(dict(zip(axes, values)))] = {
            "val_accuracy": 1 - val_error / 100,
            "val_loss": float(rng.uniform(0, 2)),
            "test_loss": float(rng.uniform(0, 2)),
            tuning.TEST_ERROR: test_error,
            "epochs": EPOCHS,
            "best_epoch": int(rng.integers(1, EPOCHS + 1)),
            "seconds": 1.0,
            "diverged": bool(rng.random() < 0.25),
        }
    return results


class RecordedSearch(tuning.RetrievalGridSearch):
    """Trains nothing: each trial records the results given for its grid
    point, and a made-up history of EPOCHS epochs beside them."""

    def __init__(self, *args, results, stop_after=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.results = results
        self.stop_after = stop_after
        self.done = 0

    def run_trial(self, trial, *args, **kwargs):
        if self.done == self.stop_after:
            raise KeyboardInterrupt  # as if the search were interrupted
        self.done += 1
        result = dict(self.results[point_key(trial.hyperparameters.values)])
        nan_from = 1 if result.pop("diverged", False) else EPOCHS
        path = os.path.join(
            self.get_trial_dir(trial.trial_id), training.HISTORY_FILENAME
        )
        accuracies = np.linspace(0.4, result["val_accuracy"], EPOCHS)
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["epoch", "val_accuracy", "val_loss"])
            for epoch, accuracy in enumerate(accuracies):
                loss = float("nan") if epoch >= nan_from else 1.0
                writer.writerow([epoch, accuracy, loss])
        return result


def recorded_search(directory, grid, results, num_pairs=4, stop_after=None):
    """A search in `directory` whose trials record `results`."""
    tuning.make_tuner(grid, directory, settings=settings(num_pairs))
    search = RecordedSearch(
        tuning.RetrievalHyperModel(grid, num_pairs=num_pairs),
        results=results,
        stop_after=stop_after,
        directory=directory,
        project_name=tuning.PROJECT_NAME,
    )
    if stop_after is None:
        search.search()
    else:
        with pytest.raises(KeyboardInterrupt):
            search.search()


def ablation_grid(seeds=(0, 1, 2)):
    return tuning.check_grid(
        ["fast_weights"], [8], [1e-3], list(seeds), VARIANTS
    )


def test_variant_descriptions_say_what_changes_and_what_is_kept():
    symbols = {
        "fast_learning_rate": "η",
        "decay_rate": "λ",
        "inner_steps": "S",
    }
    descriptions = {}
    for variant, options in models.FAST_WEIGHTS_VARIANTS.items():
        text = reporting.ablation.variant_description(variant)
        descriptions[variant] = text
        changed, _, kept = text.partition("; ")
        for name, value in options.items():
            if name == "use_layer_norm":
                assert changed == "no layer norm"
            else:
                assert changed.startswith(f"{symbols[name]} = {value:g}")
            assert symbols.get(name, "layer norm") not in kept
    assert len(set(descriptions.values())) == len(descriptions)
    assert descriptions["no_fast_memory"] == (
        "η = 0 (no fast memory); λ = 0.95, S = 1 inner step, layer norm kept"
    )
    assert "λ = 1 (no decay)" in descriptions["decay_1.0"]
    with pytest.raises(ValueError, match="'no_ln'"):
        reporting.ablation.variant_description("no_ln")


@pytest.mark.parametrize(
    "error, stayed",
    [(61.65, True), (57.0, True), (86.4, True), (56.5, False), (1.9, False)],
)
def test_on_plateau_counts_runs_that_never_learned_the_key(error, stayed):
    # 61.65 % is the key-blind error at K = 4; 86.4 % is a run that stayed
    # nearer chance (90 %), which did not learn the key either.
    assert (
        reporting.plateau.on_plateau({"val_error_percent": error}, 4) is stayed
    )
    # A run that reaches `error` at epoch 3 leaves the plateau there, if
    # it ever does.
    history = {"val_accuracy": [0.1, 0.35, 1 - error / 100]}
    assert reporting.plateau.plateau_exit_epoch(history, 4) == (
        None if stayed else 3
    )
    assert "5 points below the key-blind error (61.65 %, K = 4)" in (
        reporting.plateau.plateau_rule(4)
    )


def expected_ablation(grid, results, variant):
    """A variant's summary, computed from the results given to its runs."""
    runs = [
        results[("fast_weights", 8, variant, 1e-3, seed)]
        for seed in grid["seed"]
    ]
    errors = np.array([run[tuning.TEST_ERROR] for run in runs])
    plateau = 100 * analysis.key_blind_bayes(4)[0] - 5
    return {
        "runs": len(runs),
        "test_error_mean": errors.mean(),
        "test_error_std": errors.std(ddof=1) if len(errors) > 1 else None,
        "test_error_min": errors.min(),
        "test_error_max": errors.max(),
        "runs_at_zero": int((errors == 0).sum()),
        "best_epoch_mean": np.mean([run["best_epoch"] for run in runs]),
        "runs_on_plateau": sum(
            100 * (1 - run["val_accuracy"]) >= plateau for run in runs
        ),
        "runs_diverged": sum(run["diverged"] for run in runs),
        "plateau_exit_epochs": " ".join(
            expected_exit(run["val_accuracy"]) for run in runs
        ),
        **expected_pairs(grid, results, variant),
    }


def expected_exit(val_accuracy, num_pairs=4):
    """The first epoch at which `RecordedSearch`'s history of a run with
    this final validation accuracy is more than 5 points below the
    key-blind error (61.65 % at K = 4), or "–"."""
    threshold = 100 * analysis.key_blind_bayes(num_pairs)[0] - 5
    for epoch, accuracy in enumerate(
        np.linspace(0.4, val_accuracy, EPOCHS), start=1
    ):
        if 100 * (1 - accuracy) < threshold:
            return str(epoch)
    return "–"


def expected_pairs(grid, results, variant):
    """Seeds at which `variant` has a higher test error than the paper's
    layer, of the seeds compared; None for the paper's layer."""
    if variant == "paper":
        return {"seeds_worse_than_paper": None, "seeds_paired": None}
    errors = {
        name: [
            results[("fast_weights", 8, name, 1e-3, seed)][tuning.TEST_ERROR]
            for seed in grid["seed"]
        ]
        for name in (variant, "paper")
    }
    return {
        "seeds_worse_than_paper": sum(
            mine > paper for mine, paper in zip(*errors.values())
        ),
        "seeds_paired": len(grid["seed"]),
    }


@pytest.mark.parametrize("seed", [0, 1])
def test_ablation_report_summarises_each_variant(tmp_path, seed, capsys):
    grid = ablation_grid()
    results = random_results(grid, seed)
    search, output = tmp_path / "search", tmp_path / "results"
    recorded_search(search, grid, results)
    argv = ["--directory", str(search), "--output", str(output)]
    assert ablation_report.main(argv) == 0
    assert "9 of 9 runs finished" in capsys.readouterr().out

    rows = reporting.common.read_csv(output / "ablation.csv")
    assert [row["variant"] for row in rows] == VARIANTS
    for row in rows:
        expected = expected_ablation(grid, results, row["variant"])
        for name, value in expected.items():
            # The table rounds errors to 4 decimals, epochs to 2.
            rounding = 5e-3 if name == "best_epoch_mean" else 1e-4
            if value is None:
                assert row[name] is None, name
            elif isinstance(value, str):
                # read_csv reads a single epoch as a number.
                assert str(row[name]) == value, name
            else:
                assert row[name] == pytest.approx(value, abs=rounding), name
        assert row["seeds"] == "0 1 2"
        assert row["description"] == reporting.ablation.variant_description(
            row["variant"]
        )
    runs = reporting.common.read_csv(output / "ablation_runs.csv")
    assert len(runs) == 9
    for run in runs:
        key = ("fast_weights", 8, run["variant"], 1e-3, run["seed"])
        assert run["test_error_percent"] == results[key][tuning.TEST_ERROR]

    markdown = (output / "ablation.md").read_text()
    lines = markdown.splitlines()
    table = [line for line in lines if line.startswith("| 8 |")]
    assert [line.split(" | ")[1] for line in table] == VARIANTS
    for line, row in zip(table, rows):
        expected = expected_ablation(grid, results, row["variant"])
        cells = line.split(" | ")
        assert cells[4] == (
            f"{expected['test_error_mean']:.2f} ± "
            f"{expected['test_error_std']:.2f}"
        )
        assert cells[6] == f"{expected['runs_at_zero']} of 3"
        assert cells[7] == f"{round(expected['best_epoch_mean'], 2):g}"
        assert cells[8] == f"{expected['runs_on_plateau']} of 3"
        assert cells[9] == expected["plateau_exit_epochs"]
        assert cells[10] == f"{expected['runs_diverged']} of 3"
        assert cells[11] == (
            "–"
            if row["variant"] == "paper"
            else f"{expected['seeds_worse_than_paper']} of 3"
        )
        assert reporting.ablation.variant_description(row["variant"]) in line
    assert "K = 4, R = 8" in lines[0]
    assert lines[-1] == (
        f"Written by `python tuning/ablation_report.py --directory {search} "
        f"--output {output}`."
    )
    assert (output / "ablation.png").read_bytes()[:4] == b"\x89PNG"


def test_partial_ablation_reports_what_has_finished(tmp_path, capsys):
    grid = ablation_grid(seeds=(0, 1))
    results = random_results(grid, 2)
    search, output = tmp_path / "search", tmp_path / "results"
    # Two runs of the paper's layer, one of no_fast_memory, none of decay.
    recorded_search(search, grid, results, stop_after=3)
    argv = ["--directory", str(search), "--output", str(output)]
    assert ablation_report.main(argv) == 0
    assert "3 of 6 runs finished" in capsys.readouterr().out
    rows = reporting.common.read_csv(output / "ablation.csv")
    assert [(r["variant"], r["seeds"], r["runs"]) for r in rows] == [
        ("paper", "0 1", 2),
        ("no_fast_memory", 0, 1),
    ]
    assert rows[1]["test_error_std"] is None
    # Its one run is compared with the paper's layer at seed 0 only.
    assert rows[1]["seeds_paired"] == 1
    variant, paper = (
        results[("fast_weights", 8, name, 1e-3, 0)][tuning.TEST_ERROR]
        for name in ("no_fast_memory", "paper")
    )
    assert rows[1]["seeds_worse_than_paper"] == int(variant > paper)
    assert rows[1]["test_error_mean"] == pytest.approx(
        results[("fast_weights", 8, "no_fast_memory", 1e-3, 0)][
            tuning.TEST_ERROR
        ]
    )
    assert "3 of 6 runs finished. Not run yet: decay_0.5." in (
        (output / "ablation.md").read_text()
    )


def test_ablation_report_errors_name_the_directory(tmp_path):
    missing = tmp_path / "no_such_search"
    with pytest.raises(SystemExit) as error:
        ablation_report.main(
            ["--directory", str(missing), "--output", str(tmp_path)]
        )
    assert str(missing) in str(error.value.code)
    # A search without variants is not an ablation study.
    plain = tmp_path / "plain"
    grid = tuning.check_grid(["lstm"], [8], [1e-3])
    tuning.make_tuner(grid, plain, settings=settings())
    with pytest.raises(SystemExit) as error:
        ablation_report.main(
            ["--directory", str(plain), "--output", str(tmp_path)]
        )
    assert str(plain) in str(error.value.code)
    assert "without variants" in str(error.value.code)


def capacity_searches(tmp_path):
    """Searches at K = 2 and 6 (seed 0) and a Table-1-like one at K = 4
    (three seeds, more models and units); their results by K."""
    searches = {}
    for num_pairs in (2, 4, 6):
        if num_pairs == 4:
            grid = tuning.check_grid(
                ["fast_weights", "lstm", "irnn"],
                [8, 16],
                [1e-3, 1e-2],
                [0, 1, 2],
            )
        else:
            grid = tuning.check_grid(
                ["fast_weights", "lstm"], [8], [1e-3, 1e-2]
            )
        results = random_results(grid, num_pairs)
        directory = tmp_path / f"k{num_pairs}"
        recorded_search(directory, grid, results, num_pairs=num_pairs)
        searches[num_pairs] = (directory, grid, results)
    return searches


def expected_capacity(grid, results, kind):
    """The learning rate best on validation at seed 0, and the runs of
    every seed at it, from the results given to the runs."""
    rate = min(
        grid["learning_rate"],
        key=lambda rate: training.validation_rank(
            results[(kind, 8, None, rate, 0)]["val_accuracy"],
            results[(kind, 8, None, rate, 0)]["val_loss"],
        ),
    )
    return rate, [results[(kind, 8, None, rate, seed)] for seed in grid["seed"]]


def test_capacity_report_against_the_runs(tmp_path, capsys):
    searches = capacity_searches(tmp_path)
    output = tmp_path / "results"
    missing = tmp_path / "k8"
    directories = [str(searches[k][0]) for k in (4, 6, 2)] + [str(missing)]
    argv = ["--directories", *directories, "--units", "8"]
    assert capacity_report.main([*argv, "--output", str(output)]) == 0
    out = capsys.readouterr().out
    assert f"{missing}: not found (not run yet), skipped" in out

    rows = reporting.common.read_csv(output / "capacity.csv")
    assert [(r["model"], r["num_pairs"]) for r in rows] == [
        (kind, k) for kind in ("fast_weights", "lstm") for k in (2, 4, 6)
    ]
    for row in rows:
        directory, grid, results = searches[row["num_pairs"]]
        rate, runs = expected_capacity(grid, results, row["model"])
        errors = [run[tuning.TEST_ERROR] for run in runs]
        assert row["learning_rate"] == rate
        assert row["num_seeds"] == len(grid["seed"])
        assert [float(e) for e in str(row["test_errors"]).split()] == errors
        assert row["test_error_mean"] == pytest.approx(
            np.mean(errors), abs=1e-4
        )
        blind = 100 * analysis.key_blind_bayes(row["num_pairs"])[0]
        assert row["key_blind_error"] == pytest.approx(blind, abs=1e-4)
        assert row["directory"] == str(directory)
        assert row["runs_on_plateau"] == sum(
            100 * (1 - run["val_accuracy"]) >= blind - 5 for run in runs
        )
        exits = [
            expected_exit(run["val_accuracy"], row["num_pairs"]) for run in runs
        ]
        assert str(row["plateau_exit_epochs"]).split() == exits
        assert str(row["best_epochs"]).split() == [
            str(run["best_epoch"]) for run in runs
        ]
    # The made-up runs include both kinds: some stayed, some left.
    assert any(row["runs_on_plateau"] for row in rows)
    assert any(
        epoch != "–"
        for row in rows
        for epoch in str(row["plateau_exit_epochs"]).split()
    )

    markdown = (output / "capacity.md").read_text()
    assert "| Model | K = 2 | K = 4 | K = 6 |" in markdown
    four = next(row for row in rows if row["num_pairs"] == 4)
    assert (
        f"{four['test_error_mean']:.2f} ± {four['test_error_std']:.2f} (3)"
        in markdown
    )
    # Each (model, K) line gives each seed's plateau exit and best epoch.
    assert (
        f"| {four['plateau_exit_epochs']} | {four['best_epochs']} | "
        f"`{four['directory']}` |"
    ) in markdown
    blind = [100 * analysis.key_blind_bayes(k)[0] for k in (2, 4, 6)]
    assert (
        "| key-blind error | " + " | ".join(f"{e:.2f}" for e in blind) + " |"
    ) in markdown
    assert f"- {missing}: not found (not run yet), skipped" in markdown
    assert f"- {searches[4][0]}: K = 4, 24 of 24 runs finished" in markdown
    # Every run of the two models at R = 8 and any learning rate that
    # stayed on its K's plateau is listed, one line each.
    stayed = sorted(
        (kind, k, rate, seed, 100 * (1 - result["val_accuracy"]))
        for k, (_, grid, results) in searches.items()
        for (kind, units, _, rate, seed), result in results.items()
        if kind in ("fast_weights", "lstm")
        and units == 8
        and 100 * (1 - result["val_accuracy"])
        >= 100 * analysis.key_blind_bayes(k)[0] - 5
    )
    assert stayed
    assert f"the key-blind error of their K: {len(stayed)}.\n" in markdown
    for kind, k, rate, seed, error in stayed:
        assert f"| {kind} | {k} | {rate:g} | {seed} | {error:g} |" in markdown
    assert markdown.count("| fast_weights |") + markdown.count(
        "| lstm |"
    ) == len(stayed)
    assert "IRNN" not in markdown
    assert (output / "capacity.png").read_bytes()[:4] == b"\x89PNG"


def test_capacity_report_puts_the_delta_rule_beside_the_hebbian(tmp_path):
    """Searches of fast weights with the delta rule at the same K as the
    paper's give their own rows (`reporting.capacity.DELTA_SERIES`), after fast
    weights' and before the next model's."""
    searches = capacity_searches(tmp_path)
    delta = {}
    for num_pairs in (4, 6):
        grid = tuning.check_grid(
            ["fast_weights"], [8], [1e-3, 1e-2], update_rules=["delta"]
        )
        results = random_results(grid, 10 + num_pairs)
        directory = tmp_path / f"delta_k{num_pairs}"
        recorded_search(directory, grid, results, num_pairs=num_pairs)
        delta[num_pairs] = (directory, grid, results)
    output = tmp_path / "results"
    directories = [str(searches[k][0]) for k in (2, 4, 6)] + [
        str(delta[k][0]) for k in (4, 6)
    ]
    argv = ["--directories", *directories, "--units", "8"]
    assert capacity_report.main([*argv, "--output", str(output)]) == 0
    rows = reporting.common.read_csv(output / "capacity.csv")
    assert [(r["model"], r["num_pairs"]) for r in rows] == [
        ("fast_weights", 2),
        ("fast_weights", 4),
        ("fast_weights", 6),
        (reporting.capacity.DELTA_SERIES, 4),
        (reporting.capacity.DELTA_SERIES, 6),
        ("lstm", 2),
        ("lstm", 4),
        ("lstm", 6),
    ]
    for row in rows:
        if row["model"] != reporting.capacity.DELTA_SERIES:
            continue
        directory, grid, results = delta[row["num_pairs"]]
        rate, runs = expected_capacity(grid, results, "fast_weights")
        assert row["learning_rate"] == rate
        assert row["directory"] == str(directory)
        assert [float(e) for e in str(row["test_errors"]).split()] == [
            run[tuning.TEST_ERROR] for run in runs
        ]
    markdown = (output / "capacity.md").read_text()
    assert "| Fast weights, delta rule | – | " in markdown
    # Two delta searches at one K are refused, naming the series.
    with pytest.raises(SystemExit) as error:
        capacity_report.main(
            ["--directories", str(delta[4][0]), str(delta[4][0])]
            + ["--units", "8", "--output", str(output)]
        )
    assert "both hold Fast weights, delta rule at K = 4" in str(
        error.value.code
    )


def test_capacity_report_errors_name_the_directory(tmp_path):
    not_a_search = tmp_path / "empty"
    not_a_search.mkdir()
    with pytest.raises(SystemExit) as error:
        capacity_report.main(
            ["--directories", str(not_a_search), "--output", str(tmp_path)]
        )
    assert str(not_a_search) in str(error.value.code)

    grid = tuning.check_grid(["lstm"], [8], [1e-3])
    results = random_results(grid, 0)
    first, second = tmp_path / "a", tmp_path / "b"
    for directory in (first, second):
        recorded_search(directory, grid, results, num_pairs=3)
    output = ["--output", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as error:
        capacity_report.main(
            ["--directories", str(first), str(second), "--units", "8", *output]
        )
    assert f"{first} and {second} both hold LSTM at K = 3" in str(
        error.value.code
    )
    with pytest.raises(SystemExit) as error:
        capacity_report.main(
            ["--directories", str(first), "--units", "50", *output]
        )
    assert f"{first} has no R = 50" in str(error.value.code)
    with pytest.raises(SystemExit) as error:
        capacity_report.main(["--directories", str(tmp_path / "k9"), *output])
    assert "none of the searches exists" in str(error.value.code)


def test_errors_by_queried_pair_figure_has_a_panel_per_model(tmp_path):
    errors = {
        "Fast weights": {2: [0.1, 0.0], 4: [0.5, 0.2, 0.3, 0.1]},
        "LSTM": {4: [3.0, 2.5, 3.5, 2.0]},
    }
    path = tmp_path / "by_pair.png"
    figure = plotting.plot_errors_by_queried_pair(errors, path, title="t")
    assert path.read_bytes()[:4] == b"\x89PNG"
    panels = figure.get_axes()
    assert [axes.get_title() for axes in panels] == ["Fast weights", "LSTM"]
    lines = panels[0].get_lines()
    assert [line.get_label() for line in lines] == ["K = 2", "K = 4"]
    assert list(lines[1].get_xdata()) == [1, 2, 3, 4]
    assert list(lines[1].get_ydata()) == errors["Fast weights"][4]


def test_ablation_figure_draws_each_seed_and_the_mean(tmp_path):
    errors = {"paper": [0.5, 1.5, 4.0], "no_layer_norm": [60.0, 62.0, 10.0]}
    curves = {
        "paper": [{"val_accuracy": [0.4, 0.9]}, {"val_accuracy": [0.6, 0.7]}],
        "no_layer_norm": [{"val_accuracy": [0.3, 0.4, 0.5]}],
    }
    path = tmp_path / "ablation.png"
    figure = plotting.plot_ablation(
        errors, path, curves=curves, updates_per_epoch=10, reference=61.6
    )
    assert path.stat().st_size > 0
    error_axes, curve_axes = figure.axes
    lines = {line.get_label(): line for line in error_axes.lines}
    for position, (variant, values) in enumerate(errors.items()):
        x, y = lines[f"{variant}: seeds"].get_data()
        np.testing.assert_allclose(y, values)
        np.testing.assert_allclose(np.round(x), position)
        x, y = lines[f"{variant}: mean"].get_data()
        np.testing.assert_allclose(y, [np.mean(values)])
    bold = [
        label.get_text()
        for label in error_axes.get_xticklabels()
        if label.get_fontweight() == "bold"
    ]
    assert bold == ["paper"]
    curves_drawn = {line.get_label(): line for line in curve_axes.lines}
    x, y = curves_drawn["paper"].get_data()
    np.testing.assert_allclose(x, [10, 20])
    np.testing.assert_allclose(y, [50, 20])
    assert curves_drawn["paper"].get_linewidth() > (
        curves_drawn["no_layer_norm"].get_linewidth()
    )
    np.testing.assert_allclose(
        curves_drawn["key-blind error"].get_data()[1], [61.6, 61.6]
    )


def test_capacity_figure_draws_the_means_seeds_and_key_blind_curve(tmp_path):
    errors = {"Fast weights": {2: [0.1], 4: [0.2, 0.4]}, "LSTM": {4: [3.0]}}
    reference = {k: 100 * analysis.key_blind_bayes(k)[0] for k in (2, 3, 4)}
    path = tmp_path / "capacity.png"
    figure = plotting.plot_capacity(errors, path, reference=reference)
    (axes,) = figure.axes
    lines = {line.get_label(): line.get_data() for line in axes.lines}
    np.testing.assert_allclose(lines["Fast weights"][0], [2, 4])
    np.testing.assert_allclose(lines["Fast weights"][1], [0.1, 0.3])
    np.testing.assert_allclose(lines["Fast weights: seeds"][1], [0.1, 0.2, 0.4])
    np.testing.assert_allclose(lines["LSTM"][1], [3.0])
    np.testing.assert_allclose(lines["key-blind error"][0], [2, 3, 4])
    np.testing.assert_allclose(
        lines["key-blind error"][1], list(reference.values())
    )
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "Fast weights",
        "LSTM",
        "key-blind error",
    ]


def test_ablation_report_reads_a_real_search(tmp_path):
    """One real (tiny) search: the records the trainer writes are read."""
    search, output = tmp_path / "search", tmp_path / "results"
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "tuning", "grid_search.py"),
            *("--models", "fast_weights", "--units", "4"),
            *("--learning-rates", "0.01", "--seeds", "0"),
            *("--variants", "paper", "no_layer_norm"),
            *("--epochs", "1", "--num-train", "64", "--num-val", "32"),
            *("--num-test", "32", "--verbose", "0"),
            *("--directory", str(search)),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    argv = ["--directory", str(search), "--output", str(output)]
    assert ablation_report.main(argv) == 0
    rows = reporting.common.read_csv(output / "ablation.csv")
    runs = reporting.common.read_csv(output / "ablation_runs.csv")
    assert [row["variant"] for row in rows] == ["paper", "no_layer_norm"]
    for row, run in zip(rows, runs):
        assert row["test_error_mean"] == run["test_error_percent"]
        assert row["best_epoch_mean"] == run["best_epoch"] == 1
        # After one epoch on 64 sequences every run is on the plateau.
        assert row["runs_on_plateau"] == 1
        assert row["runs_diverged"] == 0
    assert (output / "ablation.png").stat().st_size > 0


def test_findings_quote_the_committed_ablation():
    """results/findings.md §4's table says what results/ablation.csv and
    ablation_runs.csv say: each seed's test error, the mean ± standard
    deviation, the epochs of leaving the plateau and the paired count, one
    line per variant in the study's order."""
    text = read_document("results", "findings.md")
    header = "| variant | test error (%), seeds 0, 1, 2 |"
    lines = text[text.index(header) :].split("\n\n")[0].splitlines()[2:]
    results = os.path.join(ROOT, "results")
    rows = reporting.common.read_csv(os.path.join(results, "ablation.csv"))
    runs = reporting.common.read_csv(os.path.join(results, "ablation_runs.csv"))
    assert len(lines) == len(rows) == len(models.FAST_WEIGHTS_VARIANTS)
    for line, row in zip(lines, rows):
        _, errors, summary, exits, worse = line.strip("| ").split(" | ")
        assert row["seeds"] == "0 1 2"
        quoted = [
            f"{run['test_error_percent']:g}"
            for run in sorted(runs, key=lambda run: run["seed"])
            if run["variant"] == row["variant"]
        ]
        assert errors.split(", ") == quoted, row["variant"]
        assert summary == (
            f"{row['test_error_mean']:.2f} ± {row['test_error_std']:.2f}"
        )
        assert exits.split(", ") == [
            "never" if epoch == "–" else epoch
            for epoch in str(row["plateau_exit_epochs"]).split()
        ]
        assert worse == (
            "–"
            if row["variant"] == "paper"
            else f"{row['seeds_worse_than_paper']} of {row['seeds_paired']}"
        )


def finished_capacity():
    """results/capacity.csv's rows at R = 50 whose three seeds have all
    finished, by (model, K)."""
    rows = reporting.common.read_csv(
        os.path.join(ROOT, "results", "capacity.csv")
    )
    return {
        (row["model"], row["num_pairs"]): row
        for row in rows
        if row["units"] == 50 and row["seeds"] == "0 1 2"
    }


def test_findings_quote_the_committed_capacity():
    """results/findings.md §2's capacity table says what results/capacity.csv
    says: each (model, K)'s mean ± standard deviation over seeds 0, 1, 2,
    how many of them ended on the key-blind plateau where any did, "–"
    where the three runs have not all finished; its key-blind row is
    section 8's formula; and the sentence under it, on the runs that left
    the plateau, holds."""
    text = read_document("results", "findings.md")
    header = "| model | K = 2 | K = 4 | K = 6 | K = 8 | K = 10 | K = 12 |"
    table = text[text.index(header) :].split("\n\n")[0].splitlines()
    pairs = [
        int(cell.split("= ")[1])
        for cell in table[0].strip("| ").split(" | ")[1:]
    ]
    finished = finished_capacity()
    quoted = {line.strip("| ").split(" | ")[0]: line for line in table[2:]}
    assert sorted(quoted) == ["LSTM", "fast weights", "key-blind error"]
    for label, kind in (("fast weights", "fast_weights"), ("LSTM", "lstm")):
        cells = quoted[label].strip("| ").split(" | ")[1:]
        expected = []
        for num_pairs in pairs:
            row = finished.get((kind, num_pairs))
            if row is None:
                expected.append("–")
                continue
            cell = f"{row['test_error_mean']:.2f} ± {row['test_error_std']:.2f}"
            if row["runs_on_plateau"]:
                cell += f" ({row['runs_on_plateau']} on the plateau)"
            expected.append(cell)
        assert cells == expected, label
    assert quoted["key-blind error"].strip("| ").split(" | ")[1:] == [
        f"{100 * analysis.key_blind_bayes(k)[0]:.2f}" for k in pairs
    ]
    below = " ".join(text[text.index(header) :].split("\n\n")[1].split())
    exits = [
        int(epoch)
        for row in finished.values()
        for epoch in str(row["plateau_exit_epochs"]).split()
        if epoch != "–"
    ]
    if "no run in this table has ended on the plateau" in below:
        assert not any(row["runs_on_plateau"] for row in finished.values())
    claim = re.search(
        r"every one left it by epoch (\d+), those at K ≤ (\d+) by epoch (\d+)",
        below,
    )
    assert claim, "§6 no longer says when the runs left the plateau"
    assert int(claim.group(1)) == max(exits)
    assert int(claim.group(3)) == max(
        int(epoch)
        for (_, num_pairs), row in finished.items()
        if num_pairs <= int(claim.group(2))
        for epoch in str(row["plateau_exit_epochs"]).split()
        if epoch != "–"
    )


def test_findings_read_the_capacity_curve():
    """results/findings.md §2's reading of the capacity curve ("What the curve
    says") holds for results/capacity.csv: each mean, each spread of a
    model's seeds, the comparisons between K and between the models."""
    text = read_document("results", "findings.md")
    start = text.index("**What the curve says.**")
    reading = " ".join(text[start:].split("\n\n")[0].split())
    finished = finished_capacity()

    def mean(model, k):
        return f"{finished[model, k]['test_error_mean']:.2f}"

    def seeds(model, k):
        return [
            float(e) for e in str(finished[model, k]["test_errors"]).split()
        ]

    def spread(model, k):
        errors = seeds(model, k)
        return f"from {min(errors):g} to {max(errors):g} %"

    fast, lstm = "fast_weights", "lstm"
    # Fast weights: up to K = 10, then no higher at K = 12.
    rising = [mean(fast, k) for k in (2, 4, 6, 8, 10)]
    assert rising == sorted(rising, key=float)
    assert float(mean(fast, 12)) <= float(mean(fast, 10))
    assert (
        f"no higher at `K = 12` ({mean(fast, 12)} against {mean(fast, 10)} %)"
        in reading
    )
    assert (
        f"{spread(fast, 10)} at `K = 10` and {spread(fast, 12)} at `K = 12`"
    ) in reading
    # "far more widely than before": five times the widest spread below.
    before = max(
        max(seeds(fast, k)) - min(seeds(fast, k)) for k in (2, 4, 6, 8)
    )
    assert f"they were at most {before:.2f} points apart" in reading
    for k in (10, 12):
        assert max(seeds(fast, k)) - min(seeds(fast, k)) > 5 * before
    best = min(seeds(fast, 12))
    assert f"Their best run at `K = 12`, {best:g} %," in reading
    at_six = seeds(fast, 6)
    assert best < min(at_six)
    assert (
        f"is below every run at `K = 6` ({min(at_six):g} to {max(at_six):g} %)"
        in reading
    )
    bits = analysis.retrieval_information_bits(12)
    assert f"twelve bindings, {bits:.1f} bits" in reading
    # The LSTM: rising with one step down, and a budget that binds.
    lstm_means = [float(mean(lstm, k)) for k in (2, 4, 6, 8, 10, 12)]
    down = [
        k
        for k, previous, current in zip(
            (4, 6, 8, 10, 12), lstm_means, lstm_means[1:]
        )
        if current < previous
    ]
    assert down == [10]
    assert (
        f"({mean(lstm, 10)} % at `K = 10`, from {mean(lstm, 8)} % at `K = 8`, "
        "within the seeds' spread)"
    ) in reading
    assert max(seeds(lstm, 10)) >= min(seeds(lstm, 8))  # the spreads overlap
    at_twelve = (
        f"to {mean(lstm, 12)} % at `K = 12`, its seeds {spread(lstm, 12)}"
    )
    assert at_twelve in reading
    best_epochs = [
        int(e) for e in str(finished[lstm, 12]["best_epochs"]).split()
    ]
    assert (
        f"every LSTM run at `K = 12` had its best epoch at {min(best_epochs)} "
        "or later"
    ) in reading
    # The models compared at every K where both have three seeds.
    both = sorted(k for (model, k) in finished if model == lstm and k >= 4)
    assert f"every `K` from 4 to {both[-1]}." in reading
    for k in both:
        assert float(mean(fast, k)) < float(mean(lstm, k)), k


def test_capacity_error_summary_pools_the_seeds_of_each_model_and_k():
    def run(model, num_pairs, seed, recorded, wrong_by_pair, stored):
        return {
            "model": model,
            "num_pairs": num_pairs,
            "seed": seed,
            "recorded_test_error_percent": recorded,
            "wrong": sum(wrong_by_pair),
            "wrong_stored": stored,
            "stored_by_chance": 0.5 * sum(wrong_by_pair),
            "sequences_by_pair": " ".join(["100"] * num_pairs),
            "wrong_by_pair": " ".join(map(str, wrong_by_pair)),
        }

    rows = [
        run("lstm", 4, 0, 5.0, [2, 4, 6, 8], 19),
        run("lstm", 4, 1, 3.0, [4, 4, 2, 2], 11),
        # Recorded 0 %: its one wrong answer is from another checkpoint.
        run("fast_weights", 2, 0, 0, [1, 0], 1),
        run("fast_weights", 4, 0, 1.0, [1, 1, 1, 1], 4),
        # A recorded error, but no wrong answer to read.
        run("lstm", 6, 0, 0.5, [0] * 6, 0),
    ]
    summary = reporting.capacity.capacity_error_summary(rows)
    assert [(r["model"], r["num_pairs"], r["seeds"]) for r in summary] == [
        ("lstm", 4, "0 1"),
        ("fast_weights", 4, "0"),
    ]
    lstm = summary[0]
    assert (lstm["sequences"], lstm["wrong"]) == (800, 32)
    assert lstm["stored_percent"] == pytest.approx(100 * 30 / 32)
    assert lstm["chance_percent"] == pytest.approx(50)
    assert lstm["error_by_pair_percent"].tolist() == [3, 4, 4, 5]
    effects = analysis.queried_pair_effects([200] * 4, [6, 8, 8, 10])
    assert {key: lstm[key] for key in effects} == effects
    assert summary[1]["trend_z"] == 0

    text = reporting.capacity.capacity_errors_markdown(summary, "python x.py")
    line = "| LSTM | 4 | 0 1 | 32 of 800 | 93.8 | 50.0 | 3.00 4.00 4.00 5.00 |"
    assert line in text
    bounds = (
        f"{analysis.bonferroni_bound(8):.2f} for the largest distance over "
        f"the 8 pairs listed, {analysis.bonferroni_bound(2):.2f} for the "
        "largest |trend z| over the 2 (model, K) listed"
    )
    assert bounds in text
    assert text.endswith("Written by `python x.py`.\n")
    assert "No run recorded" in reporting.capacity.capacity_errors_markdown([])


def test_findings_quote_the_committed_capacity_errors():
    """results/capacity_errors.csv reads every run of results/capacity.csv
    (the same test errors: at K >= 4 the checkpoint it read holds the
    weights its trial tested), and results/findings.md §2's sentences on where
    the wrong answers come from say what it says, at K >= 4: the share of
    wrong answers that are another pair's digit, beside the share if they
    were spread over the nine wrong digits, and the largest distance, in
    binomial standard errors, of a queried pair's error (the seeds pooled)
    from its (model, K)'s error, and the Cochran-Armitage test of a trend of
    the error in the pair's position, each against its Bonferroni bound."""
    results = os.path.join(ROOT, "results")
    cells = reporting.common.read_csv(os.path.join(results, "capacity.csv"))
    rows = reporting.common.read_csv(
        os.path.join(results, "capacity_errors.csv")
    )
    read = {(r["model"], r["num_pairs"], r["seed"]): r for r in rows}
    assert len(read) == len(rows)
    expected = set()
    for cell in cells:
        seeds = str(cell["seeds"]).split()
        errors = str(cell["test_errors"]).split()
        for seed, error in zip(seeds, errors):
            key = (cell["model"], cell["num_pairs"], int(seed))
            expected.add(key)
            assert key in read, f"capacity_errors.csv lacks {key}: rerun it"
            assert read[key]["recorded_test_error_percent"] == float(error)
            if cell["num_pairs"] >= 4:
                assert read[key]["test_error_percent"] == float(error)
    assert set(read) == expected

    stored, chance, distances, trends, pairs = [], [], [], {}, 0
    for model, num_pairs in {(r["model"], r["num_pairs"]) for r in rows}:
        if num_pairs < 4:
            continue
        runs = [
            r
            for r in rows
            if (r["model"], r["num_pairs"]) == (model, num_pairs)
        ]
        wrong = sum(r["wrong"] for r in runs)
        stored.append(100 * sum(r["wrong_stored"] for r in runs) / wrong)
        chance.append(100 * sum(r["stored_by_chance"] for r in runs) / wrong)
        sequences, wrong_by_pair = (
            sum(np.array(str(r[column]).split(), int) for r in runs)
            for column in ("sequences_by_pair", "wrong_by_pair")
        )
        mean = wrong_by_pair.sum() / sequences.sum()
        distances.append(
            np.max(
                np.abs(wrong_by_pair / sequences - mean)
                / np.sqrt(mean * (1 - mean) / sequences)
            )
        )
        pairs += num_pairs
        # Cochran-Armitage: a linear trend of the error in the queried
        # pair's position 1 .. K (positive: newer pairs err more).
        position = np.arange(1, num_pairs + 1)
        excess = np.sum(position * (wrong_by_pair - mean * sequences))
        spread = np.sum(sequences * position**2) - (
            np.sum(sequences * position) ** 2 / sequences.sum()
        )
        trends[model, num_pairs] = excess / np.sqrt(mean * (1 - mean) * spread)

    text = " ".join(read_document("results", "findings.md").split())
    shares = re.search(
        r"([\d.]+) to ([\d.]+) % of the wrong answers were the digit of "
        r"another pair of the sequence, where answers spread over the nine "
        r"wrong digits would give ([\d.]+) to ([\d.]+) %",
        text,
    )
    assert shares, "§6 no longer says what the wrong answers are"
    assert shares.groups() == (
        f"{min(stored):.1f}",
        f"{max(stored):.1f}",
        f"{min(chance):.0f}",
        f"{max(chance):.0f}",
    )

    # Two-sided 5 % over n comparisons (Bonferroni).
    def allowed(n):
        return f"{statistics.NormalDist().inv_cdf(1 - 0.025 / n):.1f}"

    flat = re.search(
        r"no queried pair's error is more than ([\d.]+) binomial standard "
        r"errors from the error of its model and K, inside the ([\d.]+) "
        r"that chance allows among the (\d+) pairs compared",
        text,
    )
    assert flat, "§6 no longer says how the error depends on the pair"
    assert flat.groups() == (
        f"{max(distances):.1f}",
        allowed(pairs),
        str(pairs),
    )
    assert max(distances) < float(allowed(pairs))
    trend = re.search(
        r"finds none: \|z\| is at most ([\d.]+) over the (\d+) \(model, "
        r"K\), inside the ([\d.]+) that \d+ tests allow",
        text,
    )
    assert trend, "§6 no longer says whether the error has a trend in age"
    largest = max(abs(z) for z in trends.values())
    assert trend.groups() == (
        f"{largest:.1f}",
        str(len(trends)),
        allowed(len(trends)),
    )
    assert largest < float(allowed(len(trends)))
    # "its sign changes": fast weights at K = 8 lean to the old pairs, the
    # LSTM at K = 4 to the new.
    assert trends["fast_weights", 8] < 0 < trends["lstm", 4]
    budget = re.search(
        r"every fast-weights run of the table had its best epoch on "
        r"validation at epoch (\d+) or later",
        text,
    )
    assert budget, "§6 no longer says when the runs had their best epoch"
    assert int(budget.group(1)) == min(
        int(epoch)
        for cell in cells
        if cell["model"] == "fast_weights" and cell["seeds"] == "0 1 2"
        for epoch in str(cell["best_epochs"]).split()
    )


def load_copy(directory, tmp_path):
    """`tuning.load_search` of a copy of a committed search (reading a
    search writes its grid back), named as the original."""
    import shutil

    copy = tmp_path / directory.replace("/", "_")
    shutil.copytree(
        os.path.join(ROOT, directory),
        copy,
        ignore=shutil.ignore_patterns("*.weights.h5"),
    )
    search = tuning.load_search(str(copy))
    search["directory"] = directory
    return search


def assert_same_file(written, committed):
    with open(written, newline="") as file:
        got = file.read()
    with open(os.path.join(ROOT, committed), newline="") as file:
        assert got == file.read(), f"{committed} is not what its records give"


@pytest.mark.backend_independent
def test_committed_tables_regenerate_from_the_records(tmp_path):
    """results/table1.csv, ablation.csv and capacity.csv are what the
    committed trial records give, byte for byte: a hand edit of a table,
    or a record changed without its table, fails here."""
    table1 = load_copy("results/table1_search", tmp_path)
    reporting.table1.write_table1(
        table1["runs"], tmp_path / "t", table1["grid"]
    )
    assert_same_file(tmp_path / "t" / "table1.csv", "results/table1.csv")
    assert_same_file(
        tmp_path / "t" / "table1_runs.csv", "results/table1_runs.csv"
    )

    ablation = load_copy("results/ablation_search", tmp_path)
    rows = reporting.ablation.ablation_rows(
        ablation["grid"],
        ablation["runs"],
        ablation["settings"]["num_pairs"],
        ablation["histories"],
    )
    reporting.common.write_csv(
        rows, tmp_path / "ablation.csv", reporting.ablation.ABLATION_COLUMNS
    )
    assert_same_file(tmp_path / "ablation.csv", "results/ablation.csv")

    searches = [table1] + [
        load_copy(f"results/capacity_search/k{pairs}", tmp_path)
        for pairs in (2, 6, 8, 10, 12)
    ]
    rows = reporting.capacity.capacity_rows(
        searches, ["fast_weights", "lstm"], 50
    )
    reporting.common.write_csv(
        rows, tmp_path / "capacity.csv", reporting.capacity.CAPACITY_COLUMNS
    )
    assert_same_file(tmp_path / "capacity.csv", "results/capacity.csv")
