"""Closed-form baselines and measurements that explain the models' results.

Ba et al. (2016), *Using Fast Weights to Attend to the Recent Past*,
https://arxiv.org/abs/1610.06258. docs/method.md derives and uses these:

- `key_blind_bayes`: the error and log-likelihood of the best prediction
  of the associative retrieval task that ignores the queried key, the
  plateau at which every model first sits (about 61.6 % error and 1.19
  nats with 4 pairs);
- `memory_drive_ratio`: the size of the fast memory's term `A(t) h_0` of
  the inner loop against the input drive `z` of the same step.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_fastweights._validation import check_int
from keras_fastweights.inspection import _fast_weights_sequences


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


def memory_drive_ratio(
    model: keras.Model | keras.layers.Layer,
    inputs: Any,
    *,
    layer_name: str | None = None,
) -> np.ndarray:
    """`‖A(t) h_0‖ / ‖z‖` of every example and step of a fast-weights layer.

    At each step the inner loop adds the memory's read-out to the input
    drive, `h_1 = f(LN(z + A(t) h_0))`, with `z = C x(t) + W h(t) + b` and
    `h_0 = f(z)`. This ratio says which of the two terms dominates the
    first inner iterate. The layer's cell is replayed step by step with its
    own weights (as in `keras_fastweights.inspection`), so `A(t)` is the
    memory the layer itself uses.

    Args:
        model: A built model containing one fast-weights recurrent layer
            (see `keras_fastweights.inspection.fast_weights_attention`),
            that layer, or a built `FastWeightsRNNCell`.
        inputs: Inputs of `model`, or the sequences of shape
            `(batch, timesteps, features)` read by the layer or cell.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        A float64 array of shape `(batch, timesteps)`. Step 0 is 0, since
        `A(0) = 0`, and so is any step with `z = 0`.

    Raises:
        TypeError: If `model` is neither a model, a fast-weights recurrent
            layer nor a `FastWeightsRNNCell`.
        ValueError: If the model has no (or several, and no `layer_name`)
            fast-weights layers, or the cell is not built.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, _) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> ratios = memory_drive_ratio(model, tokens)
    >>> ratios.shape, bool((ratios[:, 0] == 0).all())
    ((8, 11), True)
    """
    cell, sequences = _fast_weights_sequences(model, inputs, layer_name)
    states = cell.get_initial_state(ops.shape(sequences)[0])
    ratios = []
    for step in range(ops.shape(sequences)[1]):
        x = sequences[:, step]
        z = ops.matmul(x, ops.cast(cell.kernel, x.dtype))
        z = z + ops.matmul(states[0], ops.cast(cell.recurrent_kernel, x.dtype))
        if cell.use_bias:
            z = z + ops.cast(cell.bias, x.dtype)
        # The memory this step reads, A(t) = λ A(t-1) + η h(t) h(t)ᵀ, is the
        # state the cell returns.
        _, states = cell(x, states)
        h_0 = ops.convert_to_numpy(cell.activation(z)).astype("float64")
        z = ops.convert_to_numpy(z).astype("float64")
        memory = ops.convert_to_numpy(states[1]).astype("float64")
        memory = memory.reshape(-1, cell.units, cell.units)
        recall = np.einsum("bij,bj->bi", memory, h_0)
        drive = np.linalg.norm(z, axis=-1)
        ratios.append(
            np.linalg.norm(recall, axis=-1) / np.where(drive > 0, drive, np.inf)
        )
    return np.stack(ratios, axis=1)
