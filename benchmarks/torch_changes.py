"""Times three exact changes to the layer's code that cut torch's op calls
(issue 12, goal 3: `FastWeightsRNN` ≤ 1.0× the LSTM on torch).

    OMP_NUM_THREADS=1 KERAS_BACKEND=torch python benchmarks/torch_changes.py

benchmarks/torch_ops.py shows where a torch training step goes; these are
the changes it suggests, each applied here to a copy of the package's
function (its source with one edit, compiled in the package's module), not
to the package:

- `zeros`: the all-zero memory states `(batch, units²)` as broadcast
  views of one row, `ops.broadcast_to(ops.zeros((1, units²)), (batch,
  units²))`, in `attention_form.run` (the `A` returned when it is not
  needed) and in the cells' `get_initial_state` (`layers/_cell.py`): torch
  fills each fresh 1.3 MB tensor, twice a step;
- `unstack`: `attention_form.run_chunk` takes the steps' input drives from
  one `ops.unstack(input_drive, axis=1)` instead of slicing
  `input_drive[:, t]` at each step, whose gradient torch builds as a zero
  tensor of the whole sequence per step, added up;
- `layer_norm`: `FastWeightsRNNCell._layer_norm` as
  `ops.layer_normalization(x, gamma, beta, epsilon=...)`, which Keras runs
  as one `torch.nn.functional.layer_norm` (about 13 ops forward and 20
  backward a step otherwise); on torch only, since JAX's `ops.var`
  computes float64 in float32 (the cell's comment).

It first checks that the changed layer gives the current one's outputs and
gradients on one batch, then, like `benchmark.py`, times one epoch of each
variant and of the LSTM per round, in interleaved rounds, and prints the
median over rounds of the epoch time over the LSTM's in the same round.
Once the package adopts a change, its edit no longer applies and the
script says so.
"""

import argparse
import inspect

import keras
import numpy as np
import torch
from benchmark import SEQUENCE_LENGTH
from benchmark import print_ratio_table
from benchmark import random_data
from benchmark import retrieval_model
from benchmark import rotated
from benchmark import timed_fit
from keras import ops

from keras_fastweights.layers import _cell
from keras_fastweights.layers import attention_form
from keras_fastweights.layers.fast_weights_rnn_cell import FastWeightsRNNCell


def edited(function, *edits):
    """`function` compiled from its source with each (old, new) edit, in
    its own module's namespace."""
    source = inspect.getsource(function)
    for old, new in edits:
        if old not in source:
            raise SystemExit(
                f"{function.__qualname__} no longer contains {old!r}: "
                "the package has changed (adopted the change?)."
            )
        source = source.replace(old, new)
    namespace = {}
    module = inspect.getmodule(function)
    exec(compile(source, module.__file__, "exec"), vars(module), namespace)
    return namespace[function.__name__]


def zero_views(self, batch_size=None):
    return [
        ops.broadcast_to(
            ops.zeros((1, size), dtype=self.compute_dtype), (batch_size, size)
        )
        for size in self.state_size
    ]


def fused_layer_norm(self, x):
    if not self.use_layer_norm:
        return x
    return ops.layer_normalization(
        x, self.gamma, self.beta, epsilon=self.layer_norm_epsilon
    )


CURRENT = {
    (attention_form, "run"): attention_form.run,
    (attention_form, "run_chunk"): attention_form.run_chunk,
    (_cell.RecurrentCell, "get_initial_state"): (
        _cell.RecurrentCell.get_initial_state
    ),
    (FastWeightsRNNCell, "_layer_norm"): FastWeightsRNNCell._layer_norm,
}
CHANGES = {
    "zeros": {
        (attention_form, "run"): edited(
            attention_form.run,
            (
                "memory = ops.zeros((ops.shape(h)[0], units**2), h.dtype)",
                "memory = ops.broadcast_to(ops.zeros((1, units**2), "
                "h.dtype), (ops.shape(h)[0], units**2))",
            ),
        ),
        (_cell.RecurrentCell, "get_initial_state"): zero_views,
    },
    "unstack": {
        (attention_form, "run_chunk"): edited(
            attention_form.run_chunk,
            (
                "    for t in range(input_drive.shape[1]):",
                "    drives = ops.unstack(input_drive, axis=1)\n"
                "    for t in range(input_drive.shape[1]):",
            ),
            ("input_drive[:, t]", "drives[t]"),
        ),
    },
    "layer_norm": {(FastWeightsRNNCell, "_layer_norm"): fused_layer_norm},
}
VARIANTS = {
    "current": (),
    "zeros": ("zeros",),
    "unstack": ("unstack",),
    "layer_norm": ("layer_norm",),
    "all three": ("zeros", "unstack", "layer_norm"),
}


def use(changes):
    """Makes the package run with `changes` (eager torch looks the code up
    at every call)."""
    for (owner, name), function in CURRENT.items():
        setattr(owner, name, function)
    for change in changes:
        for (owner, name), function in CHANGES[change].items():
            setattr(owner, name, function)


def outputs_and_gradients(model, x, y):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = model(x, training=True)
    weights = [v.value for v in model.trainable_variables]
    gradients = torch.autograd.grad(loss_fn(y, logits), weights)
    return [logits.detach().numpy()] + [g.numpy() for g in gradients]


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
    if keras.backend.backend() != "torch":
        parser.error("run with KERAS_BACKEND=torch")

    examples = args.examples // args.batch_size * args.batch_size
    x, y = random_data(examples, SEQUENCE_LENGTH)
    keras.utils.set_random_seed(0)
    model = retrieval_model("fast_weights", args.units)
    batch = x[: args.batch_size], y[: args.batch_size]
    use(())
    current = outputs_and_gradients(model, *batch)
    use(VARIANTS["all three"])
    changed = outputs_and_gradients(model, *batch)
    difference = max(
        float(np.max(np.abs(a - b))) for a, b in zip(current, changed)
    )
    print(
        "all three changes against the current layer, one batch: largest "
        f"difference of the logits and gradients {difference:.1e}"
    )

    models = {}
    for name in [*VARIANTS, "lstm"]:
        use(VARIANTS.get(name, ()))
        keras.utils.set_random_seed(0)
        kind = "lstm" if name == "lstm" else "fast_weights"
        models[name] = retrieval_model(kind, args.units)
        timed_fit(models[name], x, y, args.batch_size)
    seconds = {name: [] for name in models}
    for round_index in range(args.rounds):
        for name in rotated(list(models), round_index):
            use(VARIANTS.get(name, ()))
            seconds[name].append(timed_fit(models[name], x, y, args.batch_size))
    use(())

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"R = {args.units}, T = {SEQUENCE_LENGTH}, {examples} examples/epoch, "
        f"{args.rounds} rounds\n"
    )
    print_ratio_table(seconds, "variant", digits=2)


if __name__ == "__main__":
    main()
