"""Times a candidate for the first-epoch target (the first epoch of
`FastWeightsRNN` on JAX no slower than the LSTM's): the attention form as a
`keras.ops.scan` over the steps instead of a Python loop unrolled over them.

    KERAS_BACKEND=jax python benchmarks/scan_form.py [--rounds 3]

The unrolled form reads a history that grows by one row a step, so XLA
compiles eleven different steps and their gradients at T = 11 (5× the
instructions of the LSTM's scan, benchmarks/README.md). Here the history
is a fixed `(batch, T, units)` buffer, zero where no step has written yet
and filled one row a step, so that one step is compiled. Rows not yet
written are zero, so their terms of eq. 3 are zero, but the read-outs sum
over T rows instead of t + 1 and XLA orders the sums differently: the
results agree to float rounding, not bit for bit. That is why the package
does not take it while the seeded study runs (a rerun of a recorded run
would no longer repeat it exactly); this script measures what it would
gain, on a copy of `attention_form.run` set in place of the package's in
this process only.

It checks that the scanned layer's outputs and gradients are close to the
current layer's on one batch, then, like `benchmark.py`'s `first_epoch`,
times the first epoch (compilation included) and the second epoch of a
freshly built model of each kind in interleaved rounds, and prints the
medians and the ratios to the LSTM's in the same round.
"""

import argparse
import statistics

import keras
import numpy as np
from benchmark import SEQUENCE_LENGTH
from benchmark import median_ratios
from benchmark import random_data
from benchmark import retrieval_model
from benchmark import rotated
from benchmark import timed_fit
from keras import ops

from keras_fastweights.layers import attention_form
from keras_fastweights.layers import kernels

UNROLLED = attention_form.run


def scanned(cell, sequences, initial_state, mask, **options):
    """`attention_form.run` as a scan over the steps, for what the paper's
    model needs (the Hebbian rule, no mask, `A(0) = 0`, the last `A` not
    returned, no chunks, forwards, no recurrent dropout); anything else
    runs the package's own."""
    if (
        cell.update_rule != "hebbian"
        or mask is not None
        or options["recurrent_dropout_mask"] is not None
        or options["chunk_length"]
        or not options["memory_starts_at_zero"]
        or options["return_memory"]
        or options["go_backwards"]
    ):
        return UNROLLED(cell, sequences, initial_state, mask, **options)
    input_drive = cell.input_drive(sequences)
    h, _ = initial_state
    steps = input_drive.shape[1]
    # weights[t, τ] = η λ^{t-τ}; entries τ > t meet rows not yet written.
    weights, _ = attention_form.memory_weights(
        None, steps, cell.decay_rate, cell.fast_learning_rate, h.dtype
    )
    rows = ops.eye(steps, dtype=h.dtype)

    def step(carry, window):
        h, history = carry
        drive, step_weights, row = window
        # Row t of the history is h(t), the h entering this step.
        history = history + row[None, :, None] * ops.expand_dims(h, 1)
        z = cell.boundary_condition(drive, h)
        # The Hebbian memory: h(τ) is key and value.
        h = cell.settle(
            z,
            lambda h_s: kernels.read_out(history, step_weights, h_s, history),
        )[-1]
        return (h, history), h

    windows = (ops.moveaxis(input_drive, 1, 0), weights, rows)
    (h, _), outputs = ops.scan(step, (h, ops.zeros_like(input_drive)), windows)
    if options["return_sequences"]:
        outputs = ops.moveaxis(outputs, 0, 1)
    else:
        outputs = ops.expand_dims(h, axis=1)
    memory = attention_form.zero_state(ops.shape(h)[0], cell.units**2, h.dtype)
    return h, outputs, [h, memory]


def use(form):
    attention_form.run = form


def check_close(units, x, y):
    """The scanned layer's logits and gradients against the unrolled
    one's, same weights, one batch."""
    import jax

    results = []
    for form in (UNROLLED, scanned):
        use(form)
        keras.utils.set_random_seed(0)
        model = retrieval_model("fast_weights", units)
        loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        weights = [v.value for v in model.trainable_variables]
        others = [v.value for v in model.non_trainable_variables]

        def loss(weights, model=model, others=others):
            logits, _ = model.stateless_call(weights, others, x)
            return loss_fn(y, logits), logits

        (_, logits), grads = jax.value_and_grad(loss, has_aux=True)(weights)
        results.append([np.asarray(logits)] + [np.asarray(g) for g in grads])
    use(UNROLLED)
    return max(
        float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-12))
        for a, b in zip(*results)
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument("--examples", type=int, default=20480)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if keras.backend.backend() != "jax":
        raise SystemExit(
            "Run it with KERAS_BACKEND=jax (the first-epoch target is JAX's)."
        )

    x, y = random_data(args.examples, SEQUENCE_LENGTH)
    difference = check_close(args.units, x[:128], y[:128])
    print(
        "largest difference, scanned against unrolled (logits and "
        f"gradients, relative to each array's largest entry): {difference:.1e}"
    )

    forms = {"lstm": None, "unrolled": UNROLLED, "scanned": scanned}

    def fresh_model(name):
        use(forms[name] or UNROLLED)
        keras.utils.set_random_seed(0)
        return retrieval_model(
            "lstm" if name == "lstm" else "fast_weights", args.units
        )

    def first_and_second(name):
        model = fresh_model(name)
        # The form is looked up when the training step is traced.
        first = timed_fit(model, x, y, args.batch_size)
        second = timed_fit(model, x, y, args.batch_size)
        return first, second

    names = list(forms)
    for name in names:  # one-off costs (imports, backend start) on no model
        first_and_second(name)
    first = {name: [] for name in names}
    second = {name: [] for name in names}
    for round_index in range(args.rounds):
        for name in rotated(names, round_index):
            one, two = first_and_second(name)
            first[name].append(one)
            second[name].append(two)
    print(
        f"R = {args.units}, T = {SEQUENCE_LENGTH}, {args.examples} "
        f"examples/epoch, {args.rounds} rounds"
    )
    print(
        "| form | first epoch (s, median) | second epoch (s) "
        "| first epoch / LSTM's | second epoch / LSTM's |"
    )
    print("|---|---:|---:|---:|---:|")
    for name in names:
        print(
            f"| {name} | {statistics.median(first[name]):.2f} "
            f"| {statistics.median(second[name]):.2f} "
            f"| {median_ratios(first[name], first['lstm']):.2f} "
            f"| {median_ratios(second[name], second['lstm']):.2f} |"
        )


if __name__ == "__main__":
    main()
