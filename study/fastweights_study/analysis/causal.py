"""A causal reading of the fast memory: the probability of the right
answer when stored states are removed from the memory that the last step
reads (`answer_probability`, `stored_state_effects`), summed up by the
roles of the removed states (`memory_causal_summary`)."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from fastweights_study.analysis.dynamics import fast_weights_layer_of
from fastweights_study.analysis.dynamics import model_tail
from fastweights_study.analysis.task import RETRIEVAL_ROLES
from fastweights_study.analysis.task import retrieval_roles
from keras_fastweights.inspection import fast_weights_attention
from keras_fastweights.inspection import fast_weights_inputs
from keras_fastweights.inspection import replay


def _last_step_reader(model, inputs, layer_name):
    """What the last step of the fast-weights layer reads, and a function
    that finishes the model from a given memory.

    Returns `(cell, stored, finish)`: the layer's cell; `stored`, shape
    `(batch, T - 1, units)`, holds the outputs `h(1) .. h(T-1)` of the
    steps before the last, whose outer products make up the memory `A(T-1)`
    that the last step reads; `finish(memory)` runs the last step with the
    memory `A(T-1)` replaced by `memory` (shape `(batch, units, units)`)
    and the rest of the model, and returns the logits.
    """
    layer = fast_weights_layer_of(model, layer_name, "stored_state_effects")
    if layer.return_sequences or layer.return_state:
        raise ValueError(
            f"Layer {layer.name!r} returns its sequences or states; only a "
            "layer that returns its last output alone, h(T), is supported."
        )
    cell, sequences = fast_weights_inputs(model, inputs, layer.name)
    if ops.shape(sequences)[1] < 2:
        raise ValueError(
            "The sequences need at least 2 steps, so that the last step has "
            f"a memory to read. Received: {ops.shape(sequences)[1]} step"
        )
    stored = replay(cell, sequences[:, :-1]).outputs
    # A copy of the cell with λ = 1 and η = 0 reads the memory it is given,
    # A(t) = 1·A + 0·h(t)h(t)ᵀ, through the cell's own equations.
    reader = cell.__class__.from_config(
        {**cell.get_config(), "decay_rate": 1.0, "fast_learning_rate": 0.0}
    )
    reader.build((None, cell.kernel.shape[0]))
    for target, source in zip(reader.weights, cell.weights):
        target.assign(source)
    tail = model_tail(model, layer.output)
    last_input, last_h = sequences[:, -1], stored[:, -1]
    units = cell.units

    def finish(memory):
        memory = ops.cast(ops.reshape(memory, (-1, units * units)), "float32")
        output, _ = reader(last_input, [last_h, memory])
        return tail(output)

    return cell, stored, finish


def _target_probability(logits, targets):
    probabilities = ops.convert_to_numpy(ops.softmax(logits, axis=-1))
    probabilities = probabilities.astype("float64")
    return probabilities[np.arange(len(targets)), targets]


def answer_probability(
    model: keras.Model,
    inputs: Any,
    targets: Any,
    kept: Any = None,
    *,
    layer_name: str | None = None,
) -> np.ndarray:
    """p(right answer) when the last step reads a memory with states removed.

    The last step of a fast-weights layer reads the memory
    `A(T-1) = η Σ_{τ=1..T-1} λ^{T-1-τ} h(τ) h(τ)ᵀ` of the outputs of the
    steps before it (docs/method.md, section 2). Here each stored state's
    term is multiplied by `kept[b, j]` (the state stored at step `j`, i.e.
    the output of step `j` after reading input `j`, is `h(j+1)`): 1 keeps
    it, 0 removes it. The earlier steps, the drive `z` of the last step and
    the layers after the recurrent one are unchanged; the last step is run
    by a copy of the layer's own cell.

    Args:
        model: A built `keras.Model` with one fast-weights recurrent layer
            that returns its last output only, and whose outputs are logits.
        inputs: Inputs of `model`.
        targets: Integer class of each example, shape `(batch,)`.
        kept: Factors of the stored states, broadcastable to
            `(batch, timesteps - 1)`; `None` keeps every one.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        A float64 array of shape `(batch,)`: the softmax probability of the
        target.

    Example:

    >>> import numpy as np
    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, targets) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> without_memory = answer_probability(
    ...     model, tokens, targets, kept=np.zeros(10))
    >>> without_memory.shape
    (8,)
    """
    cell, stored, finish = _last_step_reader(model, inputs, layer_name)
    targets = np.asarray(targets)
    return _target_probability(
        finish(_weighted_memory(cell, stored, kept)), targets
    )


def stored_state_effects(
    model: keras.Model,
    inputs: Any,
    targets: Any,
    *,
    layer_name: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The change in p(right answer) from removing each stored state alone.

    For each example and each step `j < T - 1`, the state stored at step `j`
    is removed from the memory that the last step reads, as in
    `answer_probability`, and the others are kept.

    Args:
        model: A built `keras.Model` with one fast-weights recurrent layer
            that returns its last output only, and whose outputs are logits.
        inputs: Inputs of `model`.
        targets: Integer class of each example, shape `(batch,)`.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        `(probability, changes)`: float64 arrays of shapes `(batch,)`, the
        probability of the target with the whole memory, and
        `(batch, timesteps - 1)`, the probability with the state of step `j`
        removed minus `probability`.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, targets) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> probability, changes = stored_state_effects(model, tokens, targets)
    >>> probability.shape, changes.shape
    ((8,), (8, 10))
    """
    reader = _last_step_reader(model, inputs, layer_name)
    return _removal_effects(*reader, np.asarray(targets))


def _removal_effects(cell, stored, finish, targets):
    """`stored_state_effects` from `_last_step_reader`'s results."""
    steps = ops.shape(stored)[1]
    probability = _target_probability(
        finish(_weighted_memory(cell, stored, None)), targets
    )
    changes = []
    for step in range(steps):
        kept = np.arange(steps) != step
        without = _target_probability(
            finish(_weighted_memory(cell, stored, kept)), targets
        )
        changes.append(without - probability)
    return probability, np.stack(changes, axis=1)


def _weighted_memory(cell, stored, kept):
    """`η Σ_j kept[b, j] λ^{T-2-j} h(j+1) h(j+1)ᵀ` over the stored outputs
    `h(j+1) = stored[:, j]`: the unrolled memory (docs/method.md, section
    2) that the last step reads, with each term scaled by `kept`.

    The Hebbian rule's memory only: a delta-rule memory stores a key and a
    value for each state, each value read from the memory before it, so
    that it is not this sum."""
    if cell.update_rule != "hebbian":
        raise ValueError(
            "Removing stored states from the memory is defined for the "
            "Hebbian rule's memory, η Σ_j λ^{T-2-j} h(j+1) h(j+1)ᵀ, not for "
            "a memory of keys and values each read from the memory before "
            "it. Received: a fast-weights layer with "
            f"update_rule={cell.update_rule!r}"
        )
    steps = ops.shape(stored)[1]
    weights = cell.fast_learning_rate * cell.decay_rate ** np.arange(
        steps - 1, -1, -1, dtype="float64"
    )
    if kept is not None:
        weights = weights * np.asarray(kept, "float64")
    weights = np.broadcast_to(weights, (ops.shape(stored)[0], steps))
    weights = ops.convert_to_tensor(weights.astype("float32"))
    return ops.einsum("bt,bti,btj->bij", weights, stored, stored)


def memory_causal_summary(
    model: keras.Model,
    tokens: Any,
    targets: Any,
    *,
    layer_name: str | None = None,
) -> list[dict[str, Any]]:
    """What removing stored states from the query step's memory does, by role.

    For associative-retrieval sequences (see `retrieval_roles`), removes the
    state of each role from the memory read at the query step (see
    `stored_state_effects`) and averages the change in the probability of
    the right answer: first over the states of that role within a sequence
    (three "other" keys or values with four pairs), then over sequences.
    Besides the six roles, the queried value is split by whether its digit
    is unique among the sequence's digits or repeated, and two rows remove
    several states at once: every stored state, and all but the queried
    value's.

    Args:
        model: A built `keras.Model` with one fast-weights recurrent layer
            that returns its last output only, and whose outputs are logits
            (as `keras_fastweights.models.build_retrieval_model`'s).
        tokens: Integer token ids of shape `(batch, 2 K + 3)`.
        targets: The digit each sequence asks for, shape `(batch,)`.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        A list of dicts, one per row, with keys `removed` (what was
        removed), `sequences` (how many were averaged), `attention` (the
        mean attention weight `η λ^{t-τ} h(τ)ᵀ h_s` of a removed state at
        the query step, as `keras_fastweights.inspection` computes it),
        `probability` (the mean probability of the target after the
        removal), `change` (the mean change of that probability) and
        `standard_error` (of the mean change, over sequences). The first
        row, `removed="nothing"`, has the whole memory's probability, a
        change of 0 and no attention weight (NaN).

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, targets) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> rows = memory_causal_summary(model, tokens, targets)
    >>> [row["removed"] for row in rows][:3]
    ['nothing', 'queried key', 'queried value']
    """
    roles = retrieval_roles(tokens)
    tokens, targets = np.asarray(tokens), np.asarray(targets)
    cell, stored, finish = _last_step_reader(model, tokens, layer_name)
    probability, changes = _removal_effects(cell, stored, finish, targets)
    # a(t, τ) = η λ^{t-τ} h(τ)ᵀ h_s of the query step, over the stored states.
    weights = fast_weights_attention(model, tokens, layer_name=layer_name)
    weights = weights[:, -1, :-1].astype("float64")

    def per_sequence(values, selected):
        return np.sum(values * selected, axis=1) / selected.sum(axis=1)

    rows = [
        _summary_row("nothing", probability, np.zeros_like(probability), np.nan)
    ]
    for role in RETRIEVAL_ROLES:
        selected = roles == role
        change = per_sequence(changes, selected)
        rows.append(
            _summary_row(
                role,
                probability + change,
                change,
                per_sequence(weights, selected).mean(),
            )
        )
    answer = roles == "queried value"
    digits = tokens[:, 1:-3:2]
    answers = tokens[:, :-1][answer]
    repeated = (digits == answers[:, None]).sum(axis=1) > 1
    for name, among in (("unique", ~repeated), ("repeated", repeated)):
        change = changes[answer][among]
        rows.append(
            _summary_row(
                f"queried value (digit {name})",
                probability[among] + change,
                change,
                weights[answer][among].mean(),
            )
        )
    for name, kept in (
        ("every stored state", np.zeros(roles.shape)),
        ("every state but the queried value", answer.astype("float64")),
    ):
        removed = _target_probability(
            finish(_weighted_memory(cell, stored, kept)), targets
        )
        rows.append(
            _summary_row(
                name,
                removed,
                removed - probability,
                per_sequence(weights, kept == 0).mean(),
            )
        )
    return rows


def _summary_row(removed, probability, change, attention):
    count = len(change)
    error = change.std(ddof=1) / math.sqrt(count) if count > 1 else math.nan
    return {
        "removed": removed,
        "sequences": count,
        "attention": float(attention),
        "probability": float(probability.mean()),
        "change": float(change.mean()),
        "standard_error": float(error),
    }
