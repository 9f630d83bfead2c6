"""Where the design-card path `keras.layers.RNN(FastWeightsRNNCell(R))`
spends its time, against `keras.layers.LSTM(R)` (the target: at most the
LSTM's epoch time).

    KERAS_BACKEND=jax python benchmarks/cell_path.py [--units 50] [--rounds 5]
    KERAS_BACKEND=tensorflow python benchmarks/cell_path.py --jit-compile true
    XLA_FLAGS="--xla_dump_to=/tmp/hlo --xla_dump_hlo_as_text" \\
        KERAS_BACKEND=jax python benchmarks/cell_path.py --rounds 0

Each model is the recurrent layer alone on random inputs (`T = 11`, 100
features, batch 128) followed by `Dense(10)`, so that the ratio is the
recurrence's own cost: the cell under `keras.layers.RNN` (a scan over the
steps), the same cell unrolled (`unroll=True`: no scan), and
`FastWeightsRNN` (the attention form). Like `benchmark.py`: interleaved
rounds in one process, each round starting with another model, and the
median over rounds of each epoch time over the LSTM's in the same round.
With `--rounds 0` the script only compiles one training step per model,
e.g. to dump XLA's optimised HLO.
"""

import argparse
import statistics

import keras
import numpy as np
from benchmark import median_ratios
from benchmark import rotated
from benchmark import set_jit_compile
from benchmark import timed_fit

from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell

TIMESTEPS, FEATURES, BATCH_SIZE = 11, 100, 128


def recurrent_layer(name, units):
    if name == "lstm":
        return keras.layers.LSTM(units)
    if name == "FastWeightsRNN":
        return FastWeightsRNN(units)
    return keras.layers.RNN(
        FastWeightsRNNCell(units), unroll=name == "RNN(cell), unroll=True"
    )


def build(name, units):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((TIMESTEPS, FEATURES))
    outputs = keras.layers.Dense(10)(recurrent_layer(name, units)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(
        "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--jit-compile",
        choices=["auto", "true", "false"],
        default="auto",
        help="`jit_compile` of Model.compile, for every model (Keras's "
        "`auto` means XLA on JAX, none on a TensorFlow CPU)",
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    examples = args.batches * BATCH_SIZE
    x = rng.normal(size=(examples, TIMESTEPS, FEATURES)).astype("float32")
    y = rng.integers(0, 10, size=(examples,))
    names = [
        "lstm",
        "RNN(cell)",
        "RNN(cell), unroll=True",
        "FastWeightsRNN",
    ]
    models, first = {}, {}
    for name in names:
        models[name] = build(name, args.units)
        set_jit_compile(models[name], args.jit_compile)
        if args.rounds:
            first[name] = timed_fit(models[name], x, y, BATCH_SIZE)
        else:
            models[name].train_on_batch(x[:BATCH_SIZE], y[:BATCH_SIZE])
    if not args.rounds:
        return
    seconds = {name: [] for name in names}
    for round_index in range(args.rounds):
        for name in rotated(names, round_index):
            seconds[name].append(timed_fit(models[name], x, y, BATCH_SIZE))

    print(
        f"backend {keras.backend.backend()}, R = {args.units}, T = "
        f"{TIMESTEPS}, {examples} examples/epoch, {args.rounds} rounds, "
        f"jit_compile={args.jit_compile}"
    )
    print("| layer | first epoch (s) | s/epoch (median) | epoch / LSTM's |")
    print("|---|---:|---:|---:|")
    for name in names:
        times = seconds[name]
        ratio = median_ratios(times, seconds["lstm"])
        print(
            f"| {name} | {first[name]:.2f} | {statistics.median(times):.3f} "
            f"| {ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
