"""Data sets of the paper's experiments, in the layout of `keras.datasets`."""

from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.datasets import mqar

__all__ = ["associative_retrieval", "mqar"]
