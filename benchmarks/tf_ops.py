"""Counts the TensorFlow ops that one training step of the retrieval
model executes, for fast weights and LSTM (why TensorFlow without
XLA is slower for fast weights than its arithmetic suggests).

    KERAS_BACKEND=tensorflow python benchmarks/tf_ops.py [--units 50]

Traces forward and backward of `build_retrieval_model`'s model on one batch
with `tf.GradientTape` in a `tf.function`, then counts the graph's ops. Ops
inside a `while` loop body (Keras's LSTM loop on a CPU) run once per step,
so they are counted separately and multiplied by the 11 steps (an upper
bound: the loop's condition functions are smaller than a step); then times
the traced step (median of 50 calls) with and without XLA.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_fastweights.datasets import associative_retrieval  # noqa: E402
from keras_fastweights.models import build_retrieval_model  # noqa: E402

BATCH_SIZE = 128


def count_ops(graph_def):
    """Ops of the top-level graph and of each function in its library
    (Keras's LSTM loop: the `while` loop's condition and body, forward and
    backward)."""
    functions = {
        f.signature.name: len(f.node_def) for f in graph_def.library.function
    }
    return len(graph_def.node), functions


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=50)
    args = parser.parse_args()
    if keras.backend.backend() != "tensorflow":
        parser.error("run with KERAS_BACKEND=tensorflow")
    timesteps = associative_retrieval.sequence_length(4)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 37, (BATCH_SIZE, timesteps)).astype("int32")
    y = rng.integers(0, 10, (BATCH_SIZE,)).astype("int32")
    print(
        "| layer | jit_compile | graph ops | loop-function ops | "
        "ops run per step (at most) | ms/step |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for kind in ("fast_weights", "lstm"):
        keras.utils.set_random_seed(0)
        model = build_retrieval_model(kind, args.units)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        for jit in (False, True):

            @tf.function(jit_compile=jit)
            def step(x, y):
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x, training=True))
                return tape.gradient(loss, model.trainable_variables)

            graph = step.get_concrete_function(x, y).graph.as_graph_def()
            top, functions = count_ops(graph)
            step(x, y)
            times = []
            for _ in range(50):
                start = time.perf_counter()
                step(x, y)
                times.append(time.perf_counter() - start)
            loop = sum(functions.values())
            print(
                f"| {kind} | {jit} | {top} | {loop} | "
                f"{top + timesteps * loop} | "
                f"{1000 * statistics.median(times):.2f} |"
            )


if __name__ == "__main__":
    main()
