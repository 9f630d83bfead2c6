"""The grid search (keras_fastweights.tuning and tuning/grid_search.py)."""

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time

import keras_tuner
import pytest

from keras_fastweights import tuning

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "tuning", "grid_search.py")
sys.path.insert(0, os.path.join(ROOT, "tuning"))
import grid_search  # noqa: E402

# Tiny data: these tests check the search's bookkeeping, not learning.
TINY = [
    "--epochs",
    "1",
    "--num-train",
    "64",
    "--num-val",
    "32",
    "--num-test",
    "32",
    "--verbose",
    "0",
]


class BookkeepingSearch(tuning.RetrievalGridSearch):
    """Runs no training: each trial's result is a function of its values."""

    def __init__(self, *args, log, stop_after=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = log
        self.stop_after = stop_after

    def run_trial(self, trial, *args, **kwargs):
        if self.stop_after is not None and len(self.log) == self.stop_after:
            raise KeyboardInterrupt  # as if Ctrl-C came during this trial
        values = trial.hyperparameters.values
        self.log.append(
            (values["model"], values["units"], values["learning_rate"])
        )
        return {
            "val_accuracy": values["units"] / 1000 + values["learning_rate"],
            "val_loss": 1.0,
            "epochs": 1,
            "best_epoch": 1,
            "seconds": 0.0,
        }


def bookkeeping_search(grid, directory, log, overwrite=False, stop_after=None):
    return BookkeepingSearch(
        tuning.RetrievalHyperModel(grid),
        log=log,
        stop_after=stop_after,
        directory=directory,
        project_name=tuning.PROJECT_NAME,
        overwrite=overwrite,
    )


GRID = tuning.check_grid(["fast_weights", "lstm"], [8, 16], [1e-3, 1e-2, 3e-2])


def test_grid_enumerates_models_units_and_learning_rates(tmp_path):
    log = []
    bookkeeping_search(GRID, tmp_path, log).search()
    expected = set(
        itertools.product(GRID["model"], GRID["units"], GRID["learning_rate"])
    )
    assert len(log) == len(expected) == 12
    assert set(log) == expected
    # One learning rate for the whole table before the next, in order.
    assert [rate for _, _, rate in log] == [1e-3] * 4 + [1e-2] * 4 + [3e-2] * 4


def test_interrupted_search_resumes_without_running_a_trial_twice(tmp_path):
    log = []
    with pytest.raises(KeyboardInterrupt):
        bookkeeping_search(GRID, tmp_path, log, stop_after=5).search()
    assert len(log) == 5
    resumed = []
    bookkeeping_search(GRID, tmp_path, resumed).search()
    # The interrupted trial runs again; the five finished ones do not.
    assert not set(resumed) & set(log)
    assert len(resumed) == 7
    assert set(log) | set(resumed) == set(
        itertools.product(GRID["model"], GRID["units"], GRID["learning_rate"])
    )
    again = []
    bookkeeping_search(GRID, tmp_path, again).search()
    assert again == []


def test_overwrite_starts_over(tmp_path):
    bookkeeping_search(GRID, tmp_path, []).search()
    log = []
    bookkeeping_search(GRID, tmp_path, log, overwrite=True).search()
    assert len(log) == 12


def test_resuming_another_grid_is_refused(tmp_path):
    tuning.make_tuner(GRID, tmp_path)
    other = tuning.check_grid(["fast_weights"], [8], [1e-3])
    with pytest.raises(ValueError, match="another grid"):
        tuning.make_tuner(other, tmp_path)
    tuning.make_tuner(other, tmp_path, overwrite=True)


@pytest.mark.parametrize(
    "kinds, units, rates, message",
    [
        ([], [8], [1e-3], "at least one model"),
        (["fast_weights"], [], [1e-3], "at least one units"),
        (["fast_weights"], [8], [], "at least one learning_rate"),
        (["gru"], [8], [1e-3], "'gru'"),
        (["fast_weights"], [0], [1e-3], "units=0"),
        (["fast_weights"], [8], [-0.1], "learning_rate=-0.1"),
        (["fast_weights"], [8, 8], [1e-3], "repeats a units"),
    ],
)
def test_check_grid_rejects_bad_grids(kinds, units, rates, message):
    with pytest.raises(ValueError, match=message):
        tuning.check_grid(kinds, units, rates)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--units"], "expected at least one argument"),
        (["--models", "gru"], "invalid choice: 'gru'"),
        (["--units", "0"], "must be positive, got 0"),
        (["--units", "-5"], "must be positive, got -5"),
        (["--learning-rates", "0"], "must be positive, got 0"),
        (["--learning-rates", "abc"], "not a number: 'abc'"),
        (["--units", "8", "8"], "repeats a units"),
    ],
)
def test_bad_flags_give_a_one_line_error(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        grid_search.parse_args(flags)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error and "Traceback" not in error


def run_script(args, env=None, **kwargs):
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        **kwargs,
    )


def read_oracle(directory):
    with open(directory / tuning.PROJECT_NAME / "oracle.json") as file:
        return json.load(file)


def trial_records(directory):
    """Each finished trial's values and best val_accuracy, from its json."""
    records = []
    project = directory / tuning.PROJECT_NAME
    for name in sorted(os.listdir(project)):
        path = project / name / "trial.json"
        if name.startswith("trial_") and path.exists():
            with open(path) as file:
                trial = json.load(file)
            if trial["status"] == "COMPLETED":
                records.append(trial)
    return records


def check_table(directory, grid):
    """The table has the best-on-validation trial for each (model, units)."""
    with open(directory / "table1.csv") as file:
        rows = list(csv.DictReader(file))
    assert set(tuning.TABLE_COLUMNS) <= set(rows[0])
    assert {(r["model"], int(r["units"])) for r in rows} == set(
        itertools.product(grid["model"], grid["units"])
    )
    records = trial_records(directory)
    for row in rows:
        candidates = [
            t
            for t in records
            if t["hyperparameters"]["values"]["model"] == row["model"]
            and t["hyperparameters"]["values"]["units"] == int(row["units"])
        ]
        best = max(
            t["metrics"]["metrics"]["val_accuracy"]["observations"][0]["value"][
                0
            ]
            for t in candidates
        )
        chosen = next(t for t in candidates if t["trial_id"] == row["trial_id"])
        value = chosen["metrics"]["metrics"]["val_accuracy"]
        assert value["observations"][0]["value"][0] == best
        assert (
            float(row["learning_rate"])
            == (chosen["hyperparameters"]["values"]["learning_rate"])
        )
        assert 0 <= float(row["test_error_percent"]) <= 100
        assert int(row["epochs"]) == 1
        assert len(row["learning_rates_tried"].split()) == len(candidates)
    markdown = (directory / "table1.md").read_text()
    assert "| Fast weights |" in markdown and "R = 8" in markdown


def test_command_line_search_writes_the_table_and_resumes(tmp_path):
    """The issue's command: 4 trials, a table, and a rerun with no trial."""
    args = [
        "--models",
        "fast_weights",
        "--units",
        "8",
        "16",
        "--learning-rates",
        "0.001",
        "0.01",
        "--directory",
        str(tmp_path),
        *TINY,
    ]
    first = run_script(args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("trials done] next:") == 4
    assert "4 of 4 trials complete" in first.stdout
    check_table(
        tmp_path, tuning.check_grid(["fast_weights"], [8, 16], [1e-3, 1e-2])
    )

    second = run_script(args)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "trials done] next:" not in second.stdout
    assert "4 of 4 trials complete" in second.stdout
    assert set(read_oracle(tmp_path)["run_times"].values()) == {1}


def read_table(directory):
    with open(directory / "table1.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_table_needs_no_checkpoint(tmp_path):
    """A clone of committed trial records (no checkpoints) gives the same
    table: each trial records its test error."""
    args = [
        *("--models", "fast_weights", "lstm", "--units", "8"),
        *("--learning-rates", "0.01", "--directory", str(tmp_path), *TINY),
    ]
    first = run_script(args)
    assert first.returncode == 0, first.stderr[-3000:]
    table = read_table(tmp_path)
    trials = sorted((tmp_path / tuning.PROJECT_NAME).glob("trial_*"))
    for row, trial in zip(table, trials):
        with open(trial / "trial.json") as file:
            metrics = json.load(file)["metrics"]["metrics"]
        recorded = metrics[tuning.TEST_ERROR]["observations"][0]["value"][0]
        assert float(row["test_error_percent"]) == recorded
        (trial / "checkpoint.weights.h5").unlink()

    again = run_script([*args, "--table-only"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert read_table(tmp_path) == table

    # A trial of an older search, which did not record its test error, and
    # whose checkpoint is gone: an empty cell and a warning, not a crash.
    path = trials[0] / "trial.json"
    with open(path) as file:
        record = json.load(file)
    del record["metrics"]["metrics"][tuning.TEST_ERROR]
    with open(path, "w") as file:
        json.dump(record, file)
    old = run_script([*args, "--table-only"])
    assert old.returncode == 0, old.stderr[-3000:]
    assert "Trial 0000 has neither a recorded test error" in old.stderr
    rows = read_table(tmp_path)
    assert rows[0]["test_error_percent"] == ""
    assert rows[1] == table[1]


def test_table_only_runs_no_trial(tmp_path):
    args = [
        "--models",
        "lstm",
        "--units",
        "4",
        "--learning-rates",
        "0.01",
        "0.001",
        "--directory",
        str(tmp_path),
        *TINY,
    ]
    stopped = []
    with pytest.raises(KeyboardInterrupt):
        bookkeeping_search(
            tuning.check_grid(["lstm"], [4], [0.01, 0.001]),
            tmp_path,
            stopped,
            stop_after=0,
        ).search()
    result = run_script([*args, "--table-only"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 of 2 trials complete" in result.stdout
    assert "trials done] next:" not in result.stdout


def test_killed_search_resumes(tmp_path):
    """SIGKILL in the middle: finished trials are kept and not run again."""
    args = [
        "--models",
        "fast_weights",
        "lstm",
        "--units",
        "4",
        "8",
        "--learning-rates",
        "0.01",
        "--directory",
        str(tmp_path),
        *TINY,
    ]
    process = subprocess.Popen(
        [sys.executable, SCRIPT, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    oracle_path = tmp_path / tuning.PROJECT_NAME / "oracle.json"
    deadline = time.monotonic() + 300
    finished = []
    while time.monotonic() < deadline and process.poll() is None:
        if oracle_path.exists():
            try:
                finished = read_oracle(tmp_path)["end_order"]
            except (json.JSONDecodeError, KeyError):
                finished = []
            if len(finished) >= 2:
                break
        time.sleep(0.2)
    assert process.poll() is None, "the search ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 2 <= len(finished) < 4

    resumed = run_script(args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run_times = read_oracle(tmp_path)["run_times"]
    assert all(run_times[trial] == 1 for trial in finished)
    assert len(trial_records(tmp_path)) == 4
    check_table(
        tmp_path, tuning.check_grid(["fast_weights", "lstm"], [4, 8], [0.01])
    )


def test_one_chief_and_two_workers_on_loopback(tmp_path):
    args = [
        "--models",
        "fast_weights",
        "lstm",
        "--units",
        "4",
        "8",
        "--learning-rates",
        "0.01",
        "--directory",
        str(tmp_path),
        *TINY,
        "--workers",
        "2",
    ]
    result = run_script(args, timeout=500)
    assert result.returncode == 0, result.stderr[-3000:]
    oracle = read_oracle(tmp_path)
    # Every trial of the grid ran exactly once, and none is left running.
    assert sorted(oracle["run_times"]) == ["0000", "0001", "0002", "0003"]
    assert set(oracle["run_times"].values()) == {1}
    assert oracle["ongoing_trials"] == {}
    assert len(trial_records(tmp_path)) == 4
    check_table(
        tmp_path, tuning.check_grid(["fast_weights", "lstm"], [4, 8], [0.01])
    )
    # Resuming a finished distributed search runs nothing.
    again = run_script([a for a in args if a not in ("--workers", "2")])
    assert again.returncode == 0 and "trials done] next:" not in again.stdout


def test_workers_flag_refuses_an_existing_chief(capsys):
    os.environ["KERASTUNER_TUNER_ID"] = "chief"
    try:
        with pytest.raises(SystemExit):
            grid_search.parse_args(["--workers", "2"])
    finally:
        del os.environ["KERASTUNER_TUNER_ID"]
    assert "unset KERASTUNER_" in capsys.readouterr().err


def test_tensorboard_is_importable_for_keras_tuner():
    """keras-tuner imports tensorboard on the TensorFlow backend."""
    import tensorboard  # noqa: F401

    assert keras_tuner.__version__
