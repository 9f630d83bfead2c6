"""Writes the `.keras` files of this folder and their expected outputs.

Run once, from the repository root, with the package as it was before
issue 37 changed the layers' classes (commit 33d45bc):

    KERAS_BACKEND=jax python tests/library/data/save_models.py

`tests/library/test_saved_models.py` loads the files with the current code
and checks that they compute the outputs stored beside them (`*.npy`), so
that a model saved by an earlier version keeps loading. Rerunning this with
a later version would only test that version against itself.
"""

import os

import keras
import numpy as np

from keras_fastweights import AssociativeLSTM
from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell

FOLDER = os.path.dirname(os.path.abspath(__file__))
TIMESTEPS, FEATURES = 6, 4


def models():
    """Small models of each saved kind, by file name."""
    return {
        "fast_weights_rnn_hebbian": FastWeightsRNN(
            3,
            decay_rate=0.9,
            fast_learning_rate=0.4,
            inner_steps=2,
            dropout=0.2,
            recurrent_dropout=0.3,
            seed=1,
            return_sequences=True,
            implementation="attention",
        ),
        "fast_weights_rnn_delta": FastWeightsRNN(
            3,
            update_rule="delta",
            dropout=0.1,
            recurrent_dropout=0.2,
            implementation="chunked",
        ),
        "rnn_cell_hebbian": keras.layers.RNN(
            FastWeightsRNNCell(3, inner_steps=2, activation="tanh")
        ),
        "rnn_cell_delta": keras.layers.RNN(
            FastWeightsRNNCell(3, update_rule="delta", decay_rate=0.8),
            return_sequences=True,
        ),
        "associative_lstm": AssociativeLSTM(4, num_copies=2),
    }


def main():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(2, TIMESTEPS, FEATURES))
    x = x.astype("float32")
    np.save(os.path.join(FOLDER, "inputs.npy"), x)
    for name, layer in models().items():
        inputs = keras.Input((TIMESTEPS, FEATURES))
        model = keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))
        model.save(os.path.join(FOLDER, f"{name}.keras"))
        outputs = keras.ops.convert_to_numpy(model(x, training=False))
        np.save(os.path.join(FOLDER, f"{name}.npy"), outputs)


if __name__ == "__main__":
    main()
