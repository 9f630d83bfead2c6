"""Epoch time of the chunked path by chunk length, for each update rule.

    KERAS_BACKEND=jax python benchmarks/chunk_length.py \
        [--lengths 48,64,128] [--chunk-lengths 2,4,8,16]

`FastWeightsRNN(implementation="chunked")` runs the attention form within
chunks of `chunk_length` steps and carries `A` between them. For each
length T, each update rule and each chunk length, the MQAR model of
`keras_fastweights.models.build_mqar_model` (two mixing blocks of width
`--d-model`, batch 64; T / 16 key-value pairs), trained on
`mqar.generate`'s sequences. Like `benchmark.py`: each model is compiled by
a short warm-up fit, then timed one epoch of `--num-sequences` sequences
per round, in interleaved rounds whose order rotates; a ratio is the median
over rounds of the ratio within a round, to the same rule's epoch at
chunks of 8 in the same process. The compile column is the warm-up fit's
seconds (compilation and two batches).
"""

import argparse
import statistics

from benchmark import median_ratios
from benchmark import rotated
from benchmark import split
from benchmark import timed_fit
from mqar_mixers import add_data_arguments
from mqar_mixers import mqar_data
from mqar_mixers import run
from mqar_mixers import warm_up

from keras_fastweights.models import build_mqar_model

RULES = ("hebbian", "delta")
REFERENCE = 8


def chunked_model(rule, d_model, timesteps, vocab_size, chunk_length):
    """The MQAR model with its fast-weights mixers on chunks of
    `chunk_length` (set before the model first runs, which is when the
    layers read it)."""
    model = build_mqar_model(rule, d_model, timesteps, vocab_size, seed=0)
    for layer in model.layers:
        if layer.name.startswith("mixer_"):
            layer.implementation = "chunked"
            layer.chunk_length = chunk_length
    return model


def time_length(args, timesteps):
    x, y, sequences = mqar_data(args, timesteps)
    chunk_lengths = sorted({REFERENCE, *split(args.chunk_lengths, int)})
    models, compile_seconds = {}, {}
    for rule in RULES:
        for chunk_length in chunk_lengths:
            model = chunked_model(
                rule, args.d_model, timesteps, args.vocab_size, chunk_length
            )
            compile_seconds[rule, chunk_length] = warm_up(
                model, x, y, args.batch_size
            )
            models[rule, chunk_length] = model
    seconds = {key: [] for key in models}
    for round_index in range(args.rounds):
        for key in rotated(list(models), round_index):
            seconds[key].append(timed_fit(models[key], x, y, args.batch_size))
    print(
        f"\n## T = {timesteps}, d = {args.d_model} ({sequences} "
        f"sequences/epoch, batch {args.batch_size}, {args.rounds} rounds)\n"
    )
    print(
        "| rule | chunk length | s per 10,000 sequences (median) | "
        f"/ chunks of {REFERENCE} | compile (s) |"
    )
    print("|---|---:|---:|---:|---:|")
    for (rule, chunk_length), times in seconds.items():
        ratio = median_ratios(times, seconds[rule, REFERENCE])
        print(
            f"| {rule} | {chunk_length} | "
            f"{statistics.median(times) / sequences * 10_000:.1f} | "
            f"{ratio:.2f} | {compile_seconds[rule, chunk_length]:.0f} |",
            flush=True,
        )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--lengths", default="48,64,128", help="Comma-separated lengths T."
    )
    parser.add_argument(
        "--chunk-lengths",
        default="2,4,8,16",
        help="Comma-separated chunk lengths (8, the reference, always runs).",
    )
    parser.add_argument("--d-model", type=int, default=64)
    add_data_arguments(parser, num_sequences=1024)
    run(parser, argv, time_length)


if __name__ == "__main__":
    main()
