"""Table 1: fastweights_study.reporting.table1 and tuning/report.py."""

import os
import subprocess
import sys

import pytest
from fastweights_study import analysis
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import ROOT

from keras_fastweights import models

from .records import ROWS
from .records import run_grid_search

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent


def test_table1_markdown_is_laid_out_like_the_paper():
    lines = reporting.common.table1_markdown(ROWS).splitlines()
    assert lines[0] == "| Model | R = 20 | R = 50 |"
    assert lines[2] == "| Fast weights | 1.50 | 0.25 |"
    # A cell the rows do not have is shown as missing, not as zero.
    assert lines[3] == "| LSTM | – | 12.00 |"


def test_table1_markdown_puts_the_paper_beside():
    text = reporting.common.table1_markdown(
        ROWS, paper=reporting.table1.PAPER_TABLE1
    )
    assert "| Fast weights | 1.50 (1.81) | 0.25 (0.00) |" in text
    assert "| LSTM | – (60.81) | 12.00 (1.85) |" in text


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
    run_grid_search(
        search,
        *("--models", "fast_weights", "lstm", "--units", "50", "8"),
        *("--learning-rates", "0.01", "--seeds", "0", "1"),
        *("--num-test", "32", *common),
    )
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
