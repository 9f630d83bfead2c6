"""Data sets of the paper's experiments, in the layout of `keras.datasets`."""

from keras_fastweights.datasets import associative_retrieval

__all__ = ["associative_retrieval"]
