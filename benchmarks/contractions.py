"""Times the three ways of writing the attention read-out of eq. 3,
`Σ_τ w_τ h(τ) (h(τ)ᵀ h_s)`, on the current Keras backend (why
`FastWeightsRNN` picks the contraction by backend).

    KERAS_BACKEND=jax python benchmarks/contractions.py [--units 50]

Each variant replaces the current backend's entry of
`keras_fastweights.layers.kernels.READ_OUT_BY_BACKEND` (the layer's
internals: this script measures them, it is not an example of using the
package) for the model it trains:

- `products`: elementwise products and `ops.sum`;
- `einsum`: two `ops.einsum`;
- `matmul`: two batched `ops.matmul`.

Every variant computes the same numbers (up to the order of the sums). Like
`benchmark.py`, one training epoch of `build_retrieval_model`'s fast-weights
model per round, interleaved with Keras's LSTM, and the median over rounds
of the epoch time over the LSTM's epoch time in the same round. The layer's
choice is `"default"`, timed too.
"""

import argparse

import keras
from benchmark import SEQUENCE_LENGTH
from benchmark import print_ratio_table
from benchmark import random_data
from benchmark import rotated
from benchmark import timed_fit

from keras_fastweights.layers import kernels
from keras_fastweights.models import build_retrieval_model

VARIANTS = {
    "default": kernels.READ_OUT_BY_BACKEND.get(
        keras.backend.backend(), kernels.read_out_einsum
    ),
    "products": kernels.read_out_products,
    "einsum": kernels.read_out_einsum,
    "matmul": kernels.read_out_matmul,
}


def use(read_out):
    """Makes the layer read its memory with `read_out` on this backend."""
    kernels.READ_OUT_BY_BACKEND[keras.backend.backend()] = read_out


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--examples", type=int, default=10240)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    examples = args.examples // args.batch_size * args.batch_size
    x, y = random_data(examples, SEQUENCE_LENGTH)
    models = {}
    for name, recall in [*VARIANTS.items(), ("lstm", None)]:
        # Eager torch looks the form up at every call, compiled backends
        # when the training step is traced: set it before either.
        use(recall or VARIANTS["default"])
        keras.utils.set_random_seed(0)
        model = build_retrieval_model(
            "lstm" if recall is None else "fast_weights", args.units
        )
        model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0)
        models[name] = model, recall or VARIANTS["default"]
    seconds = {name: [] for name in models}
    for round_index in range(args.rounds):
        for name in rotated(list(models), round_index):
            model, recall = models[name]
            use(recall)
            seconds[name].append(timed_fit(model, x, y, args.batch_size))
    use(VARIANTS["default"])

    print(
        f"backend {keras.backend.backend()}, R = {args.units}, "
        f"{examples} examples/epoch, {args.rounds} rounds"
    )
    print_ratio_table(seconds, "attention read-out")


if __name__ == "__main__":
    main()
