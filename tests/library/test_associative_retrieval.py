"""The associative retrieval data set (Ba et al., 2016, section 4.1)."""

import doctest
import string

import numpy as np
import pytest

from keras_fastweights.datasets import associative_retrieval as ar

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent

PAPER_EXAMPLES = [("c9k8j3f1??c", 9), ("j0a5s5z2??a", 5)]


def small_splits(num_pairs=4, sizes=(2000, 300, 500), seed=0):
    num_train, num_val, num_test = sizes
    return ar.load_data(
        num_pairs=num_pairs,
        num_train=num_train,
        num_val=num_val,
        num_test=num_test,
        seed=seed,
    )


def all_examples(num_pairs=4, seed=0):
    splits = small_splits(num_pairs=num_pairs, seed=seed)
    x = np.concatenate([x for x, _ in splits])
    y = np.concatenate([y for _, y in splits])
    return x, y


def answer_from_text(text):
    """The task's rule, read off the decoded string."""
    keys, digits, query = text[0:-3:2], text[1:-3:2], text[-1]
    return int(digits[keys.index(query)])


def test_vocabulary():
    assert ar.VOCABULARY_SIZE == 37 == len(ar.VOCABULARY)
    assert ar.VOCABULARY == string.ascii_lowercase + string.digits + "?"
    assert ar.NUM_CLASSES == 10


@pytest.mark.parametrize("text, target", PAPER_EXAMPLES)
def test_encode_paper_examples(text, target):
    ids = ar.encode(text)
    assert ids.dtype == np.int32 and ids.shape == (11,)
    assert ids.tolist() == [ar.VOCABULARY.index(c) for c in text]
    assert ar.decode(ids) == text
    assert answer_from_text(text) == target


def test_encode_empty_and_decode_empty():
    assert ar.encode("").shape == (0,)
    assert ar.decode([]) == ""


@pytest.mark.parametrize("num_pairs", [1, 2, 4, 8, 26])
def test_layout(num_pairs):
    (x, y), _, _ = small_splits(num_pairs=num_pairs, sizes=(500, 0, 0))
    length = 2 * num_pairs + 3
    assert ar.sequence_length(num_pairs) == length
    assert x.shape == (500, length) and y.shape == (500,)
    assert x.dtype == np.int32 and y.dtype == np.int32
    for text in map(ar.decode, x):
        assert all(c in string.ascii_lowercase for c in text[0:-3:2])
        assert all(c in string.digits for c in text[1:-3:2])
        assert text[-3:-1] == "??"
        assert text[-1] in string.ascii_lowercase


@pytest.mark.parametrize("num_pairs", [1, 4, 26])
def test_keys_distinct_and_query_among_them(num_pairs):
    (x, _), _, _ = small_splits(num_pairs=num_pairs, sizes=(500, 0, 0))
    keys = x[:, 0 : 2 * num_pairs : 2]
    assert all(len(set(row)) == num_pairs for row in keys.tolist())
    assert all(q in row for q, row in zip(x[:, -1], keys))


def test_targets_follow_the_query():
    x, y = all_examples()
    expected = [answer_from_text(ar.decode(row)) for row in x]
    np.testing.assert_array_equal(y, expected)


def test_digits_are_drawn_with_replacement():
    x, _ = all_examples(num_pairs=4)
    digits = x[:, 1:8:2]
    repeats = np.mean([len(set(row)) < 4 for row in digits.tolist()])
    # P(4 uniform digits are not all different) = 1 - 10·9·8·7 / 10⁴.
    expected = 1 - 10 * 9 * 8 * 7 / 10**4
    assert abs(repeats - expected) < 0.04, repeats


def test_keys_queries_and_targets_are_uniform():
    x, y = all_examples(num_pairs=4)
    key_counts = np.bincount(x[:, 0:8:2].ravel(), minlength=26)
    query_position = np.argmax(x[:, 0:8:2] == x[:, -1:], axis=1)
    for counts, categories in (
        (key_counts, 26),
        (np.bincount(query_position, minlength=4), 4),
        (np.bincount(y, minlength=10), 10),
    ):
        assert len(counts) == categories
        expected = counts.sum() / categories
        # Within 5 standard deviations of a uniform draw.
        assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected)), counts


@pytest.mark.parametrize(
    "sizes", [(100, 10, 20), (0, 5, 0), (7, 0, 3), (0, 0, 0)]
)
def test_split_sizes(sizes):
    splits = small_splits(sizes=sizes)
    assert len(splits) == 3
    for (x, y), size in zip(splits, sizes):
        assert x.shape == (size, 11) and y.shape == (size,)


def test_same_seed_same_data_and_other_seed_other_data():
    first, second, other = (small_splits(seed=seed) for seed in (123, 123, 124))
    for (x1, y1), (x2, y2), (x3, _) in zip(first, second, other):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
        assert not np.array_equal(x1, x3)
    unseeded = [small_splits(seed=None)[0][0] for _ in range(2)]
    assert not np.array_equal(*unseeded)


def test_splits_do_not_repeat_each_other():
    (x_train, _), (x_val, _), (x_test, _) = small_splits(seed=7)
    train = {row.tobytes() for row in x_train}
    val = {row.tobytes() for row in x_val}
    test = {row.tobytes() for row in x_test}
    # 26·25·24·23·10⁴·4 possible sequences: a shared one would mean the
    # splits restart the random stream.
    assert not train & val and not train & test and not val & test


def test_round_trip():
    x, _ = all_examples(num_pairs=3)
    for row in x[:200]:
        np.testing.assert_array_equal(ar.encode(ar.decode(row)), row)


def test_docstring_examples():
    result = doctest.testmod(ar)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_pairs": 0}, ValueError, "num_pairs=0"),
        ({"num_pairs": 27}, ValueError, "num_pairs=27"),
        ({"num_pairs": 2.5}, TypeError, "num_pairs=2.5"),
        ({"num_pairs": "4"}, TypeError, "num_pairs='4'"),
        ({"num_pairs": True}, TypeError, "num_pairs=True"),
        ({"num_train": -1}, ValueError, "num_train=-1"),
        ({"num_val": -5}, ValueError, "num_val=-5"),
        ({"num_test": 1.0}, TypeError, "num_test=1.0"),
        ({"seed": -3}, ValueError, "seed=-3"),
        ({"seed": "abc"}, TypeError, "seed='abc'"),
    ],
)
def test_load_data_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ar.load_data(**kwargs)


@pytest.mark.parametrize(
    "text, error, match",
    [
        ("c9K8??c", ValueError, "'K'"),
        ("a1 ??a", ValueError, "' '"),
        ("a1!?", ValueError, "'!'"),
        (["a", "1"], TypeError, r"\['a', '1'\]"),
        (b"a1??a", TypeError, "b'a1\\?\\?a'"),
    ],
)
def test_encode_bad_arguments(text, error, match):
    with pytest.raises(error, match=match):
        ar.encode(text)


@pytest.mark.parametrize(
    "ids, error, match",
    [
        ([0, 37], ValueError, r"invalid ids \[37\]"),
        ([-1, 3], ValueError, r"invalid ids \[-1\]"),
        ([[0, 1], [2, 3]], ValueError, r"\(2, 2\)"),
        ([0.0, 1.5], TypeError, "float64"),
    ],
)
def test_decode_bad_arguments(ids, error, match):
    with pytest.raises(error, match=match):
        ar.decode(ids)
