"""The capacity curve's reports: fastweights_study.reporting.capacity,
tuning/capacity_report.py and the capacity errors' summary."""

import numpy as np
import pytest
from fastweights_study import analysis
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import load_script

from keras_fastweights import training

from .records import expected_exit
from .records import random_results
from .records import recorded_search

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

capacity_report = load_script("capacity_report")


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
    paper's give their own rows (`reporting.common.DELTA_SERIES`), after fast
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
        (reporting.common.DELTA_SERIES, 4),
        (reporting.common.DELTA_SERIES, 6),
        ("lstm", 2),
        ("lstm", 4),
        ("lstm", 6),
    ]
    for row in rows:
        if row["model"] != reporting.common.DELTA_SERIES:
            continue
        directory, grid, results = delta[row["num_pairs"]]
        rate, runs = expected_capacity(grid, results, "fast_weights")
        assert row["learning_rate"] == rate
        assert row["directory"] == str(directory)
        assert [float(e) for e in str(row["test_errors"]).split()] == [
            run[tuning.TEST_ERROR] for run in runs
        ]
    # The runs a row counts, as capacity_errors.py reads them: the delta
    # rule's, not the Hebbian runs of the same model and rate.
    loaded = [tuning.load_search(directory) for directory in directories]
    counted = {
        (row["model"], row["num_pairs"]): row["runs"]
        for row in reporting.capacity.capacity_rows(
            loaded, ["fast_weights", "lstm"], 8
        )
    }
    for num_pairs, (directory, grid, results) in delta.items():
        _, runs = expected_capacity(grid, results, "fast_weights")
        mine = counted[reporting.common.DELTA_SERIES, num_pairs]
        assert [run["test_error_percent"] for run in mine] == [
            run[tuning.TEST_ERROR] for run in runs
        ]
        assert {run["update_rule"] for run in mine} == {"delta"}
    hebbian = counted["fast_weights", 2]
    assert len(hebbian) == rows[0]["num_seeds"]
    assert all("update_rule" not in run for run in hebbian)
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
