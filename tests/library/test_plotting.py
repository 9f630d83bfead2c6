"""keras_fastweights.plotting: a run's history and a model's attention."""

import csv

import numpy as np
import pytest

from keras_fastweights import plotting


def test_plot_history(tmp_path):
    history = {
        "accuracy": [0.2, 0.7, 0.99],
        "val_accuracy": [0.25, 0.8, 1.0],
        "loss": [2.0, 1.0, 0.1],
    }
    csv_path = tmp_path / "history.csv"
    with open(csv_path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", *history])
        writer.writerows(zip(range(3), *history.values()))
    for source, name in ((history, "dict.png"), (csv_path, "csv.png")):
        figure = plotting.plot_history(source, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        (axes,) = figure.axes
        lines = {line.get_label(): line for line in axes.get_lines()}
        assert sorted(lines) == ["training", "validation"]
        for label, key in (
            ("training", "accuracy"),
            ("validation", "val_accuracy"),
        ):
            np.testing.assert_array_equal(lines[label].get_xdata(), [1, 2, 3])
            np.testing.assert_allclose(
                lines[label].get_ydata(),
                [100 * (1 - a) for a in history[key]],
            )
    with pytest.raises(TypeError, match="list"):
        plotting.plot_history([0.1, 0.2], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="loss"):
        plotting.plot_history({"loss": [1.0]}, tmp_path / "bad.png")
