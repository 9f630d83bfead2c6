"""The key-blind plateau: the best error of a model that ignores the queried
key (`analysis.key_blind_bayes`), and the rules that say whether a run
stayed on it, when it left it, and whether it diverged."""

from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np

from fastweights_study import analysis

# A run stayed on the key-blind plateau (never learned to use the key) if
# its best validation error never fell more than this many points below
# the key-blind error.
PLATEAU_MARGIN = 5.0


def key_blind_error(num_pairs: int) -> float:
    """The error (%) of the best prediction that ignores the queried key,
    with `num_pairs` pairs: `100 * analysis.key_blind_bayes(num_pairs)[0]`.

    Example:

    >>> round(key_blind_error(4), 2)
    61.65
    """
    return 100 * analysis.key_blind_bayes(num_pairs)[0]


def on_plateau(
    run: Mapping, num_pairs: int, margin: float = PLATEAU_MARGIN
) -> bool:
    """Whether a run (a row of `tuning.run_rows`) stayed on the key-blind
    plateau, i.e. never learned to use the key: its best validation error
    never fell more than `margin` points below `key_blind_error(num_pairs)`
    (a run that stayed above it, nearer chance, counts too)."""
    return run["val_error_percent"] >= key_blind_error(num_pairs) - margin


def plateau_exit_epoch(
    history: Mapping, num_pairs: int, margin: float = PLATEAU_MARGIN
) -> int | None:
    """The first epoch (counted from 1) at which a run's validation error
    fell more than `margin` points below `key_blind_error(num_pairs)`, the
    epoch it left the key-blind plateau; None if it never did (then
    `on_plateau` holds for it).

    Args:
        history: The run's `{metric: [value per epoch]}` with
            `val_accuracy`, as `training.read_history` returns it.
        num_pairs: The task's K.
        margin: Points below the key-blind error, as in `on_plateau`.

    Example:

    >>> plateau_exit_epoch({"val_accuracy": [0.1, 0.38, 0.45, 0.9]}, 4)
    3
    """
    threshold = key_blind_error(num_pairs) - margin
    errors = 100 * (1 - np.asarray(history["val_accuracy"], dtype=float))
    below = np.flatnonzero(errors < threshold)
    return int(below[0]) + 1 if below.size else None


def diverged(history: Mapping) -> bool:
    """Whether a run's loss became NaN or infinite: any non-finite `loss`
    or `val_loss` in its history (`{metric: [value per epoch]}`, as
    `training.read_history` returns it). Its best epoch, kept by the
    training recipe, comes before.

    Example:

    >>> diverged({"loss": [2.3, 1.9], "val_loss": [2.2, float("nan")]})
    True
    """
    return any(
        not np.all(np.isfinite(history[name]))
        for name in ("loss", "val_loss")
        if name in history
    )


def plateau_rule(num_pairs: int) -> str:
    """`on_plateau`'s rule in words, for the reports."""
    return (
        "best validation error never fell more than "
        f"{PLATEAU_MARGIN:g} points below the key-blind error "
        f"({key_blind_error(num_pairs):.2f} %, K = {num_pairs}), i.e. that "
        "did not learn to use the key"
    )


def plateau_exit_epochs(
    counted: Sequence[Mapping], histories: Mapping[str, Mapping], num_pairs: int
) -> str:
    """Each run's `plateau_exit_epoch`, in the order of `counted`, as text:
    "–" for a run that never left the plateau."""
    return " ".join(
        str(plateau_exit_epoch(histories[run["trial_id"]], num_pairs) or "–")
        for run in counted
    )


# The columns of a cell's test errors over its seeds and of `run_outcomes`,
# as the ablation's and the clipping comparison's tables have them.
OUTCOME_COLUMNS = (
    "runs",
    "test_error_mean",
    "test_error_std",
    "test_error_min",
    "test_error_max",
    "runs_at_zero",
    "best_epoch_mean",
    "runs_on_plateau",
    "plateau_exit_epochs",
    "runs_diverged",
)


def run_outcomes(
    counted: Sequence[Mapping], histories: Mapping[str, Mapping], num_pairs: int
) -> dict:
    """What the runs of one cell (`counted`, rows of `tuning.run_rows` with
    their histories by `trial_id`) did: `runs`, `runs_at_zero` (test error
    0.00 %), `best_epoch_mean`, `runs_on_plateau` (`on_plateau`),
    `plateau_exit_epochs` (`plateau_exit_epochs`) and `runs_diverged`
    (`diverged`)."""
    return {
        "runs": len(counted),
        "runs_at_zero": sum(run["test_error_percent"] == 0 for run in counted),
        "best_epoch_mean": round(
            float(np.mean([run["best_epoch"] for run in counted])), 2
        ),
        "runs_on_plateau": sum(on_plateau(run, num_pairs) for run in counted),
        "plateau_exit_epochs": plateau_exit_epochs(
            counted, histories, num_pairs
        ),
        "runs_diverged": sum(
            diverged(histories[run["trial_id"]]) for run in counted
        ),
    }
