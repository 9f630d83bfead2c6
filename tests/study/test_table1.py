"""Table 1: fastweights_study.reporting.table1 and tuning/report.py."""

import pytest
from fastweights_study import analysis
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import load_script

from keras_fastweights import models

from .records import ROWS
from .records import random_results
from .records import recorded_search

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

report = load_script("report")


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


def test_report_script_writes_the_results(tmp_path, capsys):
    """The report from a search's records (made up, no checkpoints: a
    clone's; tests/study/test_tuning.py::test_table_needs_no_checkpoint
    reads a real one): the tables, the figure at each R, the plateau list,
    and the attention of a saved model."""
    grid = tuning.check_grid(
        ["fast_weights", "lstm"], [50, 8], [0.01], seeds=[0, 1]
    )
    results = random_results(grid, 4)
    search, output = tmp_path / "search", tmp_path / "results"
    recorded_search(search, grid, results)
    saved = tmp_path / "saved.keras"
    models.build_retrieval_model("fast_weights", 8).save(saved)
    argv = ["--directory", str(search), "--output", str(output)]
    assert report.main([*argv, "--attention-model", str(saved)]) == 0
    assert "8 runs; results written to" in capsys.readouterr().out
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
    for row in rows:
        errors = [
            results[(row["model"], row["units"], None, 0.01, seed)][
                tuning.TEST_ERROR
            ]
            for seed in (0, 1)
        ]
        assert row["test_error_mean"] == pytest.approx(
            sum(errors) / 2, abs=1e-4
        )
    assert len(reporting.common.read_csv(output / "table1_runs.csv")) == 8
    assert not list(output.glob("learning_curves_r50.png"))
    # No sensitivity cells, no sensitivity figure.
    assert not list(output.glob("lr_sensitivity*"))
    markdown = (output / "table1.md").read_text()
    assert "| Fast weights |" in markdown
    assert "(0.00)" in markdown and "(1.85)" in markdown
    on_plateau = sum(
        100 * (1 - result["val_accuracy"])
        >= reporting.plateau.key_blind_error(4) - 5
        for result in results.values()
    )
    assert f": {on_plateau} of 8" in (output / "plateau.md").read_text()
    assert (output / "plateau.png").exists() == (on_plateau > 0)

    with pytest.raises(SystemExit) as error:
        report.main([*argv, "--attention-model", str(tmp_path / "no.keras")])
    assert error.value.code == 2
    assert "no.keras" in capsys.readouterr().err.splitlines()[-1]


def test_report_without_a_search_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit) as error:
        report.main(["--directory", str(tmp_path)])
    # A message, not a traceback: sys.exit(text) exits with status 1.
    assert isinstance(error.value.code, str)
    assert "run tuning/grid_search.py" in error.value.code


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


def test_report_puts_the_delta_rule_s_row_beside_table1(tmp_path, capsys):
    """`--beside` adds the delta rule's search as its own row of table1.md
    (no paper value), compared with fast weights by Welch's test, with its
    runs listed; table1.csv and table1_runs.csv stay Table 1's search's. A
    search on other data, or one of the paper's models again, is refused
    naming it; one not run yet is skipped."""
    grid = tuning.check_grid(
        ["fast_weights", "lstm"], [50, 8], [0.01], seeds=[0, 1]
    )
    search, output = tmp_path / "search", tmp_path / "results"
    results = random_results(grid, 4)
    recorded_search(search, grid, results)
    delta_grid = tuning.check_grid(
        ["fast_weights"], [8], [0.01], seeds=[0, 1], update_rules=["delta"]
    )
    delta_results = random_results(delta_grid, 5)
    delta = tmp_path / "delta"
    recorded_search(delta, delta_grid, delta_results)
    argv = ["--directory", str(search), "--output", str(output)]
    assert report.main(argv) == 0
    alone = {
        name: (output / name).read_text()
        for name in reporting.table1.TABLE1_FILENAMES
    }
    missing = tmp_path / "not_yet"
    assert report.main([*argv, "--beside", str(delta), str(missing)]) == 0
    assert f"{missing}: not found (not run yet), skipped" in (
        capsys.readouterr().out
    )
    for name in ("table1.csv", "table1_runs.csv"):
        assert (output / name).read_text() == alone[name], name
    markdown = (output / "table1.md").read_text()
    assert "delta" not in alone["table1.md"]
    errors = [
        delta_results[("fast_weights", 8, None, 0.01, seed)][tuning.TEST_ERROR]
        for seed in (0, 1)
    ]
    mean = sum(errors) / 2
    std = abs(errors[0] - errors[1]) / 2**0.5
    # R = 8 first, then R = 50, where the delta rule has no run.
    assert f"| Fast weights, delta rule | {mean:.2f} ± {std:.2f} | – |" in (
        markdown
    )
    assert f"data (`{delta}`)." in markdown
    hebbian = [
        results[("fast_weights", 8, None, 0.01, seed)][tuning.TEST_ERROR]
        for seed in (0, 1)
    ]
    p = analysis.welch_test(hebbian, errors)["p"]
    assert "| 8 | Fast weights, delta rule | " in markdown
    assert f" | {p:.2g} |\n" in markdown.split("| 8 | Fast weights, delta")[1]
    assert f"Every run of `{delta}`" in markdown
    assert markdown.count("| fast_weights | 8 | delta | 0.01 |") == 2

    # Refused: another budget, or the paper's models again.
    other = tmp_path / "other"
    recorded_search(other, delta_grid, delta_results, num_pairs=6)
    with pytest.raises(SystemExit) as error:
        report.main([*argv, "--beside", str(other)])
    assert f"{other} ran with other settings" in error.value.code
    assert "num_pairs 6 (Table 1: 4)" in error.value.code
    with pytest.raises(SystemExit) as error:
        report.main([*argv, "--beside", str(search)])
    assert "holds runs of fast_weights, lstm" in error.value.code

    # The delta rule's search alone has no fast weights to compare with.
    alone_output = tmp_path / "delta_alone"
    assert (
        report.main(["--directory", str(delta), "--output", str(alone_output)])
        == 0
    )
    markdown = (alone_output / "table1.md").read_text()
    assert "| Fast weights, delta rule |" in markdown
    assert "against each other model" not in markdown


def test_table1_says_a_cell_widens_only_while_one_does(tmp_path):
    """table1.md's heading of the chosen rates says that further rates are
    being tried only while a cell's choice is the end of what it tried."""

    def run(rate, val_error, trial_id):
        return {
            "model": "lstm",
            "units": 8,
            "learning_rate": rate,
            "seed": 0,
            "epochs": 3,
            "best_epoch": 3,
            "val_error_percent": val_error,
            "val_loss": val_error / 100,
            "test_error_percent": val_error,
            "test_loss": val_error / 100,
            "seconds": 1.0,
            "trial_id": trial_id,
        }

    grid = tuning.check_grid(["lstm"], [8], [3e-4, 1e-3, 3e-3], widen=True)
    runs = [run(3e-4, 10, "0000"), run(1e-3, 20, "0001"), run(3e-3, 30, "0002")]
    reporting.table1.write_table1(runs, tmp_path, grid)
    text = (tmp_path / "table1.md").read_text()
    assert "| LSTM | 0.0003 (widening) |" in text
    assert "\nChosen learning rates (widening: further rates are still" in text
    # 1e-4 did worse: 3e-4 is interior, the choice final.
    runs.append(run(1e-4, 40, "0003"))
    reporting.table1.write_table1(runs, tmp_path, grid)
    text = (tmp_path / "table1.md").read_text()
    assert "| LSTM | 0.0003 |" in text
    assert "\nChosen learning rates\n\n" in text
