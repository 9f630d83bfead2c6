"""Recorded grid searches for the study's report tests: a
RetrievalGridSearch whose trials write made-up histories instead of
training, and the searches and expectations built from them."""

import csv
import itertools
import os

import numpy as np
import pytest
from fastweights_study import analysis
from fastweights_study import tuning
from scripts import run_script

from keras_fastweights import training

ROWS = [
    {"model": "fast_weights", "units": 20, "test_error_percent": 1.5},
    {"model": "fast_weights", "units": 50, "test_error_percent": 0.25},
    {"model": "lstm", "units": 50, "test_error_percent": 12.0},
]

EPOCHS = 3


def settings(num_pairs=4):
    return {
        "num_pairs": num_pairs,
        "num_train": 640,
        "num_val": 32,
        "num_test": 32,
        "data_seed": 0,
        "epochs": EPOCHS,
        "batch_size": 128,
    }


def point_key(values):
    return tuple(
        values.get(axis)
        for axis in ("model", "units", "variant", "learning_rate", "seed")
    )


def random_results(grid, seed):
    """Made-up results for every point of `grid`, as
    `RetrievalHyperModel.fit` returns them: some runs at 0.00 %, some on
    the key-blind plateau, some marked `diverged` (`RecordedSearch` then
    writes a NaN validation loss into their history)."""
    rng = np.random.default_rng(seed)
    axes = ["model", "units", "variant", "learning_rate", "seed"]
    results = {}
    for values in itertools.product(*(grid.get(a, [None]) for a in axes)):
        if rng.random() < 0.2:
            val_error = round(60 + float(rng.random()), 2)
            test_error = round(61 + float(rng.random()), 4)
        elif rng.random() < 0.3:
            val_error, test_error = 0.0, 0.0
        else:
            val_error = round(float(rng.uniform(0, 40)), 2)
            test_error = round(float(rng.uniform(0, 40)), 4)
        results[point_key(dict(zip(axes, values)))] = {
            "val_accuracy": 1 - val_error / 100,
            "val_loss": float(rng.uniform(0, 2)),
            "test_loss": float(rng.uniform(0, 2)),
            tuning.TEST_ERROR: test_error,
            "epochs": EPOCHS,
            "best_epoch": int(rng.integers(1, EPOCHS + 1)),
            "seconds": 1.0,
            "diverged": bool(rng.random() < 0.25),
        }
    return results


class RecordedSearch(tuning.RetrievalGridSearch):
    """Trains nothing: each trial records the results given for its grid
    point, and a made-up history of EPOCHS epochs beside them (validation
    and test metrics, enough for the reports' figures)."""

    def __init__(self, *args, results, stop_after=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.results = results
        self.stop_after = stop_after
        self.done = 0

    def run_trial(self, trial, *args, **kwargs):
        if self.done == self.stop_after:
            raise KeyboardInterrupt  # as if the search were interrupted
        self.done += 1
        result = dict(self.results[point_key(trial.hyperparameters.values)])
        nan_from = 1 if result.pop("diverged", False) else EPOCHS
        path = os.path.join(
            self.get_trial_dir(trial.trial_id), training.HISTORY_FILENAME
        )
        accuracies = np.linspace(0.4, result["val_accuracy"], EPOCHS)
        with open(path, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(
                ["epoch", "val_accuracy", "val_loss"]
                + ["test_accuracy", "test_loss"]
            )
            for epoch, accuracy in enumerate(accuracies):
                loss = float("nan") if epoch >= nan_from else 1.0
                writer.writerow([epoch, accuracy, loss, accuracy, 1.0])
        return result


def recorded_search(directory, grid, results, num_pairs=4, stop_after=None):
    """A search in `directory` whose trials record `results`."""
    tuning.make_tuner(grid, directory, settings=settings(num_pairs))
    search = RecordedSearch(
        tuning.RetrievalHyperModel(grid, num_pairs=num_pairs),
        results=results,
        stop_after=stop_after,
        directory=directory,
        project_name=tuning.PROJECT_NAME,
    )
    if stop_after is None:
        search.search()
    else:
        with pytest.raises(KeyboardInterrupt):
            search.search()


def expected_exit(val_accuracy, num_pairs=4):
    """The first epoch at which `RecordedSearch`'s history of a run with
    this final validation accuracy is more than 5 points below the
    key-blind error (61.65 % at K = 4), or "–"."""
    threshold = 100 * analysis.key_blind_bayes(num_pairs)[0] - 5
    for epoch, accuracy in enumerate(
        np.linspace(0.4, val_accuracy, EPOCHS), start=1
    ):
        if 100 * (1 - accuracy) < threshold:
            return str(epoch)
    return "–"


def run_grid_search(directory, *flags):
    """Runs tuning/grid_search.py into `directory` in a subprocess (quietly,
    with `flags`) and checks that it succeeded."""
    result = run_script(
        "tuning/grid_search.py",
        ["--verbose", "0", "--directory", directory, *flags],
    )
    assert result.returncode == 0, result.stderr[-3000:]
