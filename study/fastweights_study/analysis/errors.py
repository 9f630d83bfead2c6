"""Where a model's wrong answers come from (`retrieval_errors`), whether
the error depends on the queried pair's position more than chance allows
(`queried_pair_effects`, `bonferroni_bound`), and Welch's test between
two sets of runs (`welch_test`)."""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np

from fastweights_study.analysis.task import queried_pairs
from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.validation import check_int


def retrieval_errors(
    tokens: Any, targets: Any, predictions: Any
) -> dict[str, Any]:
    """Where a model's wrong answers to associative-retrieval queries come from.

    Two readings of the errors (docs/report.md, §4.4). By the
    position of the queried pair: the first pair is stored longest before
    the query, so a memory that fades (fast weights' decay `λ^{t-τ}`, an
    LSTM that forgets) would err more on it. By what a wrong answer is: the
    digit of another pair of the sequence (the look-up found a wrong pair)
    or a digit the sequence does not hold; `stored_by_chance` is how many
    wrong answers would be another pair's digit if each were drawn uniformly
    from the nine digits other than the right one.

    Args:
        tokens: Integer token ids of shape `(batch, 2 K + 3)`, as
            `associative_retrieval.load_data` returns them.
        targets: The digit each sequence asks for, shape `(batch,)`.
        predictions: The model's answers, digits of shape `(batch,)` (the
            argmax of its logits).

    Returns:
        A dict with `sequences_by_pair` and `wrong_by_pair` (integer arrays
        of shape `(K,)`: the sequences whose query names the i-th pair,
        and how many of those the model got wrong), `wrong` (the wrong
        answers), `wrong_stored` (the wrong answers that are the digit of
        another pair of their sequence) and `stored_by_chance` (a float:
        the sum over the wrong answers of the number of distinct digits in
        their sequence other than the right one, divided by 9).

    Raises:
        ValueError: If the shapes do not match, an answer is not a digit,
            or a target is not the digit stored under its query's key.

    Example:

    >>> from keras_fastweights.datasets import associative_retrieval
    >>> tokens = np.stack([associative_retrieval.encode(text) for text in
    ...     ("c9k8j3f1??c", "c9k8j3f1??f", "c9k8j3f1??k")])
    >>> errors = retrieval_errors(tokens, [9, 1, 8], [9, 3, 8])
    >>> errors["wrong_by_pair"].tolist(), errors["wrong_stored"]
    ([0, 0, 0, 1], 1)
    """
    tokens, num_pairs, queried = queried_pairs(tokens)
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    for name, values in (("targets", targets), ("predictions", predictions)):
        if values.shape != (len(tokens),):
            raise ValueError(
                f"`{name}` must have shape ({len(tokens)},), one digit per "
                f"sequence of `tokens`. Received: {name} of shape "
                f"{values.shape}"
            )
    num_digits = len(associative_retrieval.DIGITS)
    if predictions.size and not (
        np.issubdtype(predictions.dtype, np.integer)
        and predictions.min() >= 0
        and predictions.max() < num_digits
    ):
        raise ValueError(
            f"`predictions` must be digits from 0 to {num_digits - 1} (the "
            "argmax of the logits). Received values from "
            f"{predictions.min()} to {predictions.max()}"
        )
    digits = tokens[:, 1 : 2 * num_pairs : 2] - len(
        associative_retrieval.LETTERS
    )
    rows = np.arange(len(tokens))
    stored = digits[rows, queried]
    if not np.array_equal(stored, targets):
        bad = int(np.flatnonzero(stored != targets)[0])
        raise ValueError(
            "`targets` must be the digits stored under the queried keys. "
            f"Received: targets[{bad}]={targets[bad]} where sequence {bad} "
            f"stores {stored[bad]}"
        )
    wrong = predictions != targets
    others = [set(row) - {target} for row, target in zip(digits, targets)]
    return {
        "sequences_by_pair": np.bincount(queried, minlength=num_pairs),
        "wrong_by_pair": np.bincount(queried[wrong], minlength=num_pairs),
        "wrong": int(wrong.sum()),
        "wrong_stored": sum(
            int(predictions[i]) in others[i] for i in np.flatnonzero(wrong)
        ),
        "stored_by_chance": float(
            sum(len(others[i]) for i in np.flatnonzero(wrong))
            / (num_digits - 1)
        ),
    }


def queried_pair_effects(
    sequences_by_pair: Any, wrong_by_pair: Any
) -> dict[str, float]:
    """How far the error by queried pair strays from no effect of position.

    Under the hypothesis that the error does not depend on which pair is
    queried, each pair's wrong answers are binomial with the overall error
    `p`. Two statistics measure the departure (docs/report.md, §4.4):
    the largest distance of a pair's error from `p`, in
    binomial standard errors `sqrt(p (1 - p) / n_i)`, and the
    Cochran-Armitage test of a linear trend of the error in the pair's
    position `i = 1 .. K`,

        z = sum_i i (w_i - n_i p) / sqrt(p (1 - p) (sum_i n_i i**2
            - (sum_i n_i i)**2 / N)),

    positive when later (more recently stored) pairs err more. Each is
    about standard normal under the hypothesis; compare with
    `bonferroni_bound` for the number of pairs or tests.

    Args:
        sequences_by_pair: The sequences `n_i` whose query names the i-th
            pair, first pair first (`retrieval_errors`), `K >= 2` counts.
        wrong_by_pair: The wrong answers `w_i` among them.

    Returns:
        A dict with `error` (`p`), `largest_distance` and `trend_z`.

    Raises:
        ValueError: If the counts are not non-negative integers of one
            shape `(K,)` with `K >= 2`, every `n_i >= 1` and `w_i <= n_i`,
            or if every answer is right (or every one wrong), where
            neither statistic is defined.

    Example:

    With two pairs the trend test is the two-proportion z-test:

    >>> effects = queried_pair_effects([100, 100], [10, 20])
    >>> round(effects["largest_distance"], 2), round(effects["trend_z"], 2)
    (1.4, 1.98)
    """
    counts = {}
    for name, values in (
        ("sequences_by_pair", sequences_by_pair),
        ("wrong_by_pair", wrong_by_pair),
    ):
        values = np.asarray(values)
        if (
            values.ndim != 1
            or len(values) < 2
            or not np.issubdtype(values.dtype, np.integer)
            or values.min() < 0
        ):
            raise ValueError(
                f"`{name}` must be a 1-D array of at least two non-negative "
                f"integer counts. Received: {name}={values.tolist()}"
            )
        counts[name] = values.astype("float64")
    sequences, wrong = counts["sequences_by_pair"], counts["wrong_by_pair"]
    if (
        sequences.shape != wrong.shape
        or sequences.min() < 1
        or np.any(wrong > sequences)
    ):
        raise ValueError(
            "`wrong_by_pair` must count at most `sequences_by_pair` (each at "
            "least 1), pair by pair. Received: sequences_by_pair="
            f"{sequences.astype(int).tolist()}, wrong_by_pair="
            f"{wrong.astype(int).tolist()}"
        )
    error = wrong.sum() / sequences.sum()
    if error in (0.0, 1.0):
        raise ValueError(
            "The effect of the queried pair needs both right and wrong "
            f"answers. Received: {int(wrong.sum())} wrong answers of "
            f"{int(sequences.sum())}"
        )
    variance = error * (1 - error)
    distances = np.abs(wrong / sequences - error) / np.sqrt(
        variance / sequences
    )
    position = np.arange(1, len(sequences) + 1)
    spread = np.sum(sequences * position**2) - (
        np.sum(sequences * position) ** 2 / sequences.sum()
    )
    trend = np.sum(position * (wrong - error * sequences)) / math.sqrt(
        variance * spread
    )
    return {
        "error": float(error),
        "largest_distance": float(distances.max()),
        "trend_z": float(trend),
    }


def bonferroni_bound(comparisons: int, level: float = 0.05) -> float:
    """The |z| that any of `comparisons` standard normal statistics exceeds
    with probability at most `level` (two-sided, Bonferroni).

    Example:

    >>> round(bonferroni_bound(1), 2), round(bonferroni_bound(8), 2)
    (1.96, 2.73)
    """
    comparisons = check_int("comparisons", comparisons, 1)
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1). Received: level={level}")
    return statistics.NormalDist().inv_cdf(1 - level / (2 * comparisons))


def welch_test(a, b) -> dict:
    """Welch's two-sample t-test of the means of `a` and `b` (unequal
    variances): what three seeds per model can say about "better".

    Returns:
        `{"t", "dof", "p"}`: the statistic, the Welch-Satterthwaite degrees
        of freedom and the two-sided p-value; `p` is 1.0 when both samples
        are constant and equal, 0.0 when constant and different.

    Raises:
        ValueError: a sample of fewer than two values.

    Example:

    >>> round(welch_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])["p"], 4)
    0.0213
    """
    from scipy import stats

    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            "Welch's test needs at least two values per sample. "
            f"Received: {len(a)} and {len(b)}"
        )
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        same = a.mean() == b.mean()
        return {
            "t": 0.0 if same else math.inf,
            "dof": math.nan,
            "p": 1.0 if same else 0.0,
        }
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    p = 2 * stats.t.sf(abs(t), dof)
    return {"t": float(t), "dof": float(dof), "p": float(p)}
