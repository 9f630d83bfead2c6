"""Inspecting what the fast memory of a trained model attends to.

The fast-weight matrix of `FastWeightsRNNCell` is a decayed sum of outer
products `v(τ) k(τ)ᵀ` of a key and a value for each of the sequence's past
hidden vectors, so reading it is an attention over the past (Ba et al.,
2016, https://arxiv.org/abs/1610.06258):

```
A(t) h_s = η Σ_{τ=1..t} λ^{t-τ} v(τ) (k(τ)ᵀ h_s)
```

with `k(τ) = v(τ) = h(τ)` for the paper's Hebbian rule, and for the delta
rule the unit key `k(τ) = h(τ) / sqrt(h(τ)ᵀ h(τ) + 1e-6)` and the value
`v(τ) = h(τ) - λ A(τ-1) k(τ)` (`FastWeightsRNNCell.memory_entry`).
`fast_weights_attention` returns the weights `η λ^{t-τ} k(τ)ᵀ h_s` of that
sum for every step of an input sequence; the study's
`fastweights_study.plotting.plot_attention` draws them.
"""

from __future__ import annotations

import numbers
from typing import Any
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from keras_fastweights.layers.attention_form import memory_weights
from keras_fastweights.layers.fast_weights_rnn_cell import FastWeightsRNNCell


def fast_weights_attention(
    model: keras.Model | keras.layers.Layer,
    inputs: Any,
    *,
    layer_name: str | None = None,
    inner_step: int | None = -1,
) -> np.ndarray:
    """Attention weights of the fast memory over the past steps.

    For each step of the sequence, the inner loop of the fast-weights cell
    reads its memory with the query `h_s` (the preliminary vector
    `h_0 = f(z)` for `s = 0`, then the inner-loop iterates):

    ```
    A(t) h_s = Σ_τ a(t, τ) v(τ),   a(t, τ) = η λ^{t-τ} k(τ)ᵀ h_s
    ```

    over the keys `k(τ)` and values `v(τ)` the memory stored (module
    docstring): `a(t, τ) = η λ^{t-τ} h(τ)ᵀ h_s` over the past outputs
    `h(τ)` for the Hebbian rule; for the delta rule the weights of the unit
    keys `k(τ) = h(τ) / |h(τ)|` over the values
    `v(τ) = h(τ) - λ A(τ-1) k(τ)`, what each step wrote that the memory did
    not already return (`replay(...).values`).

    This function returns the weights `a(t, τ)`. It runs the layers of
    `model` that precede the fast-weights recurrent layer, then replays that
    layer's cell step by step (with the layer's own weights, so the outputs
    are exactly the layer's, whichever `implementation` the layer runs) and
    records the queries of every inner step.

    Indexing, with steps counted from 0 as in the input array: step `i`
    reads input `x[:, i]` with the memory `A` of the outputs of steps
    `0 .. i-1` (in the paper's notation it computes `h(i+1)` from `x(i)`,
    and `A(i)` holds `h(1) .. h(i)`, where `h(j+1)` is the output of step
    `j`). So

    ```
    weights[b, i, j] = η λ^(i-1-j) k(j+1)ᵀ h_s   for j < i,  else 0
    ```

    is how much the query of step `i` takes from the output of step `j`
    (`k(j+1) = h(j+1)` for the Hebbian rule): the weights are strictly lower
    triangular, and row 0 is zero because the memory is empty at the first
    step. `Σ_j weights[b, i, j] v(j+1)` equals `A(i) h_s` of the cell.

    The weights are not normalized (unlike softmax attention): their scale
    also tells how strongly the memory pulls the hidden state.

    Not supported: masked steps (a model whose recurrent layer receives a
    mask is accepted only if no step of `inputs` is masked), an
    `initial_state` passed to the recurrent layer, and `go_backwards=True`.
    A `stateful` layer is replayed from zero states, as for a new sequence.

    Args:
        model: A built functional or `Sequential` model containing a
            `keras.layers.RNN` whose cell is a `FastWeightsRNNCell` (such as
            a `FastWeightsRNN`), or that recurrent layer itself, or a built
            `FastWeightsRNNCell`.
        inputs: Inputs of `model` (for a model with several inputs, a list
            in the order of `model.inputs`), or the sequences of shape
            `(batch, timesteps, features)` fed to the recurrent layer or
            cell.
        layer_name: Name of the recurrent layer to inspect, needed only when
            `model` has more than one fast-weights layer. Only the model's
            own layers are searched, not those of nested models.
        inner_step: Which query `h_s` to use, `0 <= s < inner_steps` (or a
            negative index, as in Python lists). The default `-1` is the
            query of the last inner iteration, which produces the step's
            output. `None` returns the weights of every inner step.

    Returns:
        A float32 NumPy array `weights` of shape `(batch, timesteps,
        timesteps)`, indexed `[b, i, j]` as above; with `inner_step=None`,
        of shape `(batch, inner_steps, timesteps, timesteps)`, indexed
        `[b, s, i, j]`.

    Example:

    >>> import numpy as np
    >>> import keras
    >>> from keras_fastweights import FastWeightsRNNCell
    >>> from keras_fastweights.inspection import fast_weights_attention
    >>> model = keras.Sequential([
    ...     keras.Input((None,), dtype="int32"),
    ...     keras.layers.Embedding(37, 16),
    ...     keras.layers.RNN(FastWeightsRNNCell(8), name="recurrent"),
    ...     keras.layers.Dense(10),
    ... ])
    >>> tokens = np.array([[3, 12, 5, 20, 7, 1]])
    >>> fast_weights_attention(model, tokens).shape
    (1, 6, 6)
    """
    cell, sequences = fast_weights_inputs(model, inputs, layer_name)
    inner_steps = cell.inner_steps
    if inner_step is not None:
        if isinstance(inner_step, bool) or not isinstance(
            inner_step, numbers.Integral
        ):
            raise TypeError(
                "`inner_step` must be an integer or None. Received: "
                f"inner_step={inner_step!r} "
                f"(of type {type(inner_step).__name__})"
            )
        if not -inner_steps <= inner_step < inner_steps:
            raise ValueError(
                f"`inner_step` must be in [{-inner_steps}, {inner_steps - 1}]"
                f" for a cell with inner_steps={inner_steps}. Received: "
                f"inner_step={inner_step}"
            )

    recorded = replay(cell, sequences)
    # scores[b, s, i, j] = k(j+1)ᵀ h_s at step i.
    scores = ops.einsum("bish,bjh->bsij", recorded.queries, recorded.keys)
    # The weight η λ^(i-1-j) of the key of h(j+1), which enters the memory
    # at step j + 1, in the memory of step i (0 unless j < i).
    timesteps = ops.shape(scores)[-1]
    decay, _ = memory_weights(
        None,
        timesteps + 1,
        cell.decay_rate,
        cell.fast_learning_rate,
        "float32",
    )
    weights = decay[:timesteps, 1:] * scores
    weights = ops.convert_to_numpy(weights).astype("float32")
    if inner_step is None:
        return weights
    return weights[:, inner_step]


def find_fast_weights_layer(
    model: keras.Model, layer_name: str | None = None
) -> keras.layers.RNN:
    """Returns the fast-weights `keras.layers.RNN` of `model` (the one
    named `layer_name`, needed if it has several), or raises a
    `ValueError` that lists its layers."""
    candidates = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.RNN)
        and isinstance(layer.cell, FastWeightsRNNCell)
    ]
    if layer_name is not None:
        matches = [layer for layer in candidates if layer.name == layer_name]
        if not matches:
            raise ValueError(
                f"Model {model.name!r} has no fast-weights recurrent layer "
                f"named {layer_name!r}. Its fast-weights layers are "
                f"{[layer.name for layer in candidates]}. Received: "
                f"layer_name={layer_name!r}"
            )
        return matches[0]
    if not candidates:
        raise ValueError(
            f"Model {model.name!r} has no fast-weights recurrent layer (a "
            "`keras.layers.RNN` whose cell is a `FastWeightsRNNCell`, such "
            "as `FastWeightsRNN`). Its layers are "
            f"{[layer.name for layer in model.layers]}."
        )
    if len(candidates) > 1:
        raise ValueError(
            f"Model {model.name!r} has several fast-weights recurrent "
            f"layers: {[layer.name for layer in candidates]}. Pass "
            "`layer_name` to choose one. Received: layer_name=None"
        )
    return candidates[0]


def _layer_sequences(model, layer, inputs):
    """Runs the part of `model` before `layer` and returns its input."""
    try:
        layer_inputs = layer.input
        model_inputs = model.inputs
        if len(model_inputs) == 1:
            model_inputs = model_inputs[0]
        head = keras.Model(model_inputs, layer_inputs)
    except (AttributeError, ValueError) as error:
        raise ValueError(
            f"Cannot read the inputs of layer {layer.name!r} in model "
            f"{model.name!r}: the model must be a built functional or "
            "`Sequential` model (with an `Input`) that calls the layer "
            "once."
        ) from error
    values = head(inputs)
    if not isinstance(layer_inputs, (list, tuple)):
        return values
    # The layer also received a mask (boolean, from e.g. `mask_zero=True`)
    # or initial states; the replay below assumes neither.
    sequences, *extras = values
    for extra in extras:
        if keras.backend.standardize_dtype(extra.dtype) != "bool":
            raise ValueError(
                f"Layer {layer.name!r} is called with an `initial_state`, "
                "which `fast_weights_attention` does not support: it "
                "replays the layer from zero states."
            )
        if not bool(ops.convert_to_numpy(ops.all(extra))):
            raise ValueError(
                f"Layer {layer.name!r} receives a mask that masks some "
                "steps of these inputs; `fast_weights_attention` does not "
                "support masked steps. Pass inputs without padding."
            )
    return sequences


def fast_weights_inputs(
    model: keras.Model | keras.layers.Layer,
    inputs: Any,
    layer_name: str | None = None,
) -> tuple[FastWeightsRNNCell, Any]:
    """Returns the fast-weights cell of `model` and the sequences it reads
    for `inputs` (running the layers before it), for `replay`.

    `model`, `inputs` and `layer_name` are as in `fast_weights_attention`.
    """
    if isinstance(model, FastWeightsRNNCell):
        cell, layer = model, None
    elif isinstance(model, keras.layers.RNN) and isinstance(
        model.cell, FastWeightsRNNCell
    ):
        cell, layer = model.cell, model
    elif isinstance(model, keras.Model):
        layer = find_fast_weights_layer(model, layer_name)
        cell = layer.cell
        inputs = _layer_sequences(model, layer, inputs)
    else:
        raise TypeError(
            "`model` must be a keras.Model containing a fast-weights "
            "recurrent layer, a `keras.layers.RNN` whose cell is a "
            "`FastWeightsRNNCell`, or a `FastWeightsRNNCell`. Received: "
            f"model={model!r} (of type {type(model).__name__})"
        )
    if layer is not None and layer.go_backwards:
        raise ValueError(
            f"Layer {layer.name!r} has go_backwards=True, which "
            "`fast_weights_attention` does not support."
        )
    if not cell.built:
        raise ValueError(
            f"Cell {cell.name!r} is not built, so it has no weights to "
            "inspect: call the model or layer on data first."
        )
    sequences = ops.convert_to_tensor(inputs, dtype=cell.compute_dtype)
    if len(sequences.shape) != 3 or sequences.shape[1] == 0:
        raise ValueError(
            "The sequences read by the fast-weights layer must have shape "
            "(batch, timesteps, features) with at least one step. "
            f"Received: sequences of shape {tuple(sequences.shape)}"
        )
    return cell, sequences


class Replay(NamedTuple):
    """What `replay` records at every step of a fast-weights cell, as
    float32 tensors of the current backend."""

    outputs: Any
    """`(batch, timesteps, units)`: the outputs `h(t+1)`."""
    queries: Any
    """`(batch, timesteps, S, units)`: the queries `h_0 .. h_{S-1}`."""
    drives: Any
    """`(batch, timesteps, units)`: the boundary conditions `z`."""
    memories: Any
    """`(batch, timesteps, units * units)`: the memory `A(t)` each step
    reads (flattened row-major), which is the state the cell returns."""
    keys: Any
    """`(batch, timesteps, units)`: the key `k(t+1)` with which each output
    `h(t+1)` enters the memory of the next step,
    `A(t+1) = λ A(t) + η v(t+1) k(t+1)ᵀ` (`h(t+1)` itself for the Hebbian
    rule; `FastWeightsRNNCell.memory_entry`)."""
    values: Any
    """`(batch, timesteps, units)`: the value `v(t+1)` stored with that
    key (`h(t+1)` for the Hebbian rule)."""


def replay(cell: FastWeightsRNNCell, sequences: Any) -> Replay:
    """Runs `cell` over `sequences` from zero states, recording every step.

    The cell runs as `keras.layers.RNN` runs it, through its own `__call__`
    (so the numbers are the layer's, in its dtype policy), asked to return
    the drive `z` and the iterates `h_0 .. h_S` of every step too
    (`return_iterates=True`).

    Args:
        cell: A built `FastWeightsRNNCell`.
        sequences: `(batch, timesteps, features)` in the cell's compute
            dtype, as returned by `fast_weights_inputs`.

    Returns:
        A `Replay`.
    """
    states = cell.get_initial_state(ops.shape(sequences)[0])
    outputs, memories, log, entries = [], [], [], []
    units = cell.units
    for step in range(ops.shape(sequences)[1]):
        output, states, z, iterates = cell(
            sequences[:, step], states, return_iterates=True
        )
        outputs.append(output)
        memories.append(states[1])
        log.append((z, iterates))
        # What the next step writes: h(t+1) into A(t), the state returned.
        memory = ops.reshape(states[1], (-1, units, units))
        entries.append(cell.memory_entry(memory, output))

    def stack(tensors, axis=1):
        return ops.stack([ops.cast(t, "float32") for t in tensors], axis=axis)

    return Replay(
        outputs=stack(outputs),
        queries=stack([stack(iterates[:-1]) for _, iterates in log]),
        drives=stack([z for z, _ in log]),
        memories=stack(memories),
        keys=stack([key for key, _ in entries]),
        values=stack([value for _, value in entries]),
    )
