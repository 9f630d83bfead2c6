import pytest

from keras_fastweights.datasets import associative_retrieval


@pytest.fixture(scope="module")
def data():
    """A small retrieval data set: 256 training, 64 validation and 64 test
    sequences."""
    return associative_retrieval.load_data(
        num_train=256, num_val=64, num_test=64, seed=0
    )
