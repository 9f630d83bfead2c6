"""The MQAR sweep (fastweights_study.mqar, tuning/mqar_search.py and
tuning/mqar_report.py) on tiny data."""

import csv
from contextlib import nullcontext

import keras
import keras_tuner
import pytest
from fastweights_study import mqar
from fastweights_study import tuning
from scripts import load_script

from keras_fastweights import datasets
from keras_fastweights import training

from .interrupt import StopAtEpoch

mqar_search = load_script("mqar_search")
mqar_report = load_script("mqar_report")

TINY = [
    *("--sequence-length", "64", "--num-pairs", "4"),
    *("--mixers", "attention", "lstm", "--d-models", "4"),
    *("--learning-rates", "0.01", "0.001"),
    *("--num-train", "32", "--num-val", "16", "--num-test", "16"),
    *("--epochs", "2", "--batch-size", "16", "--verbose", "0"),
]


@pytest.mark.backend_independent
def test_a_cell_s_search_runs_every_point_resumes_and_reports(tmp_path):
    """Every (mixer, d, rate) of a cell runs once with its scaled
    vocabulary; the report keeps the best rate per (mixer, d) with the
    state size of Zoology's Figure 2, and a rerun runs nothing more."""
    args = [*TINY, "--directory", str(tmp_path / "sweep")]
    assert mqar_search.main(args) == 0
    assert mqar_search.main(args) == 0  # resumed: nothing left to run
    directory = mqar.cell_directory(tmp_path / "sweep", 64, 4)
    saved = tuning.load_settings(directory)
    vocab = datasets.mqar.scaled_vocab_size(32, 2, 4, 64)
    assert saved["settings"]["vocab_size"] == vocab
    assert saved["settings"]["random_non_queries"] is True

    mqar_report.main(
        ["--directory", str(tmp_path / "sweep"), "--output", str(tmp_path)]
    )
    with open(tmp_path / "mqar_runs.csv") as file:
        runs = list(csv.DictReader(file))
    assert sorted((r["mixer"], float(r["learning_rate"])) for r in runs) == [
        ("attention", 0.001),
        ("attention", 0.01),
        ("lstm", 0.001),
        ("lstm", 0.01),
    ]
    with open(tmp_path / "mqar.csv") as file:
        best = list(csv.DictReader(file))
    assert [(r["mixer"], r["state_size"], r["rates_tried"]) for r in best] == [
        ("attention", str(2 * 64 * 4), "2"),
        ("lstm", str(2 * 4), "2"),
    ]
    for row in best:
        mine = [r for r in runs if r["mixer"] == row["mixer"]]
        assert float(row["val_accuracy"]) == max(
            float(r["val_accuracy"]) for r in mine
        )
    for figure in ("mqar.png", "mqar_curves.png"):
        assert (tmp_path / figure).read_bytes()[:4] == b"\x89PNG"
    assert "T = 64, K = 4" in (tmp_path / "mqar.md").read_text()


@pytest.mark.backend_independent
def test_an_interrupted_run_goes_on_and_a_reached_goal_stays_reached(
    tmp_path,
):
    """A run stopped after its first epoch resumes from its backup and
    records every epoch; a run that had reached the accuracy goal when it
    was killed trains no further epoch."""
    settings = {
        "sequence_length": 64,
        "num_pairs": 4,
        "vocab_size": 130,
        "random_non_queries": True,
        "num_train": 32,
        "num_val": 16,
        "num_test": 16,
        "data_seed": 0,
        "epochs": 3,
        "batch_size": 16,
    }
    grid = mqar.check_mqar_grid(["hebbian"], [4], [0.01])
    train, val, test = mqar.load_data(settings)

    def search(directory, callbacks=()):
        found = mqar.make_search(directory, grid, settings)
        found.search(
            *train,
            validation_data=val,
            test_data=test,
            verbose=0,
            callbacks=list(callbacks),
        )
        return found

    with pytest.raises(KeyboardInterrupt):
        search(tmp_path / "a", [StopAtEpoch(1)])
    (trial,) = tuning.completed_trials(search(tmp_path / "a"))
    assert tuning.trial_values(trial)["epochs"] == 3

    # A goal every epoch reaches: the first stops the run, which is then
    # killed before its trial ends (its backup kept).
    class KillAtTheEnd(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            raise KeyboardInterrupt

    model = mqar.MQARHyperModel(grid, settings).build(
        keras_tuner.HyperParameters()
    )
    path = tmp_path / tuning.BACKUP_FILENAME
    trained = []
    for killed in (True, False):
        best = training.RestoreBestOnValidation()
        stop = training.StopAtAccuracy(1e-9)
        backup = tuning.TrialBackup(path, best, [stop])
        # The kill before the backup's on_train_end, which deletes it.
        kill = [KillAtTheEnd()] if killed else []
        with pytest.raises(KeyboardInterrupt) if killed else nullcontext():
            history = model.fit(
                *train,
                validation_data=val,
                epochs=3,
                verbose=0,
                callbacks=[best, stop, *kill, backup],
            )
        trained.append(len(backup.logs))
    assert history.epoch == []  # the resumed run trained no epoch
    assert trained[1] == trained[0] < 3


@pytest.mark.backend_independent
def test_bad_grids_are_refused_naming_the_value():
    with pytest.raises(ValueError, match="Unknown mixers \\['gru'\\]"):
        mqar.check_mqar_grid(["gru"], [4], [0.01])
    with pytest.raises(ValueError, match="units"):
        mqar.check_mqar_grid(["lstm"], [0], [0.01])
    with pytest.raises(ValueError, match="distinct values of learning_rate"):
        mqar.check_mqar_grid(["lstm"], [4], [0.01, 0.01])


@pytest.mark.backend_independent
def test_the_reading_names_the_mixers_that_recall():
    """A mixer recalls at 0.99 at some width; the others are given with
    their best width and marked near 1 / K, the accuracy of guessing among
    the values in context."""
    from fastweights_study.reporting.mqar import mqar_reading

    def row(mixer, d_model, accuracy):
        cell = dict(sequence_length=64, num_pairs=4, mixer=mixer)
        return {**cell, "d_model": d_model, "test_accuracy": accuracy}

    best = [
        row("attention", 64, 0.995),
        row("attention", 128, 0.999),
        row("hebbian", 64, 0.26),
        row("hebbian", 128, 0.24),
        row("lstm", 64, 0.5),
    ]
    assert mqar_reading(best) == [
        "T = 64, K = 4 (guessing among the 4 values in context: 0.25): "
        "recall at 0.99 by Attention (1 head) (d = 64, 128); the best of "
        "the others: Fast weights (Hebbian) 0.26 (d = 64, near guessing), "
        "LSTM 0.50 (d = 64)."
    ]
    assert "no mixer reached 0.99" in mqar_reading(best[2:])[0]
    assert (
        "0.10 (d = 64, below guessing)"
        in mqar_reading([row("lstm", 64, 0.1)])[0]
    )


@pytest.mark.backend_independent
def test_the_mqar_tables_regenerate_from_the_records(tmp_path):
    """results/mqar.csv, mqar_runs.csv and mqar.md are what the committed
    records of the sweep give (the cells run so far), byte for byte."""
    import os
    import shutil

    from fastweights_study.reporting import mqar as report
    from scripts import ROOT

    # Reading a search writes its grid back: read a copy.
    shutil.copytree(
        os.path.join(ROOT, "results", "mqar_search"),
        tmp_path / "sweep",
        ignore=shutil.ignore_patterns("*.weights.h5", "*.npz"),
    )
    report.write_mqar(tmp_path / "sweep", tmp_path)
    for name in report.MQAR_FILENAMES[:3]:
        with open(tmp_path / name, newline="") as file:
            written = file.read()
        with open(os.path.join(ROOT, "results", name), newline="") as file:
            assert written == file.read(), f"results/{name} is not its records'"
