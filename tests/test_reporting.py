"""Results tables and figures: fastweights_study.reporting, tuning/report.py."""

import csv
import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from fastweights_study import analysis
from fastweights_study import plotting
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import read_document

from keras_fastweights import models

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = [
    {"model": "fast_weights", "units": 20, "test_error_percent": 1.5},
    {"model": "fast_weights", "units": 50, "test_error_percent": 0.25},
    {"model": "lstm", "units": 50, "test_error_percent": 12.0},
]


def test_table1_markdown_is_laid_out_like_the_paper():
    lines = reporting.common.table1_markdown(ROWS).splitlines()
    assert lines[0] == "| Model | R = 20 | R = 50 |"
    assert lines[2] == "| Fast weights | 1.50 | 0.25 |"
    # A cell the rows do not have is shown as missing, not as zero.
    assert lines[3] == "| LSTM | – | 12.00 |"


def test_cell_runs_are_the_rows_runs_in_the_order_of_their_seeds():
    row = {
        "model": "lstm",
        "units": 50,
        "learning_rate": 0.003,
        "seeds": "0 1 2",
    }
    run = {"model": "lstm", "units": 50, "learning_rate": 0.003}
    runs = [
        {**run, "seed": 2, "test_error_percent": 4.0},
        {**run, "learning_rate": 0.001, "seed": 0, "test_error_percent": 9.0},
        {**run, "seed": 0, "test_error_percent": 3.0},
        {**run, "units": 20, "seed": 1, "test_error_percent": 8.0},
        {**run, "seed": 3, "test_error_percent": 7.0},
        {**run, "seed": 1, "test_error_percent": 5.0},
    ]
    # Another rate, another R and a seed the row does not count are left
    # out; the rest come in the order of their seeds, whatever the order of
    # the trials (the plateau exits of the study reports follow it).
    chosen = reporting.common.cell_runs(row, runs)
    assert [r["seed"] for r in chosen] == [0, 1, 2]
    assert [r["test_error_percent"] for r in chosen] == [3.0, 5.0, 4.0]


def test_table1_markdown_puts_the_paper_beside():
    text = reporting.common.table1_markdown(
        ROWS, paper=reporting.table1.PAPER_TABLE1
    )
    assert "| Fast weights | 1.50 (1.81) | 0.25 (0.00) |" in text
    assert "| LSTM | – (60.81) | 12.00 (1.85) |" in text


def test_csv_round_trip(tmp_path):
    path = tmp_path / "sub" / "table.csv"
    reporting.common.write_csv(
        ROWS, path, ["model", "units", "test_error_percent"]
    )
    assert reporting.common.read_csv(path) == ROWS


def test_figure2_plots_the_mean_and_range_of_the_seeds(tmp_path):
    seeds = [
        {"test_loss": [2.3, 1.0, 0.1], "test_accuracy": [0.1, 0.6, 0.99]},
        {"test_loss": [2.1, 0.8, 0.3], "test_accuracy": [0.3, 0.8, 0.97]},
    ]
    path = tmp_path / "figure2.png"
    figure = plotting.plot_figure2({"a": seeds}, path, updates_per_epoch=10)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    likelihood, error = figure.axes
    x, y = likelihood.lines[0].get_data()
    np.testing.assert_array_equal(x, [10, 20, 30])
    np.testing.assert_allclose(y, [-2.2, -0.9, -0.2])
    np.testing.assert_allclose(error.lines[0].get_data()[1], [80, 30, 2])
    assert likelihood.lines[0].get_label() == "a (2 seeds)"
    # The band spans the seeds: its vertices include both extremes.
    band = likelihood.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(-2.3) and band.max() == pytest.approx(
        -0.1
    )


def test_validation_curves_with_a_reference_line(tmp_path):
    path = tmp_path / "plateau.png"
    history = {"val_accuracy": [0.38, 0.39]}
    figure = plotting.plot_validation_curves(
        {"run": history}, path, updates_per_epoch=5, reference=61.6
    )
    (axes,) = figure.axes
    np.testing.assert_allclose(axes.lines[0].get_data()[1], [62, 61])
    np.testing.assert_allclose(axes.lines[1].get_data()[1], [61.6, 61.6])


def test_other_settings_are_refused_on_resume(tmp_path):
    grid = tuning.check_grid(["lstm"], [4], [0.01])
    tuning.make_tuner(grid, tmp_path, settings={"num_train": 100})
    with pytest.raises(ValueError, match="another settings"):
        tuning.make_tuner(grid, tmp_path, settings={"num_train": 200})
    assert tuning.load_settings(tmp_path)["settings"] == {"num_train": 100}


def test_report_script_writes_the_results(tmp_path):
    search = tmp_path / "search"
    output = tmp_path / "results"
    common = ["--epochs", "1", "--num-train", "64", "--num-val", "32"]
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "tuning", "grid_search.py"),
            *("--models", "fast_weights", "lstm", "--units", "50", "8"),
            *("--learning-rates", "0.01", "--seeds", "0", "1"),
            *("--num-test", "32", "--verbose", "0"),
            *("--directory", str(search), *common),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # A clone of the repository has the trial records but no checkpoints.
    for checkpoint in search.glob("**/checkpoint.weights.h5"):
        checkpoint.unlink()

    def report(*flags):
        return subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "tuning", "report.py"),
                *("--directory", str(search), "--output", str(output)),
                *flags,
            ],
            capture_output=True,
            text=True,
        )

    saved = tmp_path / "saved.keras"
    models.build_retrieval_model("fast_weights", 8).save(saved)
    result = report("--attention-model", str(saved))
    assert result.returncode == 0, result.stderr[-3000:]
    for name in reporting.table1.TABLE1_FILENAMES + (
        "figure2.png",
        "learning_curves_r8.png",
        "attention.png",
        "plateau.md",
    ):
        assert (output / name).stat().st_size > 0, name
    rows = reporting.common.read_csv(output / "table1.csv")
    assert {(r["model"], r["units"], r["seeds"]) for r in rows} == {
        ("fast_weights", 50, "0 1"),
        ("lstm", 50, "0 1"),
        ("fast_weights", 8, "0 1"),
        ("lstm", 8, "0 1"),
    }
    assert len(reporting.common.read_csv(output / "table1_runs.csv")) == 8
    assert not list(output.glob("learning_curves_r50.png"))
    markdown = (output / "table1.md").read_text()
    assert "| Fast weights |" in markdown
    assert "(0.00)" in markdown and "(1.85)" in markdown
    # After one epoch on 64 sequences every run is still on the plateau.
    assert ": 8 of 8" in (output / "plateau.md").read_text()
    assert (output / "plateau.png").stat().st_size > 0

    result = report("--attention-model", str(tmp_path / "missing.keras"))
    assert result.returncode == 2
    assert "missing.keras" in result.stderr.splitlines()[-1]


def test_report_without_a_search_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(ROOT, "tuning", "report.py"),
            "--directory",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "run tuning/grid_search.py" in result.stderr.splitlines()[-1]


def test_memory_causal_figure_has_a_bar_per_removal(tmp_path):
    rows = [
        {"removed": "nothing", "change": 0.0, "standard_error": 0.0},
        {"removed": "queried value", "change": -0.78, "standard_error": 0.01},
        {"removed": "other key", "change": -0.001, "standard_error": 0.002},
    ]
    path = tmp_path / "causal.png"
    figure = plotting.plot_memory_causal(rows, path, title="t")
    (axes,) = figure.axes
    widths = [patch.get_width() for patch in axes.patches]
    np.testing.assert_allclose(widths, [-0.78, -0.001])
    assert [label.get_text() for label in axes.get_yticklabels()] == [
        "queried value",
        "other key",
    ]
    assert path.stat().st_size > 0


def test_readmes_quote_the_committed_table1():
    """README.md's Table 1 shows the mean ± standard deviation of
    results/table1.csv for every cell with its three seeds ("–" for the
    others) beside the paper's value, and both READMEs count the runs of
    results/table1_runs.csv."""
    results = os.path.join(ROOT, "results")
    rows = {
        (row["model"], row["units"]): row
        for row in reporting.common.read_csv(
            os.path.join(results, "table1.csv")
        )
    }
    readme = read_document("README.md")
    header = "| Model | R = 20 | R = 50 | R = 100 |"
    lines = readme[readme.index(header) :].split("\n\n")[0].splitlines()[2:]
    lines = [line.strip().strip("|").split(" | ") for line in lines]
    names = {name: model for model, name in models.PAPER_NAMES.items()}
    assert sorted(line[0].strip() for line in lines) == sorted(names)
    for name, *cells in lines:
        model = names[name.strip()]
        for units, cell in zip((20, 50, 100), cells):
            row = rows.get((model, units))
            paper = f"({reporting.table1.PAPER_TABLE1[(model, units)]:.2f})"
            if row is None or row["seeds"] != "0 1 2":
                expected = f"– {paper}"
            else:
                expected = (
                    f"{row['test_error_mean']:.2f} ± "
                    f"{row['test_error_std']:.2f} {paper}"
                )
            # † marks a cell whose learning rate is still being widened.
            if row is not None and row["choice"] == "widening":
                expected += " †"
            assert cell.strip() == expected, (model, units)

    finished = len(
        reporting.common.read_csv(os.path.join(results, "table1_runs.csv"))
    )
    status = read_document("results", "README.md")
    # "N runs have finished", at least once in each README.
    for text in (readme, status):
        counts = [
            int(count)
            for count in re.findall(
                r"(\d+) runs have finished", " ".join(text.split())
            )
        ]
        assert counts and all(count == finished for count in counts), counts


def quoted_causal_readings(text, header, runs):
    """Checks each line of the Markdown table under `header` in `text`
    against the memory_causal.csv of its run: `runs[(first column,
    seed)]`, a name of whose directory in results/memory_causal_seeds is
    its `"causal"`. Returns each run's CSV rows by what they removed."""
    readings = {}
    directory = os.path.join(ROOT, "results", "memory_causal_seeds")
    lines = text[text.index(header) :].split("\n\n")[0].splitlines()[2:]
    assert sorted(
        (int(line.split("|")[1]), int(line.split("|")[2])) for line in lines
    ) == sorted(runs), f"the table under {header!r} lists other runs"
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        run = runs[int(cells[0]), int(cells[1])]
        assert cells[2] == f"{run['test_error_percent']:g}"
        path = os.path.join(directory, run["causal"], "memory_causal.csv")
        with open(path) as file:
            rows = {row["removed"]: row for row in csv.DictReader(file)}
        readings[int(cells[0]), int(cells[1])] = rows
        quoted = [float(cell.replace("−", "-")) for cell in cells[3:]]
        assert quoted == [
            round(float(rows[removed][column]), 3)
            for removed, column in (
                ("nothing", "probability"),
                ("queried value", "change"),
                ("every state but the queried value", "probability"),
                ("every stored state", "probability"),
            )
        ], (cells[0], cells[1])
    return readings


def test_results_readme_quotes_the_committed_causal_readings():
    """results/README.md's tables of the causal reading by seed say what
    results/memory_causal_seeds/*/memory_causal.csv say: for fast weights'
    Table 1 runs at each R's chosen learning rate and seeds 0-2, for the
    capacity curve's runs at each K > 4 with three seeds, and for the
    longer budget at R = 100 beside Table 1's runs there."""
    results = os.path.join(ROOT, "results")
    text = read_document("results", "README.md")
    chosen = {
        row["units"]: row
        for row in reporting.common.read_csv(
            os.path.join(results, "table1.csv")
        )
        if row["model"] == "fast_weights"
    }
    table1 = {
        (run["units"], run["seed"]): dict(
            run, causal=f"trial_{int(run['trial_id']):04d}"
        )
        for run in reporting.common.read_csv(
            os.path.join(results, "table1_runs.csv")
        )
        if run["model"] == "fast_weights"
        and run["learning_rate"] == chosen[run["units"]]["learning_rate"]
    }
    assert len(table1) == 9
    quoted_causal_readings(
        text,
        "| R | seed | test error (%) | p, whole memory |",
        table1,
    )

    capacity = [
        row
        for row in reporting.common.read_csv(
            os.path.join(results, "capacity.csv")
        )
        if row["model"] == "fast_weights"
        and row["num_pairs"] > 4
        and row["seeds"] == "0 1 2"
    ]
    runs = {}
    for row in capacity:
        search = os.path.join(
            results, "capacity_search", f"k{row['num_pairs']}"
        )
        for path in glob.glob(
            os.path.join(search, "*", "trial_*", "trial.json")
        ):
            with open(path) as file:
                trial = json.load(file)
            values = trial["hyperparameters"]["values"]
            if (
                trial["status"] == "COMPLETED"
                and values["model"] == "fast_weights"
                and values["learning_rate"] == row["learning_rate"]
            ):
                metrics = trial["metrics"]["metrics"][tuning.TEST_ERROR]
                runs[row["num_pairs"], values["seed"]] = {
                    "test_error_percent": metrics["observations"][0]["value"][
                        0
                    ],
                    "causal": f"k{row['num_pairs']}_"
                    + os.path.basename(os.path.dirname(path)),
                }
    assert runs
    readings = quoted_causal_readings(
        text, "| K | seed | test error (%) | p, whole memory |", runs
    )
    # The longer budget at R = 100: Table 1's runs at its learning rate and
    # 100 epochs beside the same seeds' 300-epoch runs.
    longer = os.path.join(results, "longer_budget", "r100_search")
    longer_runs = reporting.common.read_csv(
        os.path.join(longer, "table1_runs.csv")
    )
    budget = {
        (100, run["seed"]): dict(
            run, causal=f"trial_{int(run['trial_id']):04d}"
        )
        for run in reporting.common.read_csv(
            os.path.join(results, "table1_runs.csv")
        )
        if run["model"] == "fast_weights"
        and run["units"] == 100
        and run["learning_rate"] == longer_runs[0]["learning_rate"]
    }
    assert len(budget) == 3
    for run in longer_runs:
        budget[run["epochs"], run["seed"]] = dict(
            run, causal=f"longer_r100_trial_{int(run['trial_id']):04d}"
        )
    assert len(budget) == 6
    quoted_causal_readings(
        text,
        "| epochs | seed | test error (%) | p, whole memory |",
        budget,
    )
    # results/findings.md §2 sums these runs up: which K, and what removing
    # the queried digit's state costs, at least and at most.
    method = " ".join(read_document("results", "findings.md").split())
    claim = re.search(
        r"At `K = (\d+)`([\d, and]*) every fast-weights run of the table "
        r"still answers by §3's look-up \(removing the queried "
        r"digit's state costs ([\d.]+) to ([\d.]+) in probability",
        method,
    )
    assert claim, "findings §2 no longer sums up the causal readings by K"
    listed = re.findall(r"\d+", claim.group(1) + claim.group(2))
    assert [int(k) for k in listed] == sorted(
        {num_pairs for num_pairs, _ in runs}
    )
    costs = [
        -float(rows["queried value"]["change"]) for rows in readings.values()
    ]
    assert (claim.group(3), claim.group(4)) == (
        f"{min(costs):.2f}",
        f"{max(costs):.2f}",
    )


@pytest.mark.backend_independent
def test_welch_test_and_the_comparisons_of_table1():
    from scipy import stats

    a, b = [0.375, 0.055, 0.17], [3.08, 4.395, 4.01]
    got = analysis.welch_test(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False)
    assert got["t"] == pytest.approx(expected.statistic)
    assert got["p"] == pytest.approx(expected.pvalue)
    assert analysis.welch_test([1, 1], [1, 1])["p"] == 1.0
    assert analysis.welch_test([1, 1], [2, 2])["p"] == 0.0
    with pytest.raises(ValueError, match="1 and 3"):
        analysis.welch_test([1], b)

    runs = [
        dict(model=m, units=50, learning_rate=r, seed=s, test_error_percent=e)
        for m, r, errors in (("fast_weights", 3e-4, a), ("lstm", 3e-3, b))
        for s, e in enumerate(errors)
    ]
    rows = [
        dict(model="fast_weights", units=50, learning_rate=3e-4, seeds="0 1 2"),
        dict(model="lstm", units=50, learning_rate=3e-3, seeds="0 1"),
    ]
    lines = reporting.table1.comparisons_markdown(rows, runs).splitlines()
    p = analysis.welch_test(a, b[:2])["p"]
    assert (
        lines[2]
        == f"| 50 | LSTM | 0.2 (0.055–0.375) | 3.74 (3.08–4.395) | {p:.2g} |"
    )
