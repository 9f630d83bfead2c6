from keras_fastweights.layers.associative_lstm import AssociativeLSTM
from keras_fastweights.layers.associative_lstm import AssociativeLSTMCell
from keras_fastweights.layers.fast_weights_rnn import FastWeightsRNN
from keras_fastweights.layers.fast_weights_rnn_cell import FastWeightsRNNCell

__all__ = [
    "AssociativeLSTM",
    "AssociativeLSTMCell",
    "FastWeightsRNN",
    "FastWeightsRNNCell",
]
