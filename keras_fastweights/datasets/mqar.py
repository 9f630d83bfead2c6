"""Multi-query associative recall (MQAR), the recall task of Zoology.

Arora et al. (2023), *Zoology: Measuring and Improving Recall in Efficient
Language Models*, section 3, https://arxiv.org/abs/2312.04927, as its
`multiquery_ar` generator (github.com/HazyResearch/zoology) defines it.

A sequence of `sequence_length` tokens starts with `num_pairs` key-value
pairs, `k v k v ...`; every key is then asked once more, in the rest of the
sequence, and at each such query the model must answer the value that
followed that key in the pairs. With zeros as the other tokens (Zoology's
Figure 2 configuration, `random_non_queries=False`):

```
inputs   k1 v1 k2 v2  0  0 k2  0  0  0 k1  0  0  0  0  0
targets   .  .  .  .  .  . v2  .  .  .  . v1  .  .  .  .   (. is -100)
```

The target stands at the query's own position, so that a causal model
answers the value as the next token, as a language model would. Keys are
token ids in `[1, vocab_size // 2)`, values in `[vocab_size // 2,
vocab_size)`, both distinct within a sequence. Queries come after the pairs,
on even offsets, with gaps drawn from a power law (`power_a`): most come
soon after the pairs, a few late. By default the other tokens are random
ids of the whole vocabulary (Zoology's default), so they can repeat a key
or a value without being asked. Every other target is `IGNORE_CLASS`
(-100), which `keras.losses.SparseCategoricalCrossentropy(ignore_class=-100)`
skips.

>>> from keras_fastweights.datasets import mqar
>>> inputs, targets = mqar.generate(
...     2, 16, 2, vocab_size=20, seed=0, random_non_queries=False)
>>> inputs
array([[ 5, 14,  7, 19,  0,  0,  5,  0,  0,  0,  0,  0,  0,  0,  7,  0],
       [ 6, 17,  3, 15,  3,  0,  0,  0,  6,  0,  0,  0,  0,  0,  0,  0]],
      dtype=int32)
>>> targets[0]
array([-100, -100, -100, -100, -100, -100,   14, -100, -100, -100, -100,
       -100, -100, -100,   19, -100], dtype=int32)

`model_inputs` gives the tokens with the positions where an answer is due,
and the answers, for a model that reads out there only:

>>> x, y = mqar.model_inputs(inputs, targets)
>>> x["positions"].tolist(), y.tolist()
([[6, 14], [4, 8]], [[14, 19], [15, 17]])
"""

import numpy as np

from keras_fastweights.validation import check_int
from keras_fastweights.validation import check_positive

# The target of the positions that ask nothing (Zoology's, and PyTorch's
# default `ignore_index`): `SparseCategoricalCrossentropy(ignore_class=...)`.
IGNORE_CLASS = -100
# How often each value is the answer over a training of Zoology's (64, 4)
# configuration: 100,000 sequences × 64 epochs × 4 pairs over its 8,192 / 2
# values (6,250 times).
ZOOLOGY_ANSWERS_PER_VALUE = 100_000 * 64 * 4 / (8192 // 2)


def _distinct(rng, num_examples, size, count):
    """`size` distinct integers of `[0, count)` per row, in random order.

    Floyd's algorithm draws a uniform subset with `size` draws per row,
    without the `num_examples x count` array that shuffling every row of
    the whole range would take (100,000 x 4,095 at Zoology's sizes).
    """
    chosen = np.empty((num_examples, size), dtype=np.int64)
    for i, top in enumerate(range(count - size, count)):
        draw = rng.integers(0, top + 1, size=num_examples)
        taken = (chosen[:, :i] == draw[:, None]).any(axis=1)
        chosen[:, i] = np.where(taken, top, draw)
    # Floyd's subset is uniform but its order is not: shuffle each row.
    order = np.argsort(rng.random((num_examples, size)), axis=1, kind="stable")
    return np.take_along_axis(chosen, order, axis=1)


def _power_law_gaps(rng, num_examples, space, size, power_a):
    """`size` distinct gaps of `[0, space)` per row, drawn one after the
    other without replacement, with probability ∝ `(gap + 1) ** (power_a -
    1)` (Zoology's power law; `power_a=1` is uniform).

    Independent exponential clocks with these rates ring in the order of
    such draws (Efraimidis and Spirakis, 2006), so the first `size` to ring
    are the draws, in the order drawn, for every row at once.
    """
    rates = np.arange(1, space + 1, dtype=np.float64) ** (power_a - 1.0)
    clocks = rng.standard_exponential((num_examples, space)) / rates
    return np.argsort(clocks, axis=1, kind="stable")[:, :size]


def _check_arguments(sequence_length, num_pairs, vocab_size, power_a):
    sequence_length = check_int("sequence_length", sequence_length, 1)
    if sequence_length % 2:
        raise ValueError(
            "`sequence_length` must be even (the queries stand on even "
            "offsets after the pairs). "
            f"Received: sequence_length={sequence_length}"
        )
    num_pairs = check_int("num_pairs", num_pairs, 1)
    if 4 * num_pairs > sequence_length:
        raise ValueError(
            "`num_pairs` must be at most `sequence_length / 4`: the pairs "
            "take 2 tokens each and their queries need as many places "
            "again. Received: "
            f"num_pairs={num_pairs} with sequence_length={sequence_length}"
        )
    vocab_size = check_int("vocab_size", vocab_size, 1)
    if vocab_size <= sequence_length:
        raise ValueError(
            "`vocab_size` must be greater than `sequence_length`, as "
            "Zoology requires. Received: "
            f"vocab_size={vocab_size} with sequence_length={sequence_length}"
        )
    power_a = check_positive("power_a", power_a)
    return sequence_length, num_pairs, vocab_size, power_a


def generate(
    num_examples: int,
    sequence_length: int,
    num_pairs: int,
    vocab_size: int = 8192,
    seed: int = 0,
    power_a: float = 0.01,
    random_non_queries: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Generates MQAR sequences and their targets (Zoology's
    `multiquery_ar`).

    Each sequence has `num_pairs` keys drawn without replacement from `[1,
    vocab_size // 2)`, each followed by its value, drawn without replacement
    from `[vocab_size // 2, vocab_size)`: the pairs fill the first `2 *
    num_pairs` positions. Each key is then asked once, at position `2 *
    num_pairs + 2 * gap`: the gaps are `num_pairs` distinct integers of
    `[0, (sequence_length - 2 * num_pairs) // 2)` drawn one after the other
    with probability ∝ `(gap + 1) ** (power_a - 1)`, the first for the
    first pair's key. The target at a query is its key's value; elsewhere
    it is `IGNORE_CLASS`. The other positions are random ids of `[0,
    vocab_size)`, or 0 with `random_non_queries=False`.

    The arrays depend only on the arguments (NumPy's
    `numpy.random.default_rng(seed)`, no Keras backend): the same on every
    backend. A larger `num_examples` draws other sequences, not more of
    the same (the draws run column by column).

    Args:
        num_examples: Positive integer, the number of sequences.
        sequence_length: Positive even integer, the tokens per sequence
            (Zoology: 64 to 512).
        num_pairs: Positive integer, the key-value pairs per sequence, at
            most `sequence_length / 4` (Zoology: 4 at 64 tokens, up to 64).
        vocab_size: Integer greater than `sequence_length`, the number of
            token ids. Default: 8,192, Zoology's.
        seed: Non-negative integer, the seed of `numpy.random.default_rng`.
        power_a: Positive number, the power law of the query gaps: 0.01
            (default, Zoology's) puts most queries soon after the pairs,
            1 spreads them uniformly.
        random_non_queries: Boolean: `True` (default, Zoology's generator's
            default) fills the positions that are neither pairs nor queries
            with random token ids, `False` with 0 (Zoology's Figure 2).

    Returns:
        `(inputs, targets)`, int32 arrays of shape `(num_examples,
        sequence_length)`: the token ids, and the value to answer at each
        query, `IGNORE_CLASS` elsewhere.

    Example:

    >>> inputs, targets = generate(1000, 64, 4, seed=1)
    >>> inputs.shape, inputs.dtype, targets.shape, targets.dtype
    ((1000, 64), dtype('int32'), (1000, 64), dtype('int32'))
    >>> (targets != IGNORE_CLASS).sum(axis=1).tolist()[:5]
    [4, 4, 4, 4, 4]
    """
    num_examples = check_int("num_examples", num_examples, 1)
    sequence_length, num_pairs, vocab_size, power_a = _check_arguments(
        sequence_length, num_pairs, vocab_size, power_a
    )
    seed = check_int("seed", seed, 0)
    if not isinstance(random_non_queries, (bool, np.bool_)):
        raise TypeError(
            "`random_non_queries` must be a boolean. "
            f"Received: random_non_queries={random_non_queries!r} "
            f"(of type {type(random_non_queries).__name__})"
        )
    rng = np.random.default_rng(seed)

    half = vocab_size // 2
    keys = 1 + _distinct(rng, num_examples, num_pairs, half - 1)
    values = half + _distinct(rng, num_examples, num_pairs, vocab_size - half)
    context = 2 * num_pairs
    gaps = _power_law_gaps(
        rng, num_examples, (sequence_length - context) // 2, num_pairs, power_a
    )
    queries = context + 2 * gaps

    inputs = np.zeros((num_examples, sequence_length), dtype=np.int32)
    inputs[:, 0:context:2] = keys
    inputs[:, 1:context:2] = values
    np.put_along_axis(inputs, queries, keys, axis=1)
    targets = np.full_like(inputs, IGNORE_CLASS)
    np.put_along_axis(targets, queries, values, axis=1)
    if random_non_queries:
        # Keys are >= 1 and values >= vocab_size // 2: only fillers are 0.
        # Each row has the same number of them, in row-major order.
        fillers = inputs == 0
        inputs[fillers] = rng.integers(
            0, vocab_size, size=(num_examples, sequence_length - 3 * num_pairs)
        ).ravel()
    return inputs, targets


def model_inputs(inputs, targets) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """`generate`'s arrays as `keras_fastweights.models.build_mqar_model`
    reads them: the tokens, the positions of the queries, and the answers.

    That model reads out only where an answer is due, at the positions it
    is given, so its targets are the answers alone: its loss and accuracy
    count the queries and nothing else.

    Args:
        inputs: 2D integer array, such as `generate`'s `inputs`.
        targets: 2D integer array of the same shape, such as `generate`'s
            `targets`, with the same number of answers (entries other than
            `IGNORE_CLASS`) in every row.

    Returns:
        `(x, y)`: `x` is `{"tokens": inputs, "positions": positions}`, with
        `positions` the int32 positions of each row's queries in increasing
        order, shape `(num_examples, num_queries)`; `y` the int32 answers
        there, of the same shape.

    Example:

    >>> x, y = model_inputs(
    ...     [[1, 9, 8, 1], [5, 2, 3, 6]],
    ...     [[-100, 7, -100, 5], [3, -100, -100, 9]])
    >>> x["positions"].tolist(), y.tolist()
    ([[1, 3], [0, 3]], [[7, 5], [3, 9]])
    """
    inputs = np.asarray(inputs)
    targets = np.asarray(targets)
    for name, array in (("inputs", inputs), ("targets", targets)):
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"`{name}` must be a 2D integer array, such as `generate`'s. "
                f"Received: {name} of shape {array.shape} and dtype "
                f"{array.dtype}"
            )
    if inputs.shape != targets.shape:
        raise ValueError(
            "`inputs` and `targets` must have the same shape. Received: "
            f"inputs of shape {inputs.shape}, targets of shape "
            f"{targets.shape}"
        )
    answered = targets != IGNORE_CLASS
    counts = answered.sum(axis=1)
    if counts.size and (counts != counts[0]).any():
        raise ValueError(
            "Every row of `targets` must hold the same number of answers. "
            f"Received: rows with {sorted(set(counts.tolist()))} answers"
        )
    shape = (len(targets), int(counts[0]) if counts.size else 0)
    # np.nonzero lists row by row, each row's columns in increasing order.
    positions = np.nonzero(answered)[1].reshape(shape).astype(np.int32)
    answers = targets[answered].reshape(shape).astype(np.int32)
    return {"tokens": inputs.astype(np.int32), "positions": positions}, answers


def load_data(
    sequence_length: int,
    num_pairs: int,
    num_train: int = 100_000,
    num_test: int = 3_000,
    vocab_size: int = 8192,
    seed: int = 0,
    power_a: float = 0.01,
    random_non_queries: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Generates a training and a test split of MQAR (`generate`).

    The defaults are Zoology's sizes: 100,000 training and 3,000 test
    sequences at 8,192 tokens. The two splits are the first `num_train` and
    the last `num_test` sequences of one call of `generate`: independent
    samples, fixed by `seed`.

    Args:
        sequence_length, num_pairs, vocab_size, seed, power_a,
        random_non_queries: As in `generate`.
        num_train, num_test: Positive integers, the sizes of the splits.

    Returns:
        `(x_train, y_train), (x_test, y_test)`, each as `generate` returns
        them.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_data(
    ...     64, 4, num_train=500, num_test=100, vocab_size=1024)
    >>> x_train.shape, y_test.shape
    ((500, 64), (100, 64))
    """
    num_train = check_int("num_train", num_train, 1)
    num_test = check_int("num_test", num_test, 1)
    inputs, targets = generate(
        num_train + num_test,
        sequence_length,
        num_pairs,
        vocab_size=vocab_size,
        seed=seed,
        power_a=power_a,
        random_non_queries=random_non_queries,
    )
    return (inputs[:num_train], targets[:num_train]), (
        inputs[num_train:],
        targets[num_train:],
    )


def scaled_vocab_size(
    num_train: int,
    epochs: int,
    num_pairs: int,
    sequence_length: int,
    answers_per_value: float = ZOOLOGY_ANSWERS_PER_VALUE,
) -> int:
    """The vocabulary for a smaller training than Zoology's: each value is
    then an answer as often over the training as in Zoology's.

    Zoology trains 100,000 sequences for 64 epochs at 8,192 tokens. With
    fewer sequences or epochs at that vocabulary each value is seen too
    seldom for a read-out to learn it, and even attention, which solves
    MQAR, stays near guessing. This returns the even vocabulary at which
    each value is an answer `answers_per_value` times in `epochs` epochs of
    `num_train` sequences of `num_pairs` pairs (half the vocabulary are
    values), and at least `sequence_length + 2`, which `generate` needs.

    Args:
        num_train, epochs, num_pairs, sequence_length: Positive integers.
        answers_per_value: Positive float; default Zoology's 6,250.

    Example:

    >>> scaled_vocab_size(100_000, 64, 4, 64)
    8192
    >>> scaled_vocab_size(10_000, 16, 4, 64)
    204
    >>> scaled_vocab_size(10_000, 16, 8, 128)
    410
    """
    num_train = check_int("num_train", num_train, 1)
    epochs = check_int("epochs", epochs, 1)
    num_pairs = check_int("num_pairs", num_pairs, 1)
    sequence_length = check_int("sequence_length", sequence_length, 1)
    answers_per_value = check_positive("answers_per_value", answers_per_value)
    values = round(num_train * epochs * num_pairs / answers_per_value)
    return max(2 * values, sequence_length + 2 - sequence_length % 2)
