"""The learning-rate sensitivity: fastweights_study.reporting.sensitivity
and what tuning/report.py writes for a search with --sensitivity."""

import numpy as np
import pytest
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import load_script

from .records import random_results
from .records import recorded_search

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

report = load_script("report")

RATES = [1e-3, 3e-3]
SEEDS = [0, 1, 2]


def sensitivity_grid():
    return tuning.check_grid(
        ["fast_weights", "lstm"],
        [8],
        RATES,
        SEEDS,
        sensitivity=[("fast_weights", 8)],
    )


def disagreeing_results(grid):
    """Results where seed 0 prefers 0.001 on validation and the seeds'
    mean prefers 0.003."""
    results = random_results(grid, 3)
    for seed, (slow, fast) in enumerate([(0.9, 0.8), (0.5, 0.95), (0.5, 0.95)]):
        results[("fast_weights", 8, None, 1e-3, seed)]["val_accuracy"] = slow
        results[("fast_weights", 8, None, 3e-3, seed)]["val_accuracy"] = fast
    return results


def test_sensitivity_runs_every_seed_and_says_which_rate_the_mean_takes(
    tmp_path,
):
    grid = sensitivity_grid()
    results = disagreeing_results(grid)
    recorded_search(tmp_path / "search", grid, results)
    search = tuning.load_search(tmp_path / "search")
    rows = reporting.sensitivity.write_sensitivity(
        search["grid"], search["runs"], tmp_path
    )
    # Only the sensitivity cell: the LSTM ran seeds 1 and 2 at one rate.
    assert [(r["model"], r["learning_rate"]) for r in rows] == [
        ("fast_weights", 1e-3),
        ("fast_weights", 3e-3),
    ]
    for row in rows:
        runs = [
            results[("fast_weights", 8, None, row["learning_rate"], s)]
            for s in SEEDS
        ]
        errors = [run[tuning.TEST_ERROR] for run in runs]
        assert row["seeds"] == "0 1 2"
        assert row["test_errors"] == " ".join(f"{e:g}" for e in errors)
        assert row["test_error_mean"] == pytest.approx(np.mean(errors), 1e-4)
        assert (row["test_error_min"], row["test_error_max"]) == (
            min(errors),
            max(errors),
        )
        assert row["val_error_mean"] == pytest.approx(
            100 * (1 - np.mean([run["val_accuracy"] for run in runs])),
            abs=1e-3,
        )
    slow, fast = rows
    assert slow["chosen_on_seed_0"] and not fast["chosen_on_seed_0"]
    assert fast["chosen_on_mean"] and not slow["chosen_on_mean"]
    read = reporting.common.read_csv(tmp_path / "lr_sensitivity.csv")
    assert [row["test_error_mean"] for row in read] == [
        row["test_error_mean"] for row in rows
    ]
    markdown = (tmp_path / "lr_sensitivity.md").read_text()
    assert (
        f"| Fast weights | 8 | 0.001 | {slow['test_error_mean']:g} | 0.003 "
        f"| {fast['test_error_mean']:g} |"
    ) in markdown


def test_no_mean_choice_until_every_rate_has_every_seed(tmp_path):
    grid = sensitivity_grid()
    results = disagreeing_results(grid)
    # Seed 0 at both rates, then one more run: the cell is incomplete.
    recorded_search(tmp_path / "search", grid, results, stop_after=3)
    search = tuning.load_search(tmp_path / "search")
    rows = reporting.sensitivity.sensitivity_rows(
        search["grid"], search["runs"]
    )
    assert [row["chosen_on_seed_0"] for row in rows] == [True, False]
    assert not any(row["chosen_on_mean"] for row in rows)
    markdown = reporting.sensitivity.sensitivity_markdown(rows, SEEDS)
    assert "| Fast weights | 8 | 0.001 | " in markdown.splitlines()[-1]
    assert markdown.splitlines()[-1].endswith("| – | – |")


def test_sensitivity_needs_sensitivity_cells():
    grid = tuning.check_grid(["fast_weights"], [8], RATES, SEEDS)
    with pytest.raises(ValueError, match="--sensitivity"):
        reporting.sensitivity.sensitivity_rows(grid, [])


def test_report_draws_the_sensitivity_of_a_search_with_it(tmp_path):
    grid = sensitivity_grid()
    search, output = tmp_path / "search", tmp_path / "results"
    recorded_search(search, grid, disagreeing_results(grid))
    assert (
        report.main(["--directory", str(search), "--output", str(output)]) == 0
    )
    assert (output / "lr_sensitivity.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        (output / "lr_sensitivity.md")
        .read_text()
        .rstrip()
        .endswith(f"--output {output}`.")
    )
    # A search without sensitivity cells writes none.
    plain, elsewhere = tmp_path / "plain", tmp_path / "elsewhere"
    grid = tuning.check_grid(["fast_weights"], [8], RATES, [0])
    recorded_search(plain, grid, random_results(grid, 0))
    assert (
        report.main(["--directory", str(plain), "--output", str(elsewhere)])
        == 0
    )
    assert not (elsewhere / "lr_sensitivity.png").exists()
