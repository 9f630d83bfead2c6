"""Models saved by an earlier version of the package still load.

The `.keras` files in `data/` were written by `data/save_models.py` before
issue 37 rewrote the layers' classes; each must load with the current code
and compute the outputs stored beside it.
"""

import os

import keras
import numpy as np
import pytest

from keras_fastweights import FastWeightsRNN

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SAVED = (
    "fast_weights_rnn_hebbian",
    "fast_weights_rnn_delta",
    "rnn_cell_hebbian",
    "rnn_cell_delta",
    "associative_lstm",
)


@pytest.mark.parametrize("name", SAVED)
def test_model_saved_by_an_earlier_version_loads(name):
    model = keras.models.load_model(os.path.join(DATA, f"{name}.keras"))
    x = np.load(os.path.join(DATA, "inputs.npy"))
    expected = np.load(os.path.join(DATA, f"{name}.npy"))
    got = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # Not a vacuous comparison of zeros.
    assert np.abs(expected).max() > 1e-2


def test_chunk_length_survives_save_and_load(tmp_path):
    inputs = keras.Input((11, 3))
    model = keras.Model(inputs, FastWeightsRNN(8, chunk_length=4)(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path).layers[-1]
    assert isinstance(loaded, FastWeightsRNN)
    assert loaded.chunk_length == 4
    assert loaded.get_config() == model.layers[-1].get_config()
    x = np.random.default_rng(0).normal(size=(2, 11, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)),
        keras.ops.convert_to_numpy(model.layers[-1](x)),
        rtol=1e-6,
        atol=1e-6,
    )
