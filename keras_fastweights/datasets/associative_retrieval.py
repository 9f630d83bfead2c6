"""The associative retrieval task of Ba et al. (2016), section 4.1.

*Using Fast Weights to Attend to the Recent Past*,
https://arxiv.org/abs/1610.06258

A sequence lists `num_pairs` key-value pairs, then `??`, then one of the
keys; the target is the value that followed that key:

```
c9k8j3f1??c  ->  9
j0a5s5z2??a  ->  5
```

Keys are distinct lowercase letters; values are digits, which may repeat.
Sequences are token ids over `VOCABULARY` (26 letters, 10 digits and `?`):

>>> from keras_fastweights.datasets import associative_retrieval
>>> associative_retrieval.encode("c9k8j3f1??c")
array([ 2, 35, 10, 34,  9, 29,  5, 27, 36, 36,  2], dtype=int32)
>>> associative_retrieval.decode([9, 26, 0, 31, 18, 31, 25, 28, 36, 36, 0])
'j0a5s5z2??a'
>>> (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
...     associative_retrieval.load_data(
...         num_train=1000, num_val=100, num_test=200, seed=0))
>>> x_train.shape, y_train.shape, x_test.shape
((1000, 11), (1000,), (200, 11))
"""

import string

import numpy as np

from keras_fastweights.validation import check_int

LETTERS = string.ascii_lowercase
DIGITS = string.digits
QUERY_MARK = "?"
VOCABULARY = LETTERS + DIGITS + QUERY_MARK
VOCABULARY_SIZE = len(VOCABULARY)
NUM_CLASSES = len(DIGITS)

# Token ids are positions in VOCABULARY: letters first, then digits.
_DIGIT_OFFSET = len(LETTERS)
_QUERY_MARK_ID = VOCABULARY.index(QUERY_MARK)
_TOKEN_IDS = {token: i for i, token in enumerate(VOCABULARY)}


def _check_num_pairs(num_pairs):
    num_pairs = check_int("num_pairs", num_pairs, 1)
    if num_pairs > len(LETTERS):
        raise ValueError(
            f"`num_pairs` must be an integer from 1 to {len(LETTERS)}, "
            "since the keys are distinct letters. "
            f"Received: num_pairs={num_pairs}"
        )
    return num_pairs


def sequence_length(num_pairs: int) -> int:
    """Length of a sequence with `num_pairs` pairs: the pairs, `??`, query.

    Example:

    >>> sequence_length(4)
    11
    """
    return 2 * _check_num_pairs(num_pairs) + 3


def encode(text: str) -> np.ndarray:
    """Converts a string over `VOCABULARY` to int32 token ids.

    Args:
        text: String of lowercase letters, digits and `?`.

    Returns:
        A 1D int32 array with one token id per character.

    Example:

    >>> encode("a5??a")
    array([ 0, 31, 36, 36,  0], dtype=int32)
    """
    if not isinstance(text, str):
        raise TypeError(
            "`text` must be a string. "
            f"Received: text={text!r} (of type {type(text).__name__})"
        )
    unknown = sorted(set(text) - _TOKEN_IDS.keys())
    if unknown:
        raise ValueError(
            f"`text` may only contain the characters {VOCABULARY!r}. "
            f"Received: text={text!r}, with unknown characters "
            f"{''.join(unknown)!r}"
        )
    return np.array([_TOKEN_IDS[token] for token in text], dtype="int32")


def decode(ids) -> str:
    """Converts a 1D sequence of token ids back to its string.

    Args:
        ids: 1D array-like of integers in `[0, VOCABULARY_SIZE)`, such as a
            row of `x` from `load_data`.

    Returns:
        The string, one character per id.

    Example:

    >>> decode(encode("c9k8j3f1??c"))
    'c9k8j3f1??c'
    """
    array = np.asarray(ids)
    if array.ndim != 1:
        raise ValueError(
            "`ids` must be a 1D sequence of token ids (one row of `x`). "
            f"Received: ids of shape {array.shape}"
        )
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            "`ids` must be integer token ids. "
            f"Received: ids={ids!r} (of dtype {array.dtype})"
        )
    bad = array[(array < 0) | (array >= VOCABULARY_SIZE)]
    if bad.size:
        raise ValueError(
            f"Token ids must be in [0, {VOCABULARY_SIZE}). "
            f"Received: ids={array.tolist()}, with invalid ids {bad.tolist()}"
        )
    return "".join(VOCABULARY[i] for i in array)


def load_data(
    num_pairs: int = 4,
    num_train: int = 100_000,
    num_val: int = 10_000,
    num_test: int = 20_000,
    seed: int | None = None,
) -> tuple[
    tuple[np.ndarray, np.ndarray],
    tuple[np.ndarray, np.ndarray],
    tuple[np.ndarray, np.ndarray],
]:
    """Generates the training, validation and test splits of the task.

    Each example has `num_pairs` keys drawn from the letters without
    replacement, each followed by a digit drawn uniformly with replacement,
    then `??`, then one of the keys drawn uniformly as the query. The target
    is the digit that followed the query. The defaults are the paper's
    (100,000 / 10,000 / 20,000 examples of 4 pairs).

    The three splits are consecutive parts of one random stream, so they
    are independent samples rather than repeats of each other, and the same
    `seed` gives the same splits.

    Args:
        num_pairs: Integer from 1 to 26, the number of key-value pairs.
        num_train, num_val, num_test: Non-negative integers, the sizes of
            the splits.
        seed: Non-negative integer seed of `numpy.random.default_rng`, or
            `None` for fresh randomness.

    Returns:
        `(x_train, y_train), (x_val, y_val), (x_test, y_test)`: `x` are int32
        token ids of shape `(n, 2 * num_pairs + 3)` (see `decode`), `y` are
        int32 targets in `[0, 10)` of shape `(n,)`.

    Example:

    >>> (x_train, y_train), _, _ = load_data(
    ...     num_train=3, num_val=0, num_test=0, seed=1)
    >>> [(decode(x), int(y)) for x, y in zip(x_train, y_train)]
    [('j9q8c4s8??s', 8), ('k0n6f2w2??w', 2), ('j6x7d8s2??x', 7)]
    """
    num_pairs = _check_num_pairs(num_pairs)
    sizes = [
        check_int(name, size, 0)
        for name, size in (
            ("num_train", num_train),
            ("num_val", num_val),
            ("num_test", num_test),
        )
    ]
    if seed is not None:
        seed = check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    rows = np.arange(n)

    # Sorting i.i.d. uniforms gives each row a uniform random permutation of
    # the letters; its first entries are keys drawn without replacement.
    # (A stable sort keeps the result identical across platforms.)
    keys = np.argsort(rng.random((n, len(LETTERS))), axis=1, kind="stable")
    keys = keys[:, :num_pairs]
    values = rng.integers(0, NUM_CLASSES, size=(n, num_pairs))
    query = rng.integers(0, num_pairs, size=n)

    end = 2 * num_pairs
    x = np.empty((n, sequence_length(num_pairs)), dtype="int32")
    x[:, 0:end:2] = keys
    x[:, 1:end:2] = _DIGIT_OFFSET + values
    x[:, end : end + 2] = _QUERY_MARK_ID
    x[:, -1] = keys[rows, query]
    y = values[rows, query].astype("int32")

    bounds = np.cumsum(sizes)[:-1]
    return tuple(
        (x_split, y_split)
        for x_split, y_split in zip(np.split(x, bounds), np.split(y, bounds))
    )
