"""Results tables and figures: keras_fastweights.reporting, tuning/report.py."""

import os
import subprocess
import sys

import numpy as np
import pytest

from keras_fastweights import models
from keras_fastweights import reporting
from keras_fastweights import tuning

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = [
    {"model": "fast_weights", "units": 20, "test_error_percent": 1.5},
    {"model": "fast_weights", "units": 50, "test_error_percent": 0.25},
    {"model": "lstm", "units": 50, "test_error_percent": 12.0},
]


def test_table1_markdown_is_laid_out_like_the_paper():
    lines = reporting.table1_markdown(ROWS).splitlines()
    assert lines[0] == "| Model | R = 20 | R = 50 |"
    assert lines[2] == "| Fast weights | 1.50 | 0.25 |"
    # A cell the rows do not have is shown as missing, not as zero.
    assert lines[3] == "| LSTM | – | 12.00 |"


def test_table1_markdown_puts_the_paper_beside():
    text = reporting.table1_markdown(ROWS, paper=reporting.PAPER_TABLE1)
    assert "| Fast weights | 1.50 (1.81) | 0.25 (0.00) |" in text
    assert "| LSTM | – (60.81) | 12.00 (1.85) |" in text


def test_choose_on_validation_merges_searches_by_validation_error():
    def row(model, pairs, rate, val, test):
        return {
            "model": model,
            "num_pairs": pairs,
            "learning_rate": rate,
            "val_error_percent": val,
            "test_error_percent": test,
        }

    rows = [
        row("fast_weights", 12, 0.001, 73.0, 73.5),
        row("lstm", 12, 0.001, 74.0, 74.8),
        row("fast_weights", 8, 0.001, 4.3, 4.7),
        # A second search of K = 12: better on validation for fast weights
        # only. The choice goes by validation, never by test error.
        row("fast_weights", 12, 0.0003, 28.0, 28.8),
        row("lstm", 12, 0.0003, 75.0, 70.0),
    ]
    chosen = reporting.choose_on_validation(rows, column="num_pairs")
    assert [(r["model"], r["num_pairs"]) for r in chosen] == [
        ("fast_weights", 12),
        ("lstm", 12),
        ("fast_weights", 8),
    ]
    assert [r["learning_rate"] for r in chosen] == [0.0003, 0.001, 0.001]
    assert [r["learning_rates_tried"] for r in chosen] == [
        "0.0003 0.001",
        "0.0003 0.001",
        "0.001",
    ]
    assert rows[0]["learning_rate"] == 0.001  # the input is not changed


def test_csv_round_trip(tmp_path):
    path = tmp_path / "sub" / "table.csv"
    reporting.write_csv(ROWS, path, ["model", "units", "test_error_percent"])
    assert reporting.read_csv(path) == ROWS


def test_plot_learning_curves_writes_an_image(tmp_path):
    history = {"val_loss": [2.3, 1.0, 0.1], "val_accuracy": [0.1, 0.6, 0.99]}
    path = tmp_path / "curves.png"
    figure = reporting.plot_learning_curves(
        {"a": history}, path, updates_per_epoch=10
    )
    assert path.stat().st_size > 1000
    axes = figure.axes
    x, y = axes[0].lines[0].get_data()
    np.testing.assert_array_equal(x, [10, 20, 30])
    np.testing.assert_allclose(y, [-2.3, -1.0, -0.1])
    np.testing.assert_allclose(axes[1].lines[0].get_data()[1], [90, 40, 1])


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
            "--models",
            "fast_weights",
            "lstm",
            "--units",
            "50",
            "--learning-rates",
            "0.01",
            "--num-test",
            "32",
            "--verbose",
            "0",
            "--directory",
            str(search),
            *common,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]

    def report(*flags):
        return subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "tuning", "report.py"),
                "--directory",
                str(search),
                "--output",
                str(output),
                *flags,
            ],
            capture_output=True,
            text=True,
        )

    result = report()
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("table1.csv", "table1.md", "figure2.png", "attention.png"):
        assert (output / name).stat().st_size > 0, name
    markdown = (output / "table1.md").read_text()
    assert "| Fast weights |" in markdown and "(0.00)" in markdown
    assert "| LSTM |" in markdown and "(1.85)" in markdown

    # A clone of the repository has the trial records but no checkpoints:
    # attention.png then needs a saved model.
    for checkpoint in search.glob("**/checkpoint.weights.h5"):
        checkpoint.unlink()
    (output / "attention.png").unlink()
    result = report()
    assert result.returncode == 1
    assert "--attention-model" in result.stderr.splitlines()[-1]
    saved = tmp_path / "saved.keras"
    models.build_retrieval_model("fast_weights", 8).save(saved)
    result = report("--attention-model", str(saved))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (output / "attention.png").stat().st_size > 0
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
    assert result.returncode == 2
    assert "no finished search" in result.stderr.splitlines()[-1]
