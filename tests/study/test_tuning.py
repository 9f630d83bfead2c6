"""The grid search (fastweights_study.tuning and tuning/grid_search.py)."""

import csv
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

import keras
import keras_tuner
import numpy as np
import pytest
from fastweights_study import cli as study_cli
from fastweights_study import reporting
from fastweights_study import tuning
from library import test_example as example
from scripts import ROOT
from scripts import load_script
from scripts import run_script

from keras_fastweights import models
from keras_fastweights import training
from keras_fastweights.datasets import associative_retrieval

from .interrupt import StopAtEpoch
from .records import random_results
from .records import recorded_search

GRID_SEARCH = "tuning/grid_search.py"
SCRIPT = os.path.join(ROOT, GRID_SEARCH)
grid_search = load_script("grid_search")
capacity_errors = load_script("capacity_errors")
memory_causal = load_script("memory_causal")

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
    """Runs no training: each trial's result is a function of its values,
    best on validation at the largest learning rate."""

    def __init__(self, *args, log, stop_after=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.log = log
        self.stop_after = stop_after

    def run_trial(self, trial, *args, **kwargs):
        if self.stop_after is not None and len(self.log) == self.stop_after:
            raise KeyboardInterrupt  # as if Ctrl-C came during this trial
        values = trial.hyperparameters.values
        self.log.append(
            (
                values["model"],
                values["units"],
                values["learning_rate"],
                values["seed"],
            )
        )
        return {
            "val_accuracy": values["units"] / 1000 + values["learning_rate"],
            "val_loss": 1.0 - values["seed"] / 10,
            tuning.TEST_ERROR: float(values["seed"]),
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


GRID = tuning.check_grid(
    ["fast_weights", "lstm"], [8, 16], [1e-3, 1e-2, 3e-2], seeds=[0, 1, 2]
)
# Per (units, model): three learning rates at seed 0, then seeds 1 and 2 at
# the one best on validation (3e-2 in BookkeepingSearch).
EXPECTED = [
    (kind, units, rate, seed)
    for units, kind in itertools.product(GRID["units"], GRID["model"])
    for rate, seed in [(1e-3, 0), (1e-2, 0), (3e-2, 0), (3e-2, 1), (3e-2, 2)]
]


@pytest.mark.backend_independent
def test_protocol_chooses_the_learning_rate_then_runs_the_seeds(tmp_path):
    log = []
    bookkeeping_search(GRID, tmp_path, log).search()
    assert log == EXPECTED
    assert tuning.grid_size(GRID) == len(EXPECTED) == 20


@pytest.mark.backend_independent
def test_protocol_waits_for_a_cell_s_learning_rates():
    done = [
        dict(
            model="lstm",
            units=8,
            learning_rate=rate,
            seed=0,
            val_accuracy=accuracy,
            val_loss=loss,
        )
        for rate, accuracy, loss in [(1e-3, 0.9, 0.2), (1e-2, 0.9, 0.1)]
    ]
    grid = tuning.check_grid(["lstm"], [8], [1e-3, 1e-2, 3e-2], [0, 5])
    # 3e-2 has not run: no seed 5 yet.
    assert [p["seed"] for p in tuning.protocol_points(grid, done)] == [0] * 3
    done.append({**done[0], "learning_rate": 3e-2, "val_accuracy": 0.5})
    points = tuning.protocol_points(grid, done)
    # Equal validation accuracy: the lower validation loss (1e-2) wins.
    assert points[-1] == dict(learning_rate=1e-2, model="lstm", units=8, seed=5)


@pytest.mark.backend_independent
def test_variants_are_cells_of_their_own(tmp_path):
    grid = tuning.check_grid(
        ["fast_weights"],
        [8],
        [1e-3],
        seeds=[0, 1],
        variants=["paper", "inner_steps_2"],
    )
    log = []
    bookkeeping_search(grid, tmp_path, log).search()
    assert (
        log
        == [
            ("fast_weights", 8, 1e-3, 0),
            ("fast_weights", 8, 1e-3, 1),
        ]
        * 2
    )
    search = bookkeeping_search(grid, tmp_path, [])
    variants = [
        t.hyperparameters.values["variant"]
        for t in sorted(
            tuning.completed_trials(search), key=lambda t: t.trial_id
        )
    ]
    assert variants == ["paper", "paper", "inner_steps_2", "inner_steps_2"]
    runs = tuning.run_rows(search)
    assert [run["variant"] for run in runs] == variants
    rows = tuning.table_rows(grid, runs)
    assert [(r["variant"], r["seeds"]) for r in rows] == [
        ("paper", "0 1"),
        ("inner_steps_2", "0 1"),
    ]
    assert "variant" in tuning.columns(tuning.TABLE_COLUMNS, grid)
    with pytest.raises(ValueError, match="'no_ln'"):
        tuning.check_grid(["fast_weights"], [8], [1e-3], variants=["no_ln"])
    with pytest.raises(ValueError, match="fast_weights only"):
        tuning.check_grid(["lstm"], [8], [1e-3], variants=["decay_0.5"])
    with pytest.raises(ValueError, match="update_rule='delta'"):
        tuning.check_grid(
            ["lstm", "fast_weights"], [8], [1e-3], update_rules=["delta"]
        )


@pytest.mark.backend_independent
def test_interrupted_search_resumes_without_running_a_trial_twice(tmp_path):
    log = []
    with pytest.raises(KeyboardInterrupt):
        bookkeeping_search(GRID, tmp_path, log, stop_after=7).search()
    assert log == EXPECTED[:7]
    resumed = []
    bookkeeping_search(GRID, tmp_path, resumed).search()
    # The interrupted trial runs again; the finished ones do not.
    assert resumed == EXPECTED[7:]
    again = []
    bookkeeping_search(GRID, tmp_path, again).search()
    assert again == []


@pytest.mark.backend_independent
def test_a_trial_killed_as_it_ends_is_not_run_again(tmp_path, monkeypatch):
    """keras-tuner saves the oracle in `end_trial` while the trial still
    counts as ongoing, then stops counting it: killed in between, the
    saved state has the trial both ended and ongoing. Resumed from it,
    the finished trial must not run again."""
    log = []
    search = bookkeeping_search(GRID, tmp_path, log)
    # keras-tuner's display reports the end between the save and the pop.
    display = search.oracle._display
    report = display.on_trial_end

    def killed(trial):
        report(trial)
        if len(log) == 7:
            raise KeyboardInterrupt  # as if killed right after that save

    monkeypatch.setattr(display, "on_trial_end", killed)
    with pytest.raises(KeyboardInterrupt):
        search.search()
    state = read_oracle(tmp_path)
    ended = state["end_order"][-1]
    assert log == EXPECTED[:7] and list(state["ongoing_trials"].values()) == [
        ended
    ]
    resumed = []
    bookkeeping_search(GRID, tmp_path, resumed).search()
    assert resumed == EXPECTED[7:]
    assert read_oracle(tmp_path)["run_times"][ended] == 1


class KeepsItsModel(tuning.RetrievalHyperModel):
    """Keeps the model it trained last, as training left it."""

    def fit(self, hp, model, *args, **kwargs):
        self.trained = model
        return super().fit(hp, model, *args, **kwargs)


class TiedValidation(keras.callbacks.Callback):
    """Every epoch ties on validation accuracy, and the last has the lowest
    validation loss: Keras Tuner's own checkpoint keeps the first epoch of
    highest accuracy, the recipe the last epoch."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_accuracy"] = 0.5
        logs["val_loss"] = 1.0 / (epoch + 1)


def test_a_trial_s_checkpoint_holds_the_weights_it_was_tested_with(
    tmp_path, monkeypatch
):
    recipe = training.retrieval_callbacks
    monkeypatch.setattr(
        training,
        "retrieval_callbacks",
        lambda **kwargs: [TiedValidation(), *recipe(**kwargs)],
    )
    # K = 3, not the default 4: the model read back is built for the
    # search's own sequences (2K + 3 tokens), which only TensorFlow's
    # functional models would refuse to run on other lengths.
    (x, y), validation, test = associative_retrieval.load_data(
        num_pairs=3, num_train=64, num_val=8, num_test=32, seed=0
    )
    hypermodel = KeepsItsModel(
        tuning.check_grid(["lstm"], [4], [0.05]), num_pairs=3, epochs=3
    )
    search = tuning.RetrievalGridSearch(
        hypermodel, directory=tmp_path, project_name=tuning.PROJECT_NAME
    )
    search.search(x, y, validation_data=validation, test_data=test, verbose=0)
    (trial,) = tuning.completed_trials(search)
    assert trial.metrics.get_last_value("best_epoch") == 3
    loaded = search.load_model(trial)
    assert loaded.input_shape == (None, 9)
    for mine, kept in zip(loaded.weights, hypermodel.trained.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(kept)
        )
    assert training.error_percent(loaded, *test) == pytest.approx(
        trial.metrics.get_last_value(tuning.TEST_ERROR)
    )


def one_trial_search(directory, resume_elsewhere=False, **search_kwargs):
    """One fast-weights trial of 4 epochs on tiny data, shuffled each
    epoch, its trial (completed or not) and the search."""
    (x, y), validation, test = associative_retrieval.load_data(
        num_pairs=3, num_train=96, num_val=16, num_test=16, seed=0
    )
    hypermodel = tuning.RetrievalHyperModel(
        tuning.check_grid(["fast_weights"], [8], [0.02]),
        num_pairs=3,
        epochs=4,
        batch_size=16,
    )
    search = tuning.RetrievalGridSearch(
        hypermodel,
        resume_elsewhere=resume_elsewhere,
        directory=directory,
        project_name=tuning.PROJECT_NAME,
    )
    search.search(
        x,
        y,
        validation_data=validation,
        test_data=test,
        verbose=0,
        **search_kwargs,
    )
    return search


@pytest.mark.parametrize("history_rows", [3, 1])
def test_an_interrupted_trial_goes_on_from_its_last_epoch_as_if_not_stopped(
    tmp_path, history_rows
):
    """Stopped after two of its four epochs, a trial resumes at its third
    epoch and ends with the same history, results and weights as a trial
    that ran through, whether its history holds a row written after the
    last backup (killed between the two) or lacks one (its files copied
    between them). On TensorFlow, whose `tf.data` shuffles are not
    restored, the epochs before the stop are the same and the trial ends
    after its four."""
    through = one_trial_search(tmp_path / "through")
    with pytest.raises(KeyboardInterrupt):
        one_trial_search(tmp_path / "stopped", callbacks=[StopAtEpoch(2)])
    trial_dir = tmp_path / "stopped" / tuning.PROJECT_NAME / "trial_0000"
    backup = trial_dir / tuning.BACKUP_FILENAME
    assert len(tuning.TrialBackup.read_logs(backup)) == 2
    history = trial_dir / training.HISTORY_FILENAME
    lines = history.read_bytes().splitlines(keepends=True)
    lines = (lines + [b"2,0.5,1.0,0.5,1.0,0.5,1.0\r\n"])[: history_rows + 1]
    history.write_bytes(b"".join(lines))
    resumed = one_trial_search(tmp_path / "stopped")

    assert not backup.exists()
    (first,), (second,) = (
        tuning.completed_trials(search) for search in (through, resumed)
    )
    paths = [
        tmp_path / name / tuning.PROJECT_NAME / "trial_0000"
        for name in ("through", "stopped")
    ]
    histories = [
        (path / training.HISTORY_FILENAME).read_bytes() for path in paths
    ]
    assert histories[0].count(b"\n") == 5
    values = [tuning.trial_values(trial) for trial in (first, second)]
    assert values[0]["epochs"] == values[1]["epochs"] == 4
    if keras.backend.backend() == "tensorflow":
        before_stop = [history.splitlines()[:3] for history in histories]
        assert (
            before_stop[1] == before_stop[0] and histories[1].count(b"\n") == 5
        )
        return
    assert histories[1] == histories[0]
    for value in values:
        value.pop("seconds")
    assert values[1] == values[0]
    for mine, theirs in zip(
        through.load_model(first).weights, resumed.load_model(second).weights
    ):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(mine), keras.ops.convert_to_numpy(theirs)
        )


def stopped_on_another_machine(directory, epochs):
    """A trial stopped after `epochs` epochs, its record changed to say it
    ran on a machine that no CPU is (`cpu_id`): its folder and that
    record."""
    with pytest.raises(KeyboardInterrupt):
        one_trial_search(directory, callbacks=[StopAtEpoch(epochs)])
    trial_dir = directory / tuning.PROJECT_NAME / "trial_0000"
    began_on = tuning.read_environment(trial_dir)
    began_on["cpu_id"] = "family 99, model 99"
    with open(trial_dir / tuning.ENVIRONMENT_FILENAME, "w") as file:
        json.dump(began_on, file)
    return trial_dir, began_on


@pytest.mark.backend_independent
def test_a_trial_begun_on_another_machine_runs_again_from_its_start(
    tmp_path, capsys
):
    trial_dir, _ = stopped_on_another_machine(tmp_path, 1)
    capsys.readouterr()
    search = one_trial_search(tmp_path)
    out = capsys.readouterr().out
    assert "family 99, model 99" in out and "again from its start" in out
    (trial,) = tuning.completed_trials(search)
    assert tuning.trial_values(trial)["epochs"] == 4
    assert tuning.read_environment(trial_dir) == tuning.environment()


@pytest.mark.backend_independent
def test_with_resume_elsewhere_it_goes_on_and_its_record_names_both(
    tmp_path, capsys
):
    trial_dir, began_on = stopped_on_another_machine(tmp_path, 2)
    capsys.readouterr()
    search = one_trial_search(tmp_path, resume_elsewhere=True)
    assert "goes on from epoch 3 on this machine" in capsys.readouterr().out
    (trial,) = tuning.completed_trials(search)
    assert tuning.trial_values(trial)["epochs"] == 4
    history = (trial_dir / training.HISTORY_FILENAME).read_text()
    assert history.count("\n") == 5
    recorded = tuning.read_environment(trial_dir)
    (continued,) = recorded.pop(tuning.CONTINUED_ON)
    assert recorded == began_on
    assert continued.pop("from_epoch") == 3
    assert continued == tuning.environment()
    assert tuning.last_environment(tuning.read_environment(trial_dir)) == (
        tuning.environment()
    )
    columns = tuning.environment_columns(trial_dir)
    assert "; from epoch 3: " in columns["cpu"]
    first, then = tuning.machines_of(columns["cpu"])
    assert "family 99, model 99" in first and "family 99" not in then
    assert len(set(tuning.machines_of(columns["versions"]))) == 1
    assert tuning.machines_of("") == []


def test_a_backup_of_another_model_is_refused_naming_it(tmp_path):
    path = tmp_path / tuning.BACKUP_FILENAME
    data = np.zeros((32, 9)), np.zeros(32, dtype="int32")
    for units in (8, 4):
        model = models.build_retrieval_model("fast_weights", units, num_pairs=3)
        best = training.RestoreBestOnValidation()
        backup = tuning.TrialBackup(path, best)
        # The first model is stopped after its first epoch's backup; the
        # second finds that backup, of other shapes.
        raised = (
            pytest.raises(ValueError, match=f"{path}.*another model")
            if units == 4
            else pytest.raises(KeyboardInterrupt)
        )
        with raised:
            model.fit(
                *data,
                validation_data=data,
                callbacks=[best, backup, StopAtEpoch(1)],
                epochs=2,
                verbose=0,
            )
        assert len(tuning.TrialBackup.read_logs(path)) == 1


@pytest.mark.backend_independent
def test_overwrite_starts_over(tmp_path):
    bookkeeping_search(GRID, tmp_path, []).search()
    log = []
    bookkeeping_search(GRID, tmp_path, log, overwrite=True).search()
    assert len(log) == 20


@pytest.mark.backend_independent
def test_resuming_another_grid_is_refused(tmp_path):
    tuning.make_tuner(GRID, tmp_path)
    other = tuning.check_grid(["fast_weights"], [8], [1e-3])
    with pytest.raises(ValueError, match="another grid"):
        tuning.make_tuner(other, tmp_path)
    tuning.make_tuner(other, tmp_path, overwrite=True)


@pytest.mark.backend_independent
def test_table_rows_summarise_the_seeds_of_the_chosen_rate():
    grid = tuning.check_grid(["lstm"], [8], [1e-3, 1e-2], [0, 1, 2])
    runs = [
        dict(
            model="lstm",
            units=8,
            learning_rate=rate,
            seed=seed,
            val_error_percent=val,
            test_error_percent=test,
        )
        for rate, seed, val, test in [
            (1e-3, 0, 5.0, 4.0),
            (1e-2, 0, 1.0, 2.0),
            (1e-2, 1, 9.0, 0.0),
            (1e-2, 2, 3.0, 1.0),
        ]
    ]
    for run in runs:
        run["val_loss"] = 0.1
    (row,) = tuning.table_rows(grid, runs)
    assert row["learning_rate"] == 1e-2
    assert row["seeds"] == "0 1 2"
    assert row["test_error_mean"] == pytest.approx(1.0)
    assert row["test_error_std"] == pytest.approx(1.0)
    assert (row["test_error_min"], row["test_error_max"]) == (0.0, 2.0)


@pytest.mark.backend_independent
def test_a_report_chooses_as_the_search_did_below_the_csv_s_rounding(
    tmp_path,
):
    """Runs that solve the task tie on validation accuracy; the search
    then chooses the lower validation loss, which can differ below the six
    decimals of the runs' CSV. The table chooses what the search chose
    and counted the seeds of, not the first rate of a rounded tie."""
    grid = tuning.check_grid(["fast_weights"], [8], [1e-3, 3e-3], [0, 1])
    results = random_results(grid, 0)
    for rate, loss in ((1e-3, 3e-9), (3e-3, 1e-9)):
        for seed in (0, 1):
            results[("fast_weights", 8, None, rate, seed)].update(
                val_accuracy=1.0, val_loss=loss, diverged=False
            )
    recorded_search(tmp_path, grid, results)
    runs = tuning.load_search(tmp_path)["runs"]
    ran = {run["learning_rate"] for run in runs if run["seed"] == 1}
    assert ran == {3e-3}
    assert {run["val_loss"] for run in runs if run["seed"] == 0} == {0.0}
    (row,) = tuning.table_rows(grid, runs)
    assert (row["learning_rate"], row["seeds"]) == (3e-3, "0 1")
    # Read back from the CSV's columns alone, the tie goes to the first.
    rounded = [
        {k: v for k, v in run.items() if k != "validation"} for run in runs
    ]
    (row,) = tuning.table_rows(grid, rounded)
    assert row["learning_rate"] == 1e-3


@pytest.mark.backend_independent
def test_table_rows_leave_out_a_cell_without_runs():
    # With one learning rate the rate is chosen before any run, so a
    # partial search has cells with no run at it.
    grid = tuning.check_grid(
        ["fast_weights"], [8], [1e-3], [0, 1], ["paper", "decay_0.5"]
    )
    run = dict(
        model="fast_weights",
        units=8,
        variant="paper",
        learning_rate=1e-3,
        seed=1,
        val_error_percent=2.0,
        val_loss=0.1,
        test_error_percent=3.0,
    )
    (row,) = tuning.table_rows(grid, [run])
    assert (row["variant"], row["seeds"], row["test_error_mean"]) == (
        "paper",
        "1",
        3.0,
    )
    assert tuning.table_rows(grid, []) == []


@pytest.mark.backend_independent
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
        (["fast_weights"], [8], [True], "learning_rate=True"),
    ],
)
def test_check_grid_rejects_bad_grids(kinds, units, rates, message):
    with pytest.raises((ValueError, TypeError), match=message):
        tuning.check_grid(kinds, units, rates)
    with pytest.raises(ValueError, match="seed=-1"):
        tuning.check_grid(["lstm"], [8], [1e-3], seeds=[-1])


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "flags, message",
    [
        (["--units"], "expected at least one argument"),
        (["--models", "gru"], "invalid choice: 'gru'"),
        (["--units", "0"], "must be an integer >= 1, got '0'"),
        (["--units", "-5"], "must be an integer >= 1, got '-5'"),
        (["--learning-rates", "0"], "must be a number > 0.0, got '0'"),
        (["--learning-rates", "abc"], "must be a number > 0.0, got 'abc'"),
        (["--learning-rates", "inf"], "got 'inf'"),
        (["--seeds", "-1"], "must be an integer >= 0, got '-1'"),
        (["--units", "8", "8"], "repeats a units"),
    ],
)
def test_bad_flags_give_a_one_line_error(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        grid_search.parse_args(flags)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert message in error and "Traceback" not in error


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
    """The table has, for each (model, units), the learning rate best on
    validation at the first seed and the test errors of its seeds."""
    runs = read_csv(directory / "table1_runs.csv")
    rows = read_csv(directory / "table1.csv")
    assert list(rows[0]) == list(tuning.TABLE_COLUMNS)
    assert {row["choice"] for row in rows} == {"final"}
    assert list(runs[0]) == [*tuning.RUN_COLUMNS, *tuning.ENVIRONMENT_COLUMNS]
    # Each run names the machine and the versions it ran on.
    here = tuning.environment()
    for run in runs:
        assert run["cpu"].startswith(here["cpu"])
        assert f"keras {here['versions']['keras']}" in run["versions"]
    assert {(r["model"], int(r["units"])) for r in rows} == set(
        itertools.product(grid["model"], grid["units"])
    )
    records = {t["trial_id"]: t for t in trial_records(directory)}
    assert {r["trial_id"] for r in runs} == set(records)
    for row in rows:
        cell = [
            r
            for r in runs
            if (r["model"], r["units"]) == (row["model"], row["units"])
        ]
        first = [r for r in cell if int(r["seed"]) == grid["seed"][0]]
        best = min(
            first,
            key=lambda r: (float(r["val_error_percent"]), float(r["val_loss"])),
        )
        assert row["learning_rate"] == best["learning_rate"]
        chosen = [r for r in cell if r["learning_rate"] == row["learning_rate"]]
        assert row["seeds"] == " ".join(r["seed"] for r in chosen)
        errors = [float(r["test_error_percent"]) for r in chosen]
        assert float(row["test_error_min"]) == min(errors)
        for run in cell:
            assert int(run["epochs"]) == 1
            record = records[run["trial_id"]]["metrics"]["metrics"]
            recorded = record[tuning.TEST_ERROR]["observations"][0]["value"][0]
            assert float(run["test_error_percent"]) == recorded
    markdown = (directory / "table1.md").read_text()
    assert "| Fast weights |" in markdown and "R = " in markdown


def read_csv(path):
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: {model}
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu sse2 {flags}

processor\t: 1
model name\t: another CPU
"""


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "model, flags, cpu_id",
    [
        ("17", "avx avx2 avx512f", "family 25, model 17, stepping 1, AVX-512"),
        ("1", "avx avx2", "family 25, model 1, stepping 1, AVX2"),
        ("1", "", "family 25, model 1, stepping 1"),
    ],
)
def test_a_run_records_which_cpu_it_ran_on(
    tmp_path, monkeypatch, model, flags, cpu_id
):
    """Two generations of CPU may both call themselves "AMD EPYC" and give
    a seeded run different draws: the record keeps the first CPU's family,
    model, stepping and widest vector instructions, and the run's row
    shows them (a record without them, as before, shows name and cores)."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO.format(model=model, flags=flags))
    described = tuning.cpu_description(str(cpuinfo))
    assert described == {"cpu": "AMD EPYC", "cpu_id": cpu_id}
    missing = tmp_path / "missing"
    assert "cpu_id" not in tuning.cpu_description(str(missing))

    monkeypatch.setattr(tuning.machine, "cpu_description", lambda: described)
    trial_dir = tmp_path / "trial_0000"
    tuning.write_environment(trial_dir)
    row = tuning.environment_columns(trial_dir)
    assert row["cpu"] == f"AMD EPYC ({cpu_id}; {os.cpu_count()} cores)"
    recorded = tuning.read_environment(trial_dir)
    del recorded["cpu_id"]
    with open(trial_dir / tuning.ENVIRONMENT_FILENAME, "w") as file:
        json.dump(recorded, file)
    assert tuning.environment_columns(trial_dir)["cpu"] == (
        f"AMD EPYC ({os.cpu_count()} cores)"
    )


@pytest.mark.backend_independent
def test_table_needs_no_checkpoint(tmp_path):
    """A clone of committed trial records (no checkpoints) gives the same
    tables: each trial records its metrics, and the history its curves.
    (Bookkeeping: JAX's run only; a real search on every backend is
    `test_a_trial_s_checkpoint_holds_the_weights_it_was_tested_with`'s.)"""
    args = [
        *("--models", "fast_weights", "lstm", "--units", "4"),
        *("--learning-rates", "0.01", "--directory", str(tmp_path), *TINY),
    ]
    first = run_script(GRID_SEARCH, args)
    assert first.returncode == 0, first.stderr[-3000:]
    tables = [read_csv(tmp_path / name) for name in ("table1.csv",)]
    for trial in (tmp_path / tuning.PROJECT_NAME).glob("trial_*"):
        (trial / "checkpoint.weights.h5").unlink()
        history = read_csv(trial / "history.csv")
        assert {"test_loss", "test_accuracy", "val_loss"} <= set(history[0])

    again = run_script(GRID_SEARCH, [*args, "--table-only"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert [read_csv(tmp_path / name) for name in ("table1.csv",)] == tables


@pytest.mark.backend_independent
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
    result = run_script(GRID_SEARCH, [*args, "--table-only"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "0 of 2 trials complete" in result.stdout
    assert "trials done] next:" not in result.stdout


# The grid of the killed-search and distributed-search tests: two models and
# two learning rates, of shapes that the shared JAX compilation cache then
# compiles once for both.
SMALL_GRID = tuning.check_grid(["fast_weights", "lstm"], [4], [0.01, 0.001])


def small_search_args(directory):
    """`grid_search.py`'s flags for `SMALL_GRID` on tiny data."""
    return [
        *("--models", "fast_weights", "lstm", "--units", "4"),
        *("--learning-rates", "0.01", "0.001", "--directory", str(directory)),
        *TINY,
    ]


@pytest.mark.backend_independent
def test_killed_search_resumes_and_writes_the_table(tmp_path):
    """SIGKILL in the middle: finished trials are kept and not run again,
    the rerun finishes the grid and writes the table, and a third run runs
    no trial."""
    args = small_search_args(tmp_path)
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
    # What the rerun finds: a trial may have ended since the last look.
    ended = read_oracle(tmp_path)["end_order"]
    assert set(finished) <= set(ended) and len(ended) < 4

    resumed = run_script(GRID_SEARCH, args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("trials done] next:") == 4 - len(ended)
    assert "4 of 4 trials complete" in resumed.stdout
    run_times = read_oracle(tmp_path)["run_times"]
    assert all(run_times[trial] == 1 for trial in ended)
    assert len(trial_records(tmp_path)) == 4
    check_table(tmp_path, SMALL_GRID)

    again = run_script(GRID_SEARCH, args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "trials done] next:" not in again.stdout
    assert "4 of 4 trials complete" in again.stdout
    assert read_oracle(tmp_path)["run_times"] == run_times


@pytest.mark.backend_independent
def test_one_chief_and_two_workers_on_loopback_resume_a_search(tmp_path):
    """Workers pick up an interrupted search: its two finished trials are
    kept, the two others run once each, none is left running."""
    with pytest.raises(KeyboardInterrupt):
        bookkeeping_search(SMALL_GRID, tmp_path, [], stop_after=2).search()
    finished = read_oracle(tmp_path)["end_order"]
    assert len(finished) == 2
    args = [*small_search_args(tmp_path), "--workers", "2"]
    result = run_script(GRID_SEARCH, args, timeout=500)
    assert result.returncode == 0, result.stderr[-3000:]
    oracle = read_oracle(tmp_path)
    # Every trial of the grid ran exactly once (the two finished ones were
    # not run again), and none is left running.
    assert sorted(oracle["run_times"]) == ["0000", "0001", "0002", "0003"]
    assert set(oracle["run_times"].values()) == {1}
    assert oracle["ongoing_trials"] == {}
    assert set(finished) <= set(oracle["end_order"])
    assert len(trial_records(tmp_path)) == 4
    check_table(tmp_path, SMALL_GRID)
    # Resuming a finished distributed search runs nothing.
    again = run_script(
        GRID_SEARCH, [a for a in args if a not in ("--workers", "2")]
    )
    assert again.returncode == 0 and "trials done] next:" not in again.stdout


@pytest.mark.backend_independent
def test_a_search_completes_when_a_worker_is_killed_mid_trial(tmp_path):
    """SIGKILL to the only worker while its first trial runs: the launcher
    starts it again under its tuner id, the chief hands it that trial, which
    goes on from its backup, and the search finishes by itself."""
    args = [
        *("--models", "fast_weights", "--units", "4", "--learning-rates"),
        *("0.01", "0.001", "--directory", str(tmp_path), "--workers", "1"),
        *TINY,
        *("--epochs", "30"),
    ]
    process = subprocess.Popen(
        [sys.executable, SCRIPT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    lines = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(process.stdout.readline, ""))
    )
    reader.start()
    backups = tmp_path / tuning.PROJECT_NAME
    deadline = time.monotonic() + 300
    while not list(backups.glob(f"trial_*/{tuning.BACKUP_FILENAME}")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.2)
    (pid,) = [
        int(re.search(r"pid (\d+)", line)[1])
        for line in list(lines)
        if line.startswith("worker tuner0 started")
    ]
    os.kill(pid, signal.SIGKILL)
    try:
        assert process.wait(timeout=400) == 0, "".join(lines)[-3000:]
    finally:
        process.kill()
        reader.join()
    out = "".join(lines)
    assert "worker tuner0 ended with exit code -9: starting it again" in out
    assert "2 of 2 trials complete" in out
    assert len(trial_records(tmp_path)) == 2


@pytest.mark.backend_independent
def test_workers_flag_refuses_an_existing_chief(capsys, monkeypatch):
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    with pytest.raises(SystemExit):
        grid_search.parse_args(["--workers", "2"])
    assert "unset KERASTUNER_" in capsys.readouterr().err


def test_tensorboard_is_importable_for_keras_tuner():
    """keras-tuner imports tensorboard on the TensorFlow backend."""
    import tensorboard  # noqa: F401

    assert keras_tuner.__version__


def trained_search(directory, num_pairs):
    """A real search at K = `num_pairs` on tiny data, one epoch a trial:
    fast weights and the LSTM at R = 4, seed 0, with checkpoints."""
    tiny = {
        "num_pairs": num_pairs,
        "num_train": 128,
        "num_val": 32,
        "num_test": 32,
        "data_seed": 0,
        "epochs": 1,
        "batch_size": 128,
    }
    grid = tuning.check_grid(["fast_weights", "lstm"], [4], [0.01])
    tuner = tuning.make_tuner(
        grid, directory, settings=tiny, num_pairs=num_pairs, epochs=1
    )
    train, validation, test = study_cli.load_data(tiny)
    tuner.search(*train, validation_data=validation, test_data=test, verbose=0)
    return tuner


@pytest.mark.backend_independent
def test_capacity_errors_and_memory_causal_read_the_checkpoints(tmp_path):
    """The scripts that read trained runs back: what they read and write.
    That a checkpoint read back on each backend holds the weights its
    trial was tested with, for its own K, is
    `test_a_trial_s_checkpoint_holds_the_weights_it_was_tested_with`."""
    tuners = {k: trained_search(tmp_path / f"k{k}", k) for k in (2, 3)}
    # A search read back builds its trials' models for its own sequences
    # (2K + 3 tokens), not the default K = 4 (which only TensorFlow's
    # functional models refuse to run on other lengths).
    for k in (2, 3):
        tuner = tuning.load_search(tmp_path / f"k{k}")["tuner"]
        model = tuner.load_model(tuner.oracle.get_trial("0000"))
        assert model.input_shape == (None, 2 * k + 3)
    output = tmp_path / "results"
    directories = [str(tmp_path / f"k{k}") for k in (2, 3, 9)]
    argv = ["--directories", *directories, "--units", "4"]
    assert capacity_errors.main([*argv, "--output", str(output)]) == 0
    rows = reporting.common.read_csv(output / "capacity_errors.csv")
    assert [(r["model"], r["num_pairs"], r["seed"]) for r in rows] == [
        (kind, k, 0) for kind in ("fast_weights", "lstm") for k in (2, 3)
    ]
    for row in rows:
        sequences = [int(n) for n in str(row["sequences_by_pair"]).split()]
        wrong = [int(n) for n in str(row["wrong_by_pair"]).split()]
        assert len(sequences) == len(wrong) == row["num_pairs"]
        assert sum(sequences) == row["sequences"] == 32
        assert sum(wrong) == row["wrong"]
        assert 100 * row["wrong"] / 32 == pytest.approx(
            row["test_error_percent"]
        )
        # The checkpoint holds the weights the trial tested.
        assert row["test_error_percent"] == pytest.approx(
            row["recorded_test_error_percent"]
        )
        assert str(row["error_by_pair_percent"]).split() == [
            f"{100 * w / n:.2f}" for w, n in zip(wrong, sequences)
        ]
        assert 0 <= row["wrong_stored"] <= row["wrong"]
        assert 0 <= row["stored_by_chance"] <= row["wrong"]
    assert (output / "capacity_errors.png").read_bytes()[:4] == b"\x89PNG"
    summary = (output / "capacity_errors.md").read_text()
    assert "python tuning/capacity_errors.py --directories" in summary
    erring = {(r["model"], r["num_pairs"]) for r in rows if r["wrong"]}
    assert summary.count("\n| ") == 1 + len(erring)

    # tuning/memory_causal.py on one of the fast-weights trials.
    trial = tuners[3].get_trial_dir("0000")
    causal = tmp_path / "causal"
    memory_causal.main(
        ["--trial", trial, "--sequences", "16", "--output", str(causal)]
    )
    removed = [
        row["removed"]
        for row in reporting.common.read_csv(causal / "memory_causal.csv")
    ]
    assert removed[:2] == ["nothing", "queried key"]
    # It reads only fast-weights trials of a search.
    for bad, message in (
        (tuners[3].get_trial_dir("0001"), "is a lstm model, not fast_weights"),
        (
            str(tmp_path / "k9" / "associative_retrieval" / "trial_0000"),
            "is not a trial of a search: No grid.json",
        ),
        (tuners[3].get_trial_dir("0007"), "No trial 0007 in"),
    ):
        with pytest.raises(SystemExit, match=message):
            memory_causal.main(["--trial", bad, "--output", str(causal)])

    # tuning/causal_readings.py reads every fast-weights run a search's
    # table counts (here seed 0 at its one rate), and keeps what it read.
    readings = tmp_path / "readings"
    argv_readings = ["--directory", str(tmp_path / "k3"), "--prefix", "k3_"]
    argv_readings += ["--output", str(readings)]
    causal_readings = load_script("causal_readings")
    assert causal_readings.main(argv_readings) == 0
    assert sorted(os.listdir(readings)) == ["k3_trial_0000"]
    written = readings / "k3_trial_0000" / "memory_causal.csv"
    before = written.stat().st_mtime_ns
    assert causal_readings.main(argv_readings) == 0
    assert written.stat().st_mtime_ns == before

    # Without its checkpoint, a run cannot be read: the error names it.
    os.remove(os.path.join(trial, "checkpoint.weights.h5"))
    with pytest.raises(SystemExit) as error:
        capacity_errors.main([*argv, "--output", str(output)])
    assert f"No checkpoint for trial 0000 in {directories[1]}" in str(
        error.value.code
    )
    with pytest.raises(SystemExit, match=f"No checkpoint in {trial}"):
        memory_causal.main(["--trial", trial, "--output", str(causal)])


@pytest.mark.backend_independent
def test_reproduce_sh_runs_the_scripts_with_flags_they_accept():
    """Every command of tuning/reproduce.sh parses with its script's own
    flags, so a typo there fails here rather than hours into the study."""
    with open(os.path.join(ROOT, "tuning", "reproduce.sh")) as file:
        text = file.read().replace("\\\n", " ")
    # The shell's variables, as bash expands them.
    protocol = re.search(r'^protocol="([^"]+)"$', text, re.MULTILINE)[1]
    search = re.search(r'^search="([^"]+)"$', text, re.MULTILINE)[1]
    text = text.replace("$protocol", protocol)
    text = text.replace("$rates", "0.001 0.003 0.01")
    text = text.replace('"${rule[@]}"', "")
    text = text.replace('"$length"', "64").replace('"$pairs"', "4")
    text = text.replace('"$@"', "64 128")
    for variable, value in [
        ("$(chosen_rate lstm 100)", "0.003"),
        ('"$source"', "results/table1_search"),
        ("$1:$2", "lstm:100"),
        ("$rate", "0.003"),
        ("$model", "lstm"),
        ("$units", "100"),
    ]:
        text = text.replace(variable, value)
    commands = []
    for line in text.splitlines():
        words = shlex.split(line.split("#")[0].split(" | ")[0])
        if words[:1] == ["$causal"]:
            words = ["python", "tuning/causal_readings.py", *words[1:]]
        if words[:1] == ["$search"]:
            words = shlex.split(search) + words[1:]
        if words[:1] == ["python"] and words[1].startswith("tuning/"):
            commands.append(words[1:])
    scripts = [command[0] for command in commands]
    assert scripts.count("tuning/grid_search.py") == 10
    assert scripts.count("tuning/causal_readings.py") == 3
    for script in (
        "report",
        "ablation_report",
        "capacity_report",
        "rates_around",
        "convergence_report",
        "mqar_search",
        "mqar_report",
    ):
        assert f"tuning/{script}.py" in scripts
    assert "tuning/capacity_errors.py" in scripts
    for script, *flags in commands:
        # The shell's variables and braces, as bash expands them.
        flags = [
            flag.replace("${pairs}", "2")
            .replace("$pairs", "2")
            .replace("$1", "2")
            .replace("$2", "4")
            .replace("{2,6,8,10,12}", "2")
            for flag in flags
        ]
        module = load_script(os.path.basename(script)[:-3])
        assert module.parse_args(flags) is not None, (script, flags)


def trial(rate, accuracy, seed=0, loss=0.1, model="lstm", units=8):
    return dict(
        model=model,
        units=units,
        learning_rate=rate,
        seed=seed,
        val_accuracy=accuracy,
        val_loss=loss,
    )


@pytest.mark.backend_independent
def test_widening_adds_the_next_rate_until_the_choice_is_interior():
    grid = tuning.check_grid(
        ["lstm"], [8], [3e-4, 1e-3, 3e-3], [0, 1], widen=True
    )
    cell = {"units": 8, "model": "lstm"}
    done = [trial(3e-4, 0.9), trial(1e-3, 0.8), trial(3e-3, 0.7)]
    # The smallest rate won: 1e-4 is tried next, nothing else yet.
    assert tuning.cell_learning_rates(grid, done, cell) == (
        [3e-4, 1e-3, 3e-3, 1e-4],
        None,
    )
    assert [(p["learning_rate"], p["seed"]) for p in
            tuning.protocol_points(grid, done)] == [
        (3e-4, 0), (1e-3, 0), (3e-3, 0), (1e-4, 0)
    ]  # fmt: skip
    # While it runs, the table holds the best so far, marked as widening.
    assert tuning.widening_learning_rate(grid, done, cell) == 3e-4
    # 1e-4 wins again: then 3e-5, the ladder's end, which loses: 1e-4.
    done += [trial(1e-4, 0.95), trial(3e-5, 0.5)]
    assert tuning.cell_learning_rates(grid, done, cell) == (
        [3e-4, 1e-3, 3e-3, 1e-4, 3e-5],
        1e-4,
    )
    assert tuning.protocol_points(grid, done)[-1] == dict(
        learning_rate=1e-4, **cell, seed=1
    )
    assert tuning.grid_size(grid, done) == 6
    # Without --widen the same trials choose 1e-4 among what was asked.
    plain = tuning.check_grid(["lstm"], [8], [3e-4, 1e-3, 3e-3], [0, 1])
    assert tuning.choose_learning_rate(plain, done, cell) == 3e-4
    # An interior winner needs nothing more.
    done = [trial(3e-4, 0.8), trial(1e-3, 0.9), trial(3e-3, 0.7)]
    assert tuning.cell_learning_rates(grid, done, cell)[1] == 1e-3


@pytest.mark.backend_independent
def test_widening_stops_when_every_rate_solved_the_task():
    grid = tuning.check_grid(["lstm"], [8], [3e-4, 1e-3, 3e-3], widen=True)
    done = [trial(r, 1.0, loss=r) for r in (3e-4, 1e-3, 3e-3)]
    cell = {"units": 8, "model": "lstm"}
    assert tuning.cell_learning_rates(grid, done, cell) == (
        [3e-4, 1e-3, 3e-3],
        3e-4,
    )


@pytest.mark.backend_independent
def test_sensitivity_cells_run_every_seed_at_every_rate_last():
    grid = tuning.check_grid(
        ["lstm", "fast_weights"],
        [8],
        [3e-4, 1e-3, 3e-3],
        [0, 1, 2],
        widen=True,
        sensitivity=[("lstm", 8)],
    )
    done = [trial(r, a) for r, a in ((3e-4, 0.8), (1e-3, 0.9), (3e-3, 0.7))]
    done += [trial(r, a, model="fast_weights") for r, a in
             ((3e-4, 0.8), (1e-3, 0.9), (3e-3, 0.7))]  # fmt: skip
    points = [
        (p["model"], p["learning_rate"], p["seed"])
        for p in tuning.protocol_points(grid, done)
    ]
    assert points[-4:] == [
        ("lstm", 3e-4, 1),
        ("lstm", 3e-4, 2),
        ("lstm", 3e-3, 1),
        ("lstm", 3e-3, 2),
    ]
    assert ("fast_weights", 3e-4, 1) not in points
    assert tuning.grid_size(grid, done) == 2 * 5 + 4
    with pytest.raises(ValueError, match="gru:8"):
        tuning.check_grid(["lstm"], [8], [1e-3], sensitivity=[("gru", 8)])
    with pytest.raises(ValueError, match=r"learning_rate=\[0.002\]"):
        tuning.check_grid(["lstm"], [8], [2e-3], widen=True)


@pytest.mark.backend_independent
def test_a_finished_search_extends_to_a_grown_grid(tmp_path):
    """A search resumed with a widened grid, more seeds or a sensitivity
    cell keeps its trials and runs only the new points; a grid that drops
    a point, or changes an axis, is refused."""
    log = []
    small = tuning.check_grid(["lstm"], [8], [1e-3, 3e-3], [0, 1])
    bookkeeping_search(small, tmp_path, log).search()
    assert log == [
        ("lstm", 8, 1e-3, 0),
        ("lstm", 8, 3e-3, 0),
        ("lstm", 8, 3e-3, 1),
    ]
    grown = tuning.check_grid(
        ["lstm"], [8], [1e-3, 3e-3], [0, 1, 2], widen=True
    )
    assert tuning.extends(grown, small) and not tuning.extends(small, grown)
    log.clear()
    search = bookkeeping_search(grown, tmp_path, log)
    search.search()
    # The bookkeeping's accuracy grows with the rate: widened to 3e-2.
    assert log == [
        ("lstm", 8, 1e-2, 0),
        ("lstm", 8, 3e-2, 0),
        ("lstm", 8, 3e-2, 1),
        ("lstm", 8, 3e-2, 2),
    ]
    # Seed 1 at 3e-3 is kept but no longer counted by the protocol.
    assert search.progress() == (6, 6)
    assert len(tuning.run_rows(search)) == 7
    (row,) = tuning.table_rows(grown, tuning.run_rows(search))
    assert (row["learning_rate"], row["choice"], row["seeds"]) == (
        3e-2,
        "final",
        "0 1 2",
    )
    # (BookkeepingSearch writes no grid.json; make_tuner does.)
    tuning.make_tuner(small, tmp_path)
    tuning.make_tuner(grown, tmp_path)
    for other in (
        tuning.check_grid(["lstm"], [8], [3e-3], [0, 1, 2], widen=True),
        tuning.check_grid(["lstm"], [8], [1e-3, 3e-3], [0, 1], clipnorms=[5]),
    ):
        with pytest.raises(ValueError, match="may only grow"):
            tuning.make_tuner(other, tmp_path)


@pytest.mark.backend_independent
def test_rates_around_a_choice_are_its_ladder_neighbours():
    grid = tuning.check_grid(["lstm"], [8], [1e-3, 3e-3, 1e-2], widen=True)
    runs = [
        dict(trial(r, 0, loss=0.1), val_error_percent=e)
        for r, e in ((1e-3, 5.0), (3e-3, 1.0), (1e-2, 2.0))
    ]
    cell = {"model": "lstm", "units": 8}
    assert tuning.rates_around(grid, runs, cell) == [1e-3, 3e-3, 1e-2]
    with pytest.raises(ValueError, match="no chosen learning rate"):
        tuning.rates_around(grid, runs[:2], cell)


@pytest.mark.backend_independent
def test_the_example_repeats_a_grid_search_trial(tmp_path):
    """Run with a grid-search record's settings, the example gives the
    same history epoch by epoch (same backend, CPU) and the same test
    error: the search and the example build and train the same run."""
    search = run_script(
        GRID_SEARCH,
        [
            *("--models", "fast_weights", "--learning-rates", "0.003"),
            *("--seeds", "2", "--verbose", "0"),
            *("--directory", str(tmp_path / "g"), *example.SETTINGS),
        ],
    )
    assert search.returncode == 0, search.stderr[-3000:]
    stdout = example.run_end_to_end(tmp_path / "run")
    final = example.FINAL_LINE.match(stdout.strip().splitlines()[-1])
    assert final, stdout[-500:]

    (trial,) = (tmp_path / "g" / "associative_retrieval").glob("trial_*")
    recorded = training.read_history(trial / "history.csv")
    assert training.read_history(tmp_path / "run" / "history.csv") == recorded
    with open(tmp_path / "g" / "table1_runs.csv", newline="") as file:
        (run,) = csv.DictReader(file)
    assert final.group(1) == f"{float(run['test_error_percent']):.2f}"
