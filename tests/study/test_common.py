"""What the study's reports share: fastweights_study.reporting.common."""

import pytest
from fastweights_study import reporting

from .records import ROWS

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent


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


def test_csv_round_trip(tmp_path):
    path = tmp_path / "sub" / "table.csv"
    reporting.common.write_csv(
        ROWS, path, ["model", "units", "test_error_percent"]
    )
    assert reporting.common.read_csv(path) == ROWS
