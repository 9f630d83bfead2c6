"""
Title: Multi-query associative recall with fast weights and the delta rule
Author: keras-fastweights contributors
Description: Trains a two-layer Zoology model whose sequence mixer is fast
    weights (Hebbian or delta rule), an LSTM or causal attention on
    multi-query associative recall (MQAR).
Accelerator: None (CPU)
Time: about 20 minutes for the delta rule (defaults: 16 epochs of about
    70 s on a 2-core CPU with JAX, beside two other training runs);
    attention stops at 0.99 after about 9 epochs, in under 2 minutes

## Introduction

Zoology (Arora et al., 2023, https://arxiv.org/abs/2312.04927) made
multi-query associative recall the standard probe of a sequence model's
memory: a sequence of `--sequence-length` tokens lists `--num-pairs`
key-value pairs, then asks for every key again; at each query the model
must predict the value that followed that key. Attention looks the key up;
a recurrent model must have stored every binding in its state. Fast weights
store them in a matrix memory `A(t)` of `d²` numbers, with the paper's
Hebbian update or the delta rule, which overwrites what a key held.

## Results

Zoology trains on 100,000 sequences over 8,192 tokens for up to 64 epochs.
The defaults here are a CPU's budget, 10,000 sequences for at most 16
epochs, at a vocabulary scaled so that each value is an answer as often
over the training as in Zoology's (`mqar.scaled_vocab_size`: 204 tokens at
T = 64, K = 4). The other tokens are random (Zoology's generator's
default). Training stops once the test accuracy reaches 0.99, Zoology's
rule; as in Zoology, the test sequences are the validation data.

At T = 64, K = 4, d = 64 and a rate of 0.002154 (JAX, seed 0), attention
guesses among the four values in context (0.25) for 7 epochs, then learns
the lookup: 0.9958 after epoch 9 (`--num-test 1000`). In the MQAR sweep's
runs of the same setting (results/mqar.md), the delta rule leaves the
plateau at epoch 5 and levels off at 0.81 by epoch 9; Hebbian fast weights
and the LSTM stay at 0.25 through 16 epochs.

## Usage

```
python examples/mqar.py                                   # the delta rule
python examples/mqar.py --mixer attention    # stops once it reaches 0.99
python examples/mqar.py --mixer hebbian --sequence-length 128 --num-pairs 8
```

Any Keras backend works (`KERAS_BACKEND=jax|tensorflow|torch`); on a CPU,
JAX is the fastest. Outputs go to `--output-dir` (default
`runs/mqar/<mixer>_T<T>_K<K>_d<d>_seed<seed>`): the trained model
(`model.keras`), the per-epoch history (`history.csv`) and a plot of the
training and test error (`history.png`).
"""

import argparse
import os
import sys
import time

import keras

from keras_fastweights import cli
from keras_fastweights import models
from keras_fastweights import plotting
from keras_fastweights import training
from keras_fastweights.datasets import mqar

# Zoology stops a run once its validation accuracy reaches this.
STOP_ACCURACY = 0.99

"""
## Command-line flags

Every flag has a default that does the real job on a CPU. An invalid value
ends the script with a one-line error and exit code 2.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(
        prog="mqar.py",
        description="Train a two-layer Zoology model (fast weights, the "
        "delta rule, an LSTM or causal attention as its sequence mixer) on "
        "multi-query associative recall (Arora et al., 2023).",
    )
    parser.add_argument(
        "--mixer",
        choices=models.MQAR_MIXERS,
        default="delta",
        help="the sequence-mixing layer: fast weights with the Hebbian or "
        "the delta rule, an LSTM, or causal attention",
    )
    parser.add_argument(
        "--d-model",
        type=cli.positive_int,
        default=64,
        help="width d of the embedding and of the mixers",
    )
    parser.add_argument(
        "--sequence-length",
        type=cli.positive_int,
        default=64,
        help="tokens per sequence (even)",
    )
    parser.add_argument(
        "--num-pairs",
        type=cli.positive_int,
        default=4,
        help="key-value pairs per sequence, each asked once (at most "
        "sequence length / 4)",
    )
    parser.add_argument(
        "--vocab-size",
        type=cli.positive_int,
        default=None,
        help="token ids (default: scaled so that each value is an answer as "
        "often over the training as in Zoology's, 8,192 tokens for 100,000 "
        "sequences and 64 epochs: mqar.scaled_vocab_size)",
    )
    parser.add_argument(
        "--num-train",
        type=cli.positive_int,
        default=10_000,
        help="training sequences",
    )
    parser.add_argument(
        "--num-test",
        type=cli.positive_int,
        default=2_000,
        help="test sequences, also the validation data that stops training",
    )
    parser.add_argument(
        "--learning-rate",
        type=cli.positive_float,
        # The third of Zoology's rates, logspace(-4, -2, 4), at which
        # attention reached 0.99 at the defaults.
        default=0.002154,
        help="AdamW's learning rate (weight decay 0.1)",
    )
    parser.add_argument(
        "--epochs",
        type=cli.positive_int,
        default=16,
        help=f"most epochs to train; training stops once the test "
        f"accuracy reaches {STOP_ACCURACY}",
    )
    parser.add_argument(
        "--batch-size",
        type=cli.positive_int,
        default=64,
        help="mini-batch size",
    )
    parser.add_argument(
        "--seed",
        type=cli.non_negative_int,
        default=0,
        help="seed of the weights and of the training's shuffling",
    )
    parser.add_argument(
        "--data-seed",
        type=cli.non_negative_int,
        default=0,
        help="seed of the data set, the same for every model of a sweep",
    )
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where to write model.keras, history.csv and history.png "
        "(default: runs/mqar/<mixer>_T<T>_K<K>_d<d>_seed<seed>)",
    )
    cli.add_verbose_argument(parser, default="2")
    return parser


"""
## Training

The package holds the data set and the model; the model reads out only at
the queries, so its inputs are the tokens and the queries' positions, and
its targets the answers there.
"""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.vocab_size is None:
        args.vocab_size = mqar.scaled_vocab_size(
            args.num_train, args.epochs, args.num_pairs, args.sequence_length
        )
    output_dir = args.output_dir or os.path.join(
        "runs",
        "mqar",
        f"{args.mixer}_T{args.sequence_length}_K{args.num_pairs}"
        f"_d{args.d_model}_seed{args.seed}",
    )

    # Settings that only the package can judge (an odd length, too many
    # pairs) surface as its ValueError; report them like any bad flag.
    try:
        train, test = mqar.load_data(
            args.sequence_length,
            args.num_pairs,
            num_train=args.num_train,
            num_test=args.num_test,
            vocab_size=args.vocab_size,
            seed=args.data_seed,
        )
        model = models.build_mqar_model(
            args.mixer,
            args.d_model,
            args.sequence_length,
            args.vocab_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
        )
        os.makedirs(output_dir, exist_ok=True)
    except (ValueError, TypeError, OSError) as error:
        parser.error(str(error))
    x_train, y_train = mqar.model_inputs(*train)
    x_test, y_test = mqar.model_inputs(*test)

    print(
        f"{model.name}: {model.count_params():,} parameters, "
        f"{args.num_train:,} training sequences of {args.sequence_length} "
        f"tokens with {args.num_pairs} pairs over {args.vocab_size:,} tokens"
    )
    start = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_test, y_test),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=[
            training.StopAtAccuracy(STOP_ACCURACY),
            keras.callbacks.CSVLogger(
                os.path.join(output_dir, training.HISTORY_FILENAME)
            ),
        ],
        verbose=cli.verbosity(args.verbose),
    )
    seconds = time.perf_counter() - start
    model.save(os.path.join(output_dir, training.MODEL_FILENAME))
    _, accuracy = model.evaluate(
        x_test, y_test, batch_size=args.batch_size, verbose=0
    )
    plotting.plot_history(
        history, os.path.join(output_dir, training.PLOT_FILENAME)
    )
    written = (
        training.MODEL_FILENAME,
        training.HISTORY_FILENAME,
        training.PLOT_FILENAME,
    )
    print(f"Wrote {', '.join(written)} to {output_dir}")
    epochs = len(history.epoch)
    print(
        f"test accuracy: {accuracy:.4f}  ({args.mixer}, "
        f"T={args.sequence_length}, K={args.num_pairs}, d={args.d_model}, "
        f"seed {args.seed}, {epochs} epoch{'s' * (epochs > 1)}, "
        f"{seconds:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
