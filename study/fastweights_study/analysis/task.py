"""The associative retrieval task itself, without a model: the best
prediction that ignores the queried key (`key_blind_bayes`), how much a
sequence asks the network to remember (`retrieval_information_bits`), and
the roles of a sequence's tokens (`retrieval_roles`)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.validation import check_int


def _partitions(total: int, largest: int) -> Iterator[tuple[int, ...]]:
    """The partitions of `total` into parts of at most `largest`, each as a
    non-increasing tuple of its parts."""
    if total == 0:
        yield ()
        return
    for first in range(min(total, largest), 0, -1):
        for rest in _partitions(total - first, first):
            yield (first, *rest)


def key_blind_bayes(
    num_pairs: int, num_digits: int = 10
) -> tuple[float, float]:
    """Expected error and log-likelihood of the best key-blind prediction.

    In the associative retrieval task a sequence stores `num_pairs` (K)
    digits, each i.i.d. uniform over `num_digits` (D) values (they may
    repeat), under distinct keys, and the query is one of the K keys,
    uniformly. A predictor that does not use which key is queried can at
    best give each digit `d` the probability `m_d / K`, where `m_d` is how
    many of the K stored digits equal `d`, and answer a most frequent one.
    Its expected error and expected log-likelihood of the target are

    ```
    error          = 1 - E[max_d m_d] / K
    log_likelihood = E[Σ_d (m_d / K) log(m_d / K)]
    ```

    computed here exactly by summing over the multisets of counts: a
    partition `m_1 >= ... >= m_l` of K with `l <= D` parts occurs in
    `D! / ((D - l)! Π_j c_j!) * K! / Π_i m_i!` of the `D^K` digit tuples,
    where `c_j` is how many parts equal `j`.

    Args:
        num_pairs: Integer >= 1, the number K of key-value pairs.
        num_digits: Integer >= 1, the number D of values a digit can take.
            Default: `10`.

    Returns:
        `(error, log_likelihood)`: the expected error rate, in `[0, 1)`, and
        the expected log-likelihood of the target in nats (<= 0; its
        negative is the expected cross-entropy loss).

    Example:

    >>> error, log_likelihood = key_blind_bayes(4)
    >>> round(error, 4), round(log_likelihood, 4)
    (0.6165, -1.1868)
    """
    num_pairs = check_int("num_pairs", num_pairs, 1)
    num_digits = check_int("num_digits", num_digits, 1)
    expected_max = Fraction(0)
    log_likelihood_terms = []
    for parts in _partitions(num_pairs, num_pairs):
        if len(parts) > num_digits:
            continue
        # Ways to give the parts to distinct digits, times the ways to
        # place those digits among the K positions.
        count = math.factorial(num_digits) // math.factorial(
            num_digits - len(parts)
        )
        for repeats in Counter(parts).values():
            count //= math.factorial(repeats)
        count *= math.factorial(num_pairs)
        for part in parts:
            count //= math.factorial(part)
        probability = Fraction(count, num_digits**num_pairs)
        expected_max += probability * parts[0]
        log_likelihood_terms.append(
            float(probability)
            * sum(
                part / num_pairs * math.log(part / num_pairs) for part in parts
            )
        )
    error = 1 - expected_max / num_pairs
    return float(error), math.fsum(log_likelihood_terms)


def retrieval_information_bits(
    num_pairs: int = 4,
    num_keys: int = len(associative_retrieval.LETTERS),
    num_digits: int = len(associative_retrieval.DIGITS),
) -> float:
    """Bits in the key-digit bindings of one associative-retrieval sequence.

    The `num_pairs` (K) keys are distinct, drawn uniformly from `num_keys`
    letters, and the digits i.i.d. uniform, so the set of bindings
    `{key: digit}` (what answers every possible query) takes
    `C(num_keys, K) · num_digits^K` equally likely values; this is the
    base-2 logarithm of that number.

    Args:
        num_pairs: Integer >= 1, the number K of pairs.
        num_keys: Integer >= K, the number of letters keys are drawn from.
        num_digits: Integer >= 1, the number of digit values.

    Returns:
        The number of bits, a float.

    Example:

    >>> round(retrieval_information_bits(4), 2)
    27.16
    """
    num_pairs = check_int("num_pairs", num_pairs, 1)
    num_keys = check_int("num_keys", num_keys, num_pairs)
    num_digits = check_int("num_digits", num_digits, 1)
    return math.log2(math.comb(num_keys, num_pairs)) + num_pairs * math.log2(
        num_digits
    )


RETRIEVAL_ROLES = (
    "queried key",
    "queried value",
    "other key",
    "other value",
    "first ?",
    "second ?",
)


def queried_pairs(tokens):
    """Retrieval `tokens` as an array, their K, and the index (0 for the
    first pair) of the pair whose key each sequence's query names."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or tokens.shape[1] < 5 or tokens.shape[1] % 2 == 0:
        raise ValueError(
            "`tokens` must have shape (batch, 2 K + 3) with K >= 1. "
            f"Received: tokens of shape {tokens.shape}"
        )
    num_pairs = (tokens.shape[1] - 3) // 2
    keys = tokens[:, 0 : 2 * num_pairs : 2]
    found = keys == tokens[:, -1:]
    if not found.any(axis=1).all():
        raise ValueError(
            "Every query (the last token) must be one of its sequence's "
            "keys (the tokens at even positions before `??`)."
        )
    return tokens, num_pairs, found.argmax(axis=1)


def retrieval_roles(tokens: Any) -> np.ndarray:
    """The role of each stored state at the query step of retrieval data.

    A sequence of `associative_retrieval` is `K` key-digit pairs, `??` and
    a query key. At the last step (the query) the memory holds the outputs
    of the steps before it, one per token read: the role of the state
    stored at step `j` is that of token `j`, one of `RETRIEVAL_ROLES`:
    the key that is queried, the digit that follows it (the answer), the
    other keys and digits, and the two `?`.

    Args:
        tokens: Integer token ids of shape `(batch, 2 K + 3)`, as
            `associative_retrieval.load_data` returns them.

    Returns:
        A string array of shape `(batch, 2 K + 2)`.

    Raises:
        ValueError: If the sequences do not have that layout, or a query is
            not one of its sequence's keys.

    Example:

    >>> from keras_fastweights.datasets import associative_retrieval
    >>> tokens = associative_retrieval.encode("c9k8j3f1??k")[None]
    >>> retrieval_roles(tokens)[0, :4].tolist()
    ['other key', 'other value', 'queried key', 'queried value']
    """
    tokens, num_pairs, queried = queried_pairs(tokens)
    roles = np.empty((len(tokens), 2 * num_pairs + 2), dtype="<U13")
    roles[:, 0 : 2 * num_pairs : 2] = "other key"
    roles[:, 1 : 2 * num_pairs : 2] = "other value"
    rows = np.arange(len(tokens))
    roles[rows, 2 * queried] = "queried key"
    roles[rows, 2 * queried + 1] = "queried value"
    roles[:, -2:] = ["first ?", "second ?"]
    return roles
