"""Epoch time of the MQAR models per sequence mixer and sequence length.

    KERAS_BACKEND=jax python benchmarks/mqar_mixers.py [--lengths 64,128,256]

For each length T (with T / 16 key-value pairs: Zoology's (64, 4), (128,
8), (256, 16)) and width d, every mixer of `keras_fastweights.models.
MQAR_MIXERS` in `build_mqar_model`'s two-block model, trained on
`mqar.generate`'s sequences through `mqar.model_inputs` (batch 64). Like
`benchmark.py`: each model is compiled by a short warm-up fit, then timed
one epoch of `--num-sequences` sequences per round, in interleaved rounds
whose order rotates; a ratio is the median over rounds of the ratio within
a round, to attention's and to the LSTM's epoch in the same process. The
fast-weights layers (`implementation="auto"`) run the attention form up to
`attention_max_steps` (40) steps and chunks beyond: the table names the
form each ran.
"""

import argparse
import importlib
import statistics

import keras
from benchmark import describe_commit
from benchmark import describe_machine
from benchmark import median_ratios
from benchmark import rotated
from benchmark import split
from benchmark import timed_fit

from keras_fastweights.datasets import mqar
from keras_fastweights.models import MQAR_MIXERS
from keras_fastweights.models import build_mqar_model


def form(model, mixer, timesteps):
    """The implementation a fast-weights mixer runs at `timesteps`."""
    if mixer in ("attention", "lstm"):
        return mixer
    # The layer's own choice (a private method, as in benchmark.py).
    return model.get_layer("mixer_1")._resolve_implementation(timesteps)


def mqar_data(args, timesteps):
    """An epoch of `args.num_sequences` (whole batches) MQAR sequences of
    `timesteps` steps and T / 16 pairs, as the model reads them."""
    sequences = args.num_sequences // args.batch_size * args.batch_size
    x, y = mqar.model_inputs(
        *mqar.generate(
            sequences, timesteps, max(1, timesteps // 16), args.vocab_size
        )
    )
    return x, y, sequences


def warm_up(model, x, y, batch_size):
    """Compiles `model` by a fit of two batches; returns its seconds."""
    return timed_fit(
        model,
        {name: v[: 2 * batch_size] for name, v in x.items()},
        y[: 2 * batch_size],
        batch_size,
    )


def time_length(args, timesteps, d_model):
    num_pairs = timesteps // 16
    x, y, sequences = mqar_data(args, timesteps)
    models = {}
    for mixer in MQAR_MIXERS:
        model = build_mqar_model(
            mixer, d_model, timesteps, args.vocab_size, seed=0
        )
        warm_up(model, x, y, args.batch_size)
        models[mixer] = model
    seconds = {mixer: [] for mixer in models}
    for round_index in range(args.rounds):
        for mixer in rotated(list(models), round_index):
            seconds[mixer].append(
                timed_fit(models[mixer], x, y, args.batch_size)
            )

    print(
        f"\n## T = {timesteps}, {num_pairs} pairs, d = {d_model} "
        f"({sequences} sequences/epoch, batch {args.batch_size}, vocabulary "
        f"{args.vocab_size}, {args.rounds} rounds)\n"
    )
    print(
        "| mixer (form) | s per 10,000 sequences (median) | epochs (s) | "
        "/ attention's | / LSTM's |"
    )
    print("|---|---:|---|---:|---:|")
    for mixer, times in seconds.items():
        print(
            f"| {mixer} ({form(models[mixer], mixer, timesteps)}) | "
            f"{statistics.median(times) / sequences * 10_000:.2f} | "
            f"{' '.join(f'{s:.2f}' for s in times)} | "
            f"{median_ratios(times, seconds['attention']):.2f} | "
            f"{median_ratios(times, seconds['lstm']):.2f} |",
            flush=True,
        )


def add_data_arguments(parser, num_sequences):
    """The flags of the data and the rounds, shared with chunk_length.py."""
    parser.add_argument(
        "--vocab-size",
        type=int,
        default=512,
        help="Token ids (more than the longest T).",
    )
    parser.add_argument(
        "--num-sequences",
        type=int,
        default=num_sequences,
        help="Sequences per timed epoch, rounded down to whole batches.",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)


def run(parser, argv, time_one):
    """Parses the flags, prints the backend, commit and machine, and runs
    `time_one(args, timesteps)` for each of `--lengths`."""
    args = parser.parse_args(argv)
    lengths = split(args.lengths, int)
    if max(lengths) >= args.vocab_size:
        parser.error("--vocab-size must exceed every length")
    backend = keras.backend.backend()
    version = importlib.import_module(backend).__version__
    print(
        f"# {backend} {version}, Keras {keras.__version__}; "
        f"{describe_commit()}\n# {describe_machine()}"
    )
    for timesteps in lengths:
        time_one(args, timesteps)
    print(f"\n# after: {describe_machine()}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--lengths",
        default="64,128,256",
        help="Comma-separated sequence lengths T (T / 16 pairs each).",
    )
    parser.add_argument(
        "--d-models", default="64", help="Comma-separated widths d."
    )
    add_data_arguments(parser, num_sequences=1280)

    def time_widths(args, timesteps):
        for d_model in split(args.d_models, int):
            time_length(args, timesteps, d_model)

    run(parser, argv, time_widths)


if __name__ == "__main__":
    main()
