from keras_fastweights.layers.fast_weights_rnn import FastWeightsRNN
from keras_fastweights.layers.fast_weights_rnn import FastWeightsRNNCell

__all__ = ["FastWeightsRNN", "FastWeightsRNNCell"]
