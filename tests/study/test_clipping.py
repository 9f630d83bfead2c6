"""The gradient-clipping comparison: fastweights_study.reporting.clipping
and tuning/clipping_report.py."""

import numpy as np
import pytest
from fastweights_study import reporting
from fastweights_study import tuning
from scipy import stats
from scripts import load_script

from .records import expected_exit
from .records import random_results
from .records import recorded_search

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

clipping_report = load_script("clipping_report")

SEEDS = [0, 1, 2]


def searches(tmp_path, num_pairs=4):
    """Four recorded searches as tuning/reproduce.sh has them, at R = 8:
    Table 1's (fast weights and the LSTM, unclipped), the ablation's (the
    paper's layer and no_layer_norm, unclipped), and both clipped at 5.
    Returns their directories and the results each search's runs got."""
    grids = {
        "table1": tuning.check_grid(
            ["fast_weights", "lstm"], [8], [1e-3], SEEDS
        ),
        "ablation": tuning.check_grid(
            ["fast_weights"], [8], [1e-3], SEEDS, ["paper", "no_layer_norm"]
        ),
        # Two rates: seed 0 tries both, seeds 1 and 2 run at the better.
        "clipped": tuning.check_grid(
            ["fast_weights"], [8], [1e-3, 3e-3], SEEDS, clipnorms=[5.0]
        ),
        "clipped_no_layer_norm": tuning.check_grid(
            ["fast_weights"],
            [8],
            [1e-3],
            SEEDS,
            ["no_layer_norm"],
            clipnorms=[5.0],
        ),
    }
    directories, results = {}, {}
    for seed, (name, grid) in enumerate(grids.items()):
        results[name] = random_results(grid, seed + 10)
        if name == "clipped":
            # 0.003 loses on validation with seed 0, and diverged.
            results[name][("fast_weights", 8, None, 3e-3, 0)].update(
                val_accuracy=0.3, diverged=True
            )
        directories[name] = tmp_path / name
        recorded_search(directories[name], grid, results[name], num_pairs)
    return directories, results


def chosen_rate(results, variant=None):
    """The rate of the best seed-0 validation accuracy among those tried."""
    tried = [
        rate
        for rate in (1e-3, 3e-3)
        if ("fast_weights", 8, variant, rate, 0) in results
    ]
    return max(
        tried,
        key=lambda rate: results[("fast_weights", 8, variant, rate, 0)][
            "val_accuracy"
        ],
    )


def runs_of(results, variant=None):
    """The runs the table counts: every seed at the chosen rate."""
    rate = chosen_rate(results, variant)
    return [results[("fast_weights", 8, variant, rate, s)] for s in SEEDS]


def errors_of(results, variant=None):
    return [run[tuning.TEST_ERROR] for run in runs_of(results, variant)]


def test_clipping_report_puts_each_cell_beside_its_unclipped_twin(
    tmp_path, capsys
):
    directories, results = searches(tmp_path)
    output = tmp_path / "results"
    argv = ["--directories", *map(str, directories.values())]
    assert clipping_report.main([*argv, "--output", str(output)]) == 0
    assert "4 cells" in capsys.readouterr().out

    rows = reporting.common.read_csv(output / "clipping.csv")
    # The LSTM and the ablation's paper layer (Table 1's comes first) are
    # not compared.
    assert [(r["variant"], r["clipnorm"]) for r in rows] == [
        ("no_layer_norm", 0),
        ("no_layer_norm", 5),
        ("paper", 0),
        ("paper", 5),
    ]
    sides = {
        ("no_layer_norm", 0): (results["ablation"], "no_layer_norm"),
        ("no_layer_norm", 5): (
            results["clipped_no_layer_norm"],
            "no_layer_norm",
        ),
        ("paper", 0): (results["table1"], None),
        ("paper", 5): (results["clipped"], None),
    }
    for row in rows:
        side, variant = sides[(row["variant"], row["clipnorm"])]
        runs, errors = runs_of(side, variant), errors_of(side, variant)
        assert row["learning_rate"] == chosen_rate(side, variant)
        assert row["test_error_mean"] == pytest.approx(
            np.mean(errors), abs=1e-4
        )
        assert row["test_error_std"] == pytest.approx(
            np.std(errors, ddof=1), abs=1e-4
        )
        assert [float(e) for e in str(row["test_errors"]).split()] == errors
        assert row["runs_diverged"] == sum(run["diverged"] for run in runs)
        if row["variant"] == "paper" and row["clipnorm"] == 5:
            # Seed 0 at the rate not chosen counts only among the cell's.
            other = 3e-3 if row["learning_rate"] == 1e-3 else 1e-3
            extra = side[("fast_weights", 8, None, other, 0)]
            assert row["rates_tried"] == "0.001 0.003"
            assert row["cell_runs"] == 4
            assert row["cell_runs_diverged"] == (
                row["runs_diverged"] + extra["diverged"]
            )
            continue
        assert row["cell_runs"] == 3
        assert row["cell_runs_diverged"] == row["runs_diverged"]
        assert str(row["plateau_exit_epochs"]) == " ".join(
            expected_exit(run["val_accuracy"]) for run in runs
        )
        assert row["rates_tried"] == 0.001

    markdown = (output / "clipping.md").read_text()
    for variant, clipped, unclipped in [
        ("paper", results["clipped"], results["table1"]),
        (
            "no_layer_norm",
            results["clipped_no_layer_norm"],
            results["ablation"],
        ),
    ]:
        name = None if variant == "paper" else variant
        p = stats.ttest_ind(
            errors_of(clipped, name),
            errors_of(unclipped, name),
            equal_var=False,
        ).pvalue
        line = next(
            line
            for line in markdown.splitlines()
            if line.startswith(f"| {variant} | 8 | 5 | ")
            and line.count("|") == 7
        )
        assert line.endswith(f"| {p:.2g} |")
    assert "| paper | 8 | none | 0.001 | 0.001 | 0 1 2 |" in markdown
    assert markdown.rstrip().endswith(f"--output {output}`.")


def test_clipping_report_reports_a_partial_comparison(tmp_path, capsys):
    directories, _ = searches(tmp_path)
    output = tmp_path / "results"
    missing = tmp_path / "not_run_yet"
    argv = [str(directories["table1"]), str(missing)]
    assert (
        clipping_report.main(["--directories", *argv, "--output", str(output)])
        == 0
    )
    assert f"{missing}: not run yet, skipped" in capsys.readouterr().out
    # Without a clipped search nothing is compared: the table is empty,
    # and no test is drawn.
    assert reporting.common.read_csv(output / "clipping.csv") == []
    assert "Welch" not in (output / "clipping.md").read_text()


def test_clipping_report_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(SystemExit) as error:
        clipping_report.main(
            ["--directories", str(tmp_path / "nothing"), "--output", "x"]
        )
    assert "nothing" in str(error.value.code)
    # Searches at different K cannot be compared.
    at_k4 = tmp_path / "k4"
    at_k6 = tmp_path / "k6"
    grid = tuning.check_grid(["fast_weights"], [8], [1e-3], [0])
    recorded_search(at_k4, grid, random_results(grid, 0), num_pairs=4)
    recorded_search(at_k6, grid, random_results(grid, 0), num_pairs=6)
    with pytest.raises(SystemExit) as error:
        clipping_report.main(
            ["--directories", str(at_k4), str(at_k6), "--output", "x"]
        )
    assert "K = [4, 6]" in str(error.value.code)
