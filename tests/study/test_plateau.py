"""The key-blind plateau's rules: fastweights_study.reporting.plateau."""

import pytest
from fastweights_study import reporting

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent


@pytest.mark.parametrize(
    "error, stayed",
    [(61.65, True), (57.0, True), (86.4, True), (56.5, False), (1.9, False)],
)
def test_on_plateau_counts_runs_that_never_learned_the_key(error, stayed):
    # 61.65 % is the key-blind error at K = 4; 86.4 % is a run that stayed
    # nearer chance (90 %), which did not learn the key either.
    assert (
        reporting.plateau.on_plateau({"val_error_percent": error}, 4) is stayed
    )
    # A run that reaches `error` at epoch 3 leaves the plateau there, if
    # it ever does.
    history = {"val_accuracy": [0.1, 0.35, 1 - error / 100]}
    assert reporting.plateau.plateau_exit_epoch(history, 4) == (
        None if stayed else 3
    )
    assert "5 points below the key-blind error (61.65 %, K = 4)" in (
        reporting.plateau.plateau_rule(4)
    )
