"""Tests of the library a Keras user installs: keras_fastweights."""
