"""The convergence protocol: Keras's plateau schedule and early stopping in
the grid search's trials, resumed exactly after an interruption."""

import os

import keras
import numpy as np
import pytest
from fastweights_study import tuning

from keras_fastweights import training
from keras_fastweights.datasets import associative_retrieval

from .interrupt import StopAtEpoch

# At most this many epochs: enough for the schedule to cut the rate and stop
# on tiny data, which stops improving at once.
MAX_EPOCHS = 60


def plateau_search(directory, **search_kwargs):
    """One fast-weights trial of the convergence protocol on tiny data."""
    (x, y), validation, test = associative_retrieval.load_data(
        num_pairs=3, num_train=64, num_val=16, num_test=16, seed=0
    )
    hypermodel = tuning.RetrievalHyperModel(
        tuning.check_grid(["fast_weights"], [4], [0.01]),
        num_pairs=3,
        epochs=MAX_EPOCHS,
        batch_size=16,
        schedule="plateau",
    )
    search = tuning.RetrievalGridSearch(
        hypermodel, directory=directory, project_name=tuning.PROJECT_NAME
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


def trial_dir(directory):
    return directory / tuning.PROJECT_NAME / "trial_0000"


def test_an_interrupted_convergence_run_resumes_as_if_not_stopped(tmp_path):
    """Stopped after a cut of the rate and before early stopping ends it, a
    trial of the convergence protocol resumes with the rate, the callbacks'
    counters and best values it had, and ends as the trial that ran
    through: the same history (on TensorFlow, whose shuffles are not
    restored, the same epochs before the stop), stopping epoch and rate
    cuts."""
    through = plateau_search(tmp_path / "through")
    history = training.read_history(
        trial_dir(tmp_path / "through") / training.HISTORY_FILENAME
    )
    ended = training.stopping(history, MAX_EPOCHS)
    assert ended["reason"] == "patience" and ended["rate_reductions"]
    # After the first cut, with early stopping's count under way.
    stop = ended["rate_reductions"][0] + 2
    assert stop < ended["epochs"]

    with pytest.raises(KeyboardInterrupt):
        plateau_search(tmp_path / "stopped", callbacks=[StopAtEpoch(stop)])
    backup = trial_dir(tmp_path / "stopped") / tuning.BACKUP_FILENAME
    assert len(tuning.TrialBackup.read_logs(backup)) == stop
    resumed = plateau_search(tmp_path / "stopped")
    assert not backup.exists()

    rows = [
        (trial_dir(tmp_path / name) / training.HISTORY_FILENAME).read_bytes()
        for name in ("through", "stopped")
    ]
    if keras.backend.backend() == "tensorflow":
        before = [row.splitlines()[: stop + 1] for row in rows]
        assert before[1] == before[0]
        resumed_history = training.read_history(
            trial_dir(tmp_path / "stopped") / training.HISTORY_FILENAME
        )
        # The rate the resumed epoch trained at is the one it had reached.
        assert (
            resumed_history["learning_rate"][stop]
            == history["learning_rate"][stop]
        )
        return
    assert rows[1] == rows[0]
    values = [
        tuning.trial_values(tuning.completed_trials(search)[0])
        for search in (through, resumed)
    ]
    for value in values:
        value.pop("seconds")
    assert values[1] == values[0]
    assert values[0]["epochs"] == ended["epochs"]


def test_a_run_stopped_by_early_stopping_stays_stopped(tmp_path):
    """Killed after its last epoch's backup and before the trial ended, a
    run that early stopping had stopped trains no further epoch."""
    plateau_search(tmp_path / "through")
    ended = training.stopping(
        trial_dir(tmp_path / "through") / training.HISTORY_FILENAME,
        MAX_EPOCHS,
    )

    class KillAtTheEnd(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            raise KeyboardInterrupt

    # Before TrialBackup's on_train_end, which deletes the backup.
    with pytest.raises(KeyboardInterrupt):
        plateau_search(tmp_path / "stopped", callbacks=[KillAtTheEnd()])
    backup = trial_dir(tmp_path / "stopped") / tuning.BACKUP_FILENAME
    assert len(tuning.TrialBackup.read_logs(backup)) == ended["epochs"]
    resumed = plateau_search(tmp_path / "stopped")
    (trial,) = tuning.completed_trials(resumed)
    assert tuning.trial_values(trial)["epochs"] == ended["epochs"]


@pytest.mark.backend_independent
def test_stopping_reads_the_rate_cuts_and_the_reason():
    history = {"learning_rate": [1e-3] * 12 + [3e-4] * 10 + [9e-5] * 3}
    assert training.stopping(history, 300) == {
        "epochs": 25,
        "reason": "patience",
        "rate_reductions": [12, 22],
    }
    assert training.stopping(history, 25)["reason"] == "max_epochs"
    with pytest.raises(ValueError, match="no `learning_rate`"):
        training.stopping({"val_accuracy": [0.5]}, 300)


@pytest.mark.backend_independent
def test_schedule_callbacks_are_keras_s_own():
    reduce, stop = training.schedule_callbacks("plateau")
    assert isinstance(reduce, keras.callbacks.ReduceLROnPlateau)
    assert (reduce.monitor, reduce.factor, reduce.patience, reduce.min_lr) == (
        "val_accuracy",
        0.3,
        10,
        1e-6,
    )
    assert isinstance(stop, keras.callbacks.EarlyStopping)
    assert (stop.monitor, stop.patience) == ("val_accuracy", 30)
    with pytest.raises(ValueError, match="schedule='cosine'"):
        training.schedule_callbacks("cosine")


def test_a_backup_of_another_schedule_is_refused(tmp_path):
    path = tmp_path / tuning.BACKUP_FILENAME
    data = np.zeros((32, 9)), np.zeros(32, dtype="int32")
    from keras_fastweights import models

    for schedule in ("constant", "plateau"):
        model = models.build_retrieval_model("fast_weights", 4, num_pairs=3)
        recipe = training.retrieval_callbacks(schedule=schedule)
        best = recipe[0]
        backup = tuning.TrialBackup(path, best, recipe[1:])
        raised = (
            pytest.raises(ValueError, match="another schedule")
            if schedule == "plateau"
            else pytest.raises(KeyboardInterrupt)
        )
        with raised:
            model.fit(
                *data,
                validation_data=data,
                epochs=2,
                verbose=0,
                callbacks=[*recipe, backup, StopAtEpoch(1)],
            )


@pytest.mark.backend_independent
def test_table1_convergence_regenerates_from_the_records(tmp_path):
    """results/table1_convergence.* are what the committed records of the
    convergence searches give (those finished so far), byte for byte."""
    import shutil

    from fastweights_study.reporting import convergence
    from scripts import ROOT

    def copy(directory):
        # Reading a search writes its grid back: read a copy.
        target = tmp_path / directory.replace("/", "_")
        source = os.path.join(ROOT, directory)
        if os.path.isdir(source):
            shutil.copytree(
                source,
                target,
                ignore=shutil.ignore_patterns("*.weights.h5", "*.npz"),
            )
        return target

    convergence.write_convergence(
        copy("results/convergence_search"),
        tmp_path / "written",
        fixed_budget_tables=[
            os.path.join(ROOT, "results/table1.csv"),
            os.path.join(ROOT, "results/delta_search/table1/table1.csv"),
        ],
        contrast_directory=copy("results/longer_budget/lstm_r100_search"),
    )
    for name in convergence.CONVERGENCE_FILENAMES:
        with open(tmp_path / "written" / name, newline="") as file:
            written = file.read()
        with open(os.path.join(ROOT, "results", name), newline="") as file:
            assert written == file.read(), f"results/{name} is not its records'"


@pytest.mark.backend_independent
def test_the_report_renders_the_cells_at_convergence_so_far(tmp_path):
    from fastweights_study import reporting

    row = dict.fromkeys(reporting.convergence.CELL_COLUMNS, "")
    row.update(series="lstm", units=100, seeds="0 1", at_zero=0)
    row.update(test_error_mean=1.5, test_error_std=0.25, paper=0.0)
    row.update(test_error_min=1.25, test_error_max=1.75)
    row.update(stopped_at_max_epochs=1, fixed_budget_mean=2.5)
    row.update(train_error_mean=0.0, train_error_min=0.0, train_error_max=0.0)
    (tmp_path / "results").mkdir()
    reporting.common.write_csv(
        [row],
        tmp_path / "results" / "table1_convergence.csv",
        reporting.convergence.CELL_COLUMNS,
    )
    text = reporting.report.later_section(tmp_path, "convergence")
    assert "| LSTM | 100 | 0 1 | 1.50 ± 0.25 | 1.25–1.75 | 2.50 | 0.00 " in text
    # No cell has every seed: nothing is read from it yet.
    assert "| … | 0.00–0.00 | … | 0 of 2 | 1 of 2 |" in text
    assert "43 runs are still to come" in text
    # Every cell has its line, the report its length, before its runs land.
    assert text.count("| none yet |") == 14
    assert "On the key-blind plateau" not in text
    row.update(seeds="0 1 2", stopped_at_max_epochs=0, on_plateau=1)
    reporting.common.write_csv(
        [row],
        tmp_path / "results" / "table1_convergence.csv",
        reporting.convergence.CELL_COLUMNS,
    )
    text = reporting.report.later_section(tmp_path, "convergence")
    assert (
        "| 0.00 | 40% | 0.00–0.00 | generalisation | 0 of 3 | 0 of 3 |" in text
    )
    assert "42 runs are still to come" in text
    assert "they never used the key): LSTM at R = 100, 1 of 3 seeds." in text
    assert "The budget alone" not in text
    run = dict.fromkeys(reporting.convergence.RUN_COLUMNS, "")
    run.update(series="lstm", units=100, learning_rate=0.003, seed=0)
    run.update(epochs=300, best_epoch=284, test_error_percent=1.49)
    reporting.common.write_csv(
        [run, dict(run, seed=1, best_epoch=251, test_error_percent=2.01)],
        tmp_path / "results" / reporting.convergence.CONVERGENCE_FILENAMES[-1],
        reporting.convergence.RUN_COLUMNS,
    )
    text = reporting.report.later_section(tmp_path, "convergence")
    assert (
        "**The budget alone**: the LSTM at R = 100 at its constant rate "
        "(0.003) for 300 epochs, the best epoch on validation kept: "
        "1.75 ± 0.37 % (seed 0: 1.49 % at epoch 284; seed 1: 2.01 % at epoch "
        "251); with the plateau schedule 1.50 ± 0.25 %, at 100 epochs 2.50 %."
    ) in text


@pytest.mark.backend_independent
def test_a_cell_s_reading_follows_its_records():
    """The gap to the paper that training closed, and whether the seeds fit
    their training sequences, are read from the cell's numbers."""
    from fastweights_study.reporting.convergence import against_the_paper
    from fastweights_study.reporting.convergence import gap_closed
    from fastweights_study.reporting.convergence import ordering
    from fastweights_study.reporting.convergence import what_is_left

    cell = dict(series="lstm", units=100, seeds="0 1 2", paper=0.0)
    cell.update(test_error_mean=1.5, test_error_min=1.0, test_error_max=2.0)
    cell.update(fixed_budget_mean=2.0, train_error_mean=0.02)
    cell.update(train_error_min=0.0, train_error_max=0.05)
    assert gap_closed(cell) == "25%"
    assert what_is_left(cell) == "generalisation"
    assert gap_closed(dict(cell, test_error_mean=0.003)) == "at the paper"
    assert gap_closed(dict(cell, paper=60.81)) == "below the paper"
    assert gap_closed(dict(cell, test_error_mean=2.5)) == "none"
    assert gap_closed(dict(cell, paper=None)) == "–"
    assert what_is_left(dict(cell, test_error_max=0.0)) == "nothing"
    cell.update(train_error_mean=1.0, train_error_max=2.0)
    assert what_is_left(cell) == "learning"
    cell.update(train_error_mean=0.5)
    assert what_is_left(cell) == "mostly generalisation"
    other = dict(cell, series="fast_weights", test_error_mean=0.5, paper=0.0)
    assert ordering([cell, other], 100) == (
        "R = 100: Fast weights 0.50, LSTM 1.50; the paper's: "
        "Fast weights 0.00, LSTM 0.00."
    )
    assert ordering([cell, dict(other, seeds="0")], 100) is None
    cell.update(welch_p_fast_weights=0.031)
    assert against_the_paper([cell, other], 100) == (
        "R = 100: fast weights 0.50 %; the LSTM 1.50 % (Welch p = 0.031): "
        "level in the paper (0.00 against 0.00)."
    )
    cell.update(paper=1.85)
    assert (
        "1.50 % (Welch p = 0.031): the paper's order (0.00 against 1.85)"
        in (against_the_paper([cell, other], 100))
    )
    reversed_ = against_the_paper([dict(cell, test_error_mean=0.2), other], 100)
    assert "the paper's order reversed (0.00 against 1.85)" in reversed_
    assert against_the_paper([cell, dict(other, seeds="0")], 100) is None


@pytest.mark.backend_independent
def test_which_gaps_close_is_read_from_the_finished_cells():
    from fastweights_study.reporting.convergence import gaps_reading

    lstm = dict(series="lstm", units=100, seeds="0 1 2", paper=0.0)
    lstm.update(test_error_mean=1.5, test_error_min=1.0, test_error_max=2.0)
    lstm.update(fixed_budget_mean=2.0, train_error_mean=0.0)
    lstm.update(train_error_min=0.0, train_error_max=0.0)
    assert gaps_reading([lstm]) == (
        "what is left is generalisation, every seed fitting its training "
        "sequences: LSTM at R = 100 (25% closed; training 0.00–0.00, test "
        "1.00–2.00 %)"
    )
    fast = dict(lstm, series="fast_weights", units=20, paper=1.81)
    fast.update(test_error_mean=1.812, fixed_budget_mean=3.5)
    learning = dict(lstm, units=50, paper=1.85, fixed_budget_mean=3.83)
    learning.update(test_error_mean=3.0, train_error_mean=2.0)
    learning.update(train_error_max=3.0)
    under = dict(fast, units=50, test_error_mean=1.0)
    reading = gaps_reading([learning, fast, lstm, under])
    assert reading.startswith(
        "closed: Fast weights at R = 20 (1.81 against 1.81), Fast weights at "
        "R = 50 (1.00 against 1.81); what is left is generalisation"
    )
    assert reading.endswith(
        "; what is left is learning, the seeds not fitting their training "
        "sequences: LSTM at R = 50 (42% closed; training 0.00–3.00, test "
        "1.00–2.00 %)"
    )
    # A cell not above the paper at 100 epochs (the paper's failed
    # baselines, or at the paper already), or not finished, has no gap.
    below = dict(lstm, paper=60.81, fixed_budget_mean=7.2)
    level = dict(lstm, fixed_budget_mean=0.001)
    assert gaps_reading([below, level, dict(lstm, seeds="0 1")]) is None
