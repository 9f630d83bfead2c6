"""Closed-form baselines and measurements that explain the models' results.

Ba et al. (2016), *Using Fast Weights to Attend to the Recent Past*,
https://arxiv.org/abs/1610.06258. docs/method.md derives and uses these:

- `key_blind_bayes`: the error and log-likelihood of the best prediction
  of the associative retrieval task that ignores the queried key, the
  plateau at which every model first sits (about 61.6 % error and 1.19
  nats with 4 pairs);
- `memory_drive_ratio`: the size of the fast memory's term `A(t) h_0` of
  the inner loop against the input drive `z` of the same step;
- `input_gradient_norms`: how large the gradient of the loss is at each
  input step, the measure of how far back the gradient reaches;
- `consecutive_state_cosine`: how similar the successive hidden states
  that the memory stores are;
- `answer_probability`, `stored_state_effects` and
  `memory_causal_summary`: the probability of the right answer when stored
  states are removed from the memory that the last step reads, a causal
  reading of the memory;
- `retrieval_errors`: where a model's wrong answers come from, by the
  position of the queried pair and by whether the answer is another pair's
  digit; `queried_pair_effects` and `bonferroni_bound`: whether the error
  depends on that position more than chance allows;
- `retrieval_information_bits`: how much a sequence of the associative
  retrieval task asks the network to remember.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_fastweights._validation import check_int
from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.inspection import fast_weights_attention
from keras_fastweights.inspection import fast_weights_inputs
from keras_fastweights.inspection import find_fast_weights_layer
from keras_fastweights.inspection import replay


def _partitions(total: int, largest: int) -> Iterator[tuple[int, ...]]:
    """The partitions of `total` into parts of at most `largest`, each as a
    non-increasing tuple of its parts."""
    if total == 0:
        yield ()
        return
    for first in range(min(total, largest), 0, -1):
        for rest in _partitions(total - first, first):
            yield (first, *rest)


def key_blind_bayes(
    num_pairs: int, num_digits: int = 10
) -> tuple[float, float]:
    """Expected error and log-likelihood of the best key-blind prediction.

    In the associative retrieval task a sequence stores `num_pairs` (K)
    digits, each i.i.d. uniform over `num_digits` (D) values (they may
    repeat), under distinct keys, and the query is one of the K keys,
    uniformly. A predictor that does not use which key is queried can at
    best give each digit `d` the probability `m_d / K`, where `m_d` is how
    many of the K stored digits equal `d`, and answer a most frequent one.
    Its expected error and expected log-likelihood of the target are

    ```
    error          = 1 - E[max_d m_d] / K
    log_likelihood = E[Σ_d (m_d / K) log(m_d / K)]
    ```

    computed here exactly by summing over the multisets of counts: a
    partition `m_1 >= ... >= m_l` of K with `l <= D` parts occurs in
    `D! / ((D - l)! Π_j c_j!) * K! / Π_i m_i!` of the `D^K` digit tuples,
    where `c_j` is how many parts equal `j`.

    Args:
        num_pairs: Integer >= 1, the number K of key-value pairs.
        num_digits: Integer >= 1, the number D of values a digit can take.
            Default: `10`.

    Returns:
        `(error, log_likelihood)`: the expected error rate, in `[0, 1)`, and
        the expected log-likelihood of the target in nats (<= 0; its
        negative is the expected cross-entropy loss).

    Example:

    >>> error, log_likelihood = key_blind_bayes(4)
    >>> round(error, 4), round(log_likelihood, 4)
    (0.6165, -1.1868)
    """
    num_pairs = check_int("num_pairs", num_pairs, 1)
    num_digits = check_int("num_digits", num_digits, 1)
    expected_max = Fraction(0)
    log_likelihood_terms = []
    for parts in _partitions(num_pairs, num_pairs):
        if len(parts) > num_digits:
            continue
        # Ways to give the parts to distinct digits, times the ways to
        # place those digits among the K positions.
        count = math.factorial(num_digits) // math.factorial(
            num_digits - len(parts)
        )
        for repeats in Counter(parts).values():
            count //= math.factorial(repeats)
        count *= math.factorial(num_pairs)
        for part in parts:
            count //= math.factorial(part)
        probability = Fraction(count, num_digits**num_pairs)
        expected_max += probability * parts[0]
        log_likelihood_terms.append(
            float(probability)
            * sum(
                part / num_pairs * math.log(part / num_pairs) for part in parts
            )
        )
    error = 1 - expected_max / num_pairs
    return float(error), math.fsum(log_likelihood_terms)


def memory_drive_ratio(
    model: keras.Model | keras.layers.Layer,
    inputs: Any,
    *,
    layer_name: str | None = None,
    iterate: int = 0,
) -> np.ndarray:
    """`‖A(t) h_s‖ / ‖z‖` of every example and step of a fast-weights layer.

    At each step the inner loop adds the memory's read-out to the input
    drive, `h_{s+1} = f(LN(z + A(t) h_s))`, with `z = C x(t) + W h(t) + b`
    and `h_0 = f(z)`. This ratio says which of the two terms dominates the
    inner iterate `h_{s+1}`. The layer's cell is replayed step by step with
    its own weights (as in `keras_fastweights.inspection`), so `A(t)` and
    `h_s` are those the layer itself uses.

    Args:
        model: A built model containing one fast-weights recurrent layer
            (see `keras_fastweights.inspection.fast_weights_attention`),
            that layer, or a built `FastWeightsRNNCell`.
        inputs: Inputs of `model`, or the sequences of shape
            `(batch, timesteps, features)` read by the layer or cell.
        layer_name: Name of the recurrent layer, if `model` has several.
        iterate: `s`, the iterate that reads the memory: 0 (the first
            read, `h_0 = f(z)`) to `inner_steps - 1`.

    Returns:
        A float64 array of shape `(batch, timesteps)`. Step 0 is 0, since
        `A(0) = 0`, and so is any step with `z = 0`.

    Raises:
        TypeError: If `model` is neither a model, a fast-weights recurrent
            layer nor a `FastWeightsRNNCell`.
        ValueError: If the model has no (or several, and no `layer_name`)
            fast-weights layers, or the cell is not built.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, _) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> ratios = memory_drive_ratio(model, tokens)
    >>> ratios.shape, bool((ratios[:, 0] == 0).all())
    ((8, 11), True)
    """
    cell, sequences = fast_weights_inputs(model, inputs, layer_name)
    iterate = check_int("iterate", iterate, 0)
    if iterate >= cell.inner_steps:
        raise ValueError(
            f"`iterate` must be below inner_steps={cell.inner_steps}: the "
            f"iterates h_0 .. h_{cell.inner_steps - 1} read the memory. "
            f"Received: iterate={iterate}"
        )
    recorded = replay(cell, sequences)
    memory = ops.convert_to_numpy(recorded.memories).astype("float64")
    memory = memory.reshape(*memory.shape[:2], cell.units, cell.units)
    h_s = ops.convert_to_numpy(recorded.queries[:, :, iterate])
    drive = ops.convert_to_numpy(recorded.drives).astype("float64")
    drive = np.linalg.norm(drive, axis=-1)
    read = np.einsum("btij,btj->bti", memory, h_s.astype("float64"))
    read = np.linalg.norm(read, axis=-1)
    return read / np.where(drive > 0, drive, np.inf)


def _gradient(function, x):
    """The gradient of the scalar `function` at `x`, in the backend's own
    automatic differentiation (Keras 3 has no backend-neutral one)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        # Compiled: op by op, JAX's tracing of the layer's Python loop is
        # several times slower than compiling it once.
        return jax.jit(jax.grad(function))(x)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            value = function(x)
        return tape.gradient(value, x)
    if backend == "torch":
        import torch

        x = x.detach().requires_grad_(True)
        return torch.autograd.grad(function(x), x)[0]
    raise NotImplementedError(
        f"Gradients are not implemented for the {backend!r} backend."
    )


def _fast_weights_model(model, layer_name, function):
    """The fast-weights layer of `model`, which `function` needs to be a
    `keras.Model`."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`{function}` needs a keras.Model (it reads the model's "
            f"logits). Received: model={model!r} (of type "
            f"{type(model).__name__})"
        )
    return find_fast_weights_layer(model, layer_name)


def _model_tail(model, start):
    """The part of `model` from the tensor `start` to its (one) output."""
    if len(model.outputs) != 1:
        raise ValueError(
            f"Model {model.name!r} must have one output, its logits. It has "
            f"{len(model.outputs)}."
        )
    return keras.Model(start, model.outputs[0])


def input_gradient_norms(
    model: keras.Model,
    inputs: Any,
    targets: Any,
    *,
    layer_name: str | None = None,
) -> np.ndarray:
    """`‖∂L/∂x(τ)‖` for every example and input step of a fast-weights layer.

    `L` is the cross-entropy of the model's logits (its output, as that of
    `keras_fastweights.models.build_retrieval_model`) for the integer
    `targets`, and `x(τ)` is the vector that the fast-weights layer reads
    at step `τ` (for the paper's models, the embedding of token `τ`). How
    fast these norms fall with the distance from the last step says how far
    back the gradient reaches. The examples of a batch are independent, so
    each example's row is the gradient of its own loss.

    Args:
        model: A built `keras.Model` with one fast-weights recurrent layer
            (see `keras_fastweights.inspection.fast_weights_attention`)
            whose outputs are logits.
        inputs: Inputs of `model`.
        targets: Integer class of each example, shape `(batch,)`.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        A float64 array of shape `(batch, timesteps)`.

    Raises:
        TypeError: If `model` is not a `keras.Model`.
        ValueError: If the model has no (or several, and no `layer_name`)
            fast-weights layers.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, targets) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> input_gradient_norms(model, tokens, targets).shape
    (8, 11)
    """
    layer = _fast_weights_model(model, layer_name, "input_gradient_norms")
    _, sequences = fast_weights_inputs(model, inputs, layer.name)
    tail = _model_tail(model, layer.input)
    targets = ops.convert_to_tensor(np.asarray(targets), "int32")

    def loss(x):
        logits = tail(x)
        return ops.sum(
            keras.losses.sparse_categorical_crossentropy(
                targets, logits, from_logits=True
            )
        )

    gradients = ops.convert_to_numpy(_gradient(loss, sequences))
    return np.linalg.norm(gradients.astype("float64"), axis=-1)


def consecutive_state_cosine(
    model: keras.Model | keras.layers.Layer,
    inputs: Any,
    *,
    layer_name: str | None = None,
) -> np.ndarray:
    """Cosine similarity of each output `h(τ+1)` with the previous `h(τ)`.

    The fast memory stores these outputs, and its read-out weighs each by
    its dot product with the query (docs/method.md, section 3): how alike
    the stored states are bounds how selectively the memory can be read.

    Args:
        model: A built model containing one fast-weights recurrent layer
            (see `keras_fastweights.inspection.fast_weights_attention`),
            that layer, or a built `FastWeightsRNNCell`.
        inputs: Inputs of `model`, or the sequences of shape
            `(batch, timesteps, features)` read by the layer or cell.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        A float64 array of shape `(batch, timesteps - 1)`: entry `[b, i]` is
        the cosine between the outputs of steps `i` and `i + 1`, or NaN if
        either is zero.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, _) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> consecutive_state_cosine(model, tokens).shape
    (8, 10)
    """
    cell, sequences = fast_weights_inputs(model, inputs, layer_name)
    outputs = ops.convert_to_numpy(replay(cell, sequences).outputs)
    outputs = outputs.astype("float64")
    products = np.sum(outputs[:, 1:] * outputs[:, :-1], axis=-1)
    norms = np.linalg.norm(outputs, axis=-1)
    norms = norms[:, 1:] * norms[:, :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, products / norms, np.nan)


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
    layer = _fast_weights_model(model, layer_name, "stored_state_effects")
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
    tail = _model_tail(model, layer.output)
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
    2) that the last step reads, with each term scaled by `kept`."""
    steps = ops.shape(stored)[1]
    weights = cell.fast_learning_rate * cell.decay_rate ** np.arange(
        steps - 1, -1, -1, dtype="float64"
    )
    if kept is not None:
        weights = weights * np.asarray(kept, "float64")
    weights = np.broadcast_to(weights, (ops.shape(stored)[0], steps))
    weights = ops.convert_to_tensor(weights.astype("float32"))
    return ops.einsum("bt,bti,btj->bij", weights, stored, stored)


RETRIEVAL_ROLES = (
    "queried key",
    "queried value",
    "other key",
    "other value",
    "first ?",
    "second ?",
)


def _queried_pairs(tokens):
    """Retrieval `tokens` as an array, their K, and the index (0 for the
    first pair) of the pair whose key each sequence's query names."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 2 or tokens.shape[1] < 5 or tokens.shape[1] % 2 == 0:
        raise ValueError(
            "`tokens` must have shape (batch, 2 K + 3) with K >= 1. "
            f"Received: tokens of shape {tokens.shape}"
        )
    num_pairs = (tokens.shape[1] - 3) // 2
    keys = tokens[:, 0 : 2 * num_pairs : 2]
    found = keys == tokens[:, -1:]
    if not found.any(axis=1).all():
        raise ValueError(
            "Every query (the last token) must be one of its sequence's "
            "keys (the tokens at even positions before `??`)."
        )
    return tokens, num_pairs, found.argmax(axis=1)


def retrieval_errors(
    tokens: Any, targets: Any, predictions: Any
) -> dict[str, Any]:
    """Where a model's wrong answers to associative-retrieval queries come from.

    Two readings of the errors (results/findings.md, section 2). By the
    position of the queried pair: the first pair is stored longest before
    the query, so a memory that fades (fast weights' decay `λ^{t-τ}`, an
    LSTM that forgets) would err more on it. By what a wrong answer is: the
    digit of another pair of the sequence (the look-up found a wrong pair)
    or a digit the sequence does not hold; `stored_by_chance` is how many
    wrong answers would be another pair's digit if each were drawn uniformly
    from the nine digits other than the right one.

    Args:
        tokens: Integer token ids of shape `(batch, 2 K + 3)`, as
            `associative_retrieval.load_data` returns them.
        targets: The digit each sequence asks for, shape `(batch,)`.
        predictions: The model's answers, digits of shape `(batch,)` (the
            argmax of its logits).

    Returns:
        A dict with `sequences_by_pair` and `wrong_by_pair` (integer arrays
        of shape `(K,)`: the sequences whose query names the i-th pair,
        and how many of those the model got wrong), `wrong` (the wrong
        answers), `wrong_stored` (the wrong answers that are the digit of
        another pair of their sequence) and `stored_by_chance` (a float:
        the sum over the wrong answers of the number of distinct digits in
        their sequence other than the right one, divided by 9).

    Raises:
        ValueError: If the shapes do not match, an answer is not a digit,
            or a target is not the digit stored under its query's key.

    Example:

    >>> from keras_fastweights.datasets import associative_retrieval
    >>> tokens = np.stack([associative_retrieval.encode(text) for text in
    ...     ("c9k8j3f1??c", "c9k8j3f1??f", "c9k8j3f1??k")])
    >>> errors = retrieval_errors(tokens, [9, 1, 8], [9, 3, 8])
    >>> errors["wrong_by_pair"].tolist(), errors["wrong_stored"]
    ([0, 0, 0, 1], 1)
    """
    tokens, num_pairs, queried = _queried_pairs(tokens)
    targets, predictions = np.asarray(targets), np.asarray(predictions)
    for name, values in (("targets", targets), ("predictions", predictions)):
        if values.shape != (len(tokens),):
            raise ValueError(
                f"`{name}` must have shape ({len(tokens)},), one digit per "
                f"sequence of `tokens`. Received: {name} of shape "
                f"{values.shape}"
            )
    num_digits = len(associative_retrieval.DIGITS)
    if predictions.size and not (
        np.issubdtype(predictions.dtype, np.integer)
        and predictions.min() >= 0
        and predictions.max() < num_digits
    ):
        raise ValueError(
            f"`predictions` must be digits from 0 to {num_digits - 1} (the "
            "argmax of the logits). Received values from "
            f"{predictions.min()} to {predictions.max()}"
        )
    digits = tokens[:, 1 : 2 * num_pairs : 2] - len(
        associative_retrieval.LETTERS
    )
    rows = np.arange(len(tokens))
    stored = digits[rows, queried]
    if not np.array_equal(stored, targets):
        bad = int(np.flatnonzero(stored != targets)[0])
        raise ValueError(
            "`targets` must be the digits stored under the queried keys. "
            f"Received: targets[{bad}]={targets[bad]} where sequence {bad} "
            f"stores {stored[bad]}"
        )
    wrong = predictions != targets
    others = [set(row) - {target} for row, target in zip(digits, targets)]
    return {
        "sequences_by_pair": np.bincount(queried, minlength=num_pairs),
        "wrong_by_pair": np.bincount(queried[wrong], minlength=num_pairs),
        "wrong": int(wrong.sum()),
        "wrong_stored": sum(
            int(predictions[i]) in others[i] for i in np.flatnonzero(wrong)
        ),
        "stored_by_chance": float(
            sum(len(others[i]) for i in np.flatnonzero(wrong))
            / (num_digits - 1)
        ),
    }


def queried_pair_effects(
    sequences_by_pair: Any, wrong_by_pair: Any
) -> dict[str, float]:
    """How far the error by queried pair strays from no effect of position.

    Under the hypothesis that the error does not depend on which pair is
    queried, each pair's wrong answers are binomial with the overall error
    `p`. Two statistics measure the departure (results/findings.md,
    section 2): the largest distance of a pair's error from `p`, in
    binomial standard errors `sqrt(p (1 - p) / n_i)`, and the
    Cochran-Armitage test of a linear trend of the error in the pair's
    position `i = 1 .. K`,

        z = sum_i i (w_i - n_i p) / sqrt(p (1 - p) (sum_i n_i i**2
            - (sum_i n_i i)**2 / N)),

    positive when later (more recently stored) pairs err more. Each is
    about standard normal under the hypothesis; compare with
    `bonferroni_bound` for the number of pairs or tests.

    Args:
        sequences_by_pair: The sequences `n_i` whose query names the i-th
            pair, first pair first (`retrieval_errors`), `K >= 2` counts.
        wrong_by_pair: The wrong answers `w_i` among them.

    Returns:
        A dict with `error` (`p`), `largest_distance` and `trend_z`.

    Raises:
        ValueError: If the counts are not non-negative integers of one
            shape `(K,)` with `K >= 2`, every `n_i >= 1` and `w_i <= n_i`,
            or if every answer is right (or every one wrong), where
            neither statistic is defined.

    Example:

    With two pairs the trend test is the two-proportion z-test:

    >>> effects = queried_pair_effects([100, 100], [10, 20])
    >>> round(effects["largest_distance"], 2), round(effects["trend_z"], 2)
    (1.4, 1.98)
    """
    counts = {}
    for name, values in (
        ("sequences_by_pair", sequences_by_pair),
        ("wrong_by_pair", wrong_by_pair),
    ):
        values = np.asarray(values)
        if (
            values.ndim != 1
            or len(values) < 2
            or not np.issubdtype(values.dtype, np.integer)
            or values.min() < 0
        ):
            raise ValueError(
                f"`{name}` must be a 1-D array of at least two non-negative "
                f"integer counts. Received: {name}={values.tolist()}"
            )
        counts[name] = values.astype("float64")
    sequences, wrong = counts["sequences_by_pair"], counts["wrong_by_pair"]
    if (
        sequences.shape != wrong.shape
        or sequences.min() < 1
        or np.any(wrong > sequences)
    ):
        raise ValueError(
            "`wrong_by_pair` must count at most `sequences_by_pair` (each at "
            "least 1), pair by pair. Received: sequences_by_pair="
            f"{sequences.astype(int).tolist()}, wrong_by_pair="
            f"{wrong.astype(int).tolist()}"
        )
    error = wrong.sum() / sequences.sum()
    if error in (0.0, 1.0):
        raise ValueError(
            "The effect of the queried pair needs both right and wrong "
            f"answers. Received: {int(wrong.sum())} wrong answers of "
            f"{int(sequences.sum())}"
        )
    variance = error * (1 - error)
    distances = np.abs(wrong / sequences - error) / np.sqrt(
        variance / sequences
    )
    position = np.arange(1, len(sequences) + 1)
    spread = np.sum(sequences * position**2) - (
        np.sum(sequences * position) ** 2 / sequences.sum()
    )
    trend = np.sum(position * (wrong - error * sequences)) / math.sqrt(
        variance * spread
    )
    return {
        "error": float(error),
        "largest_distance": float(distances.max()),
        "trend_z": float(trend),
    }


def bonferroni_bound(comparisons: int, level: float = 0.05) -> float:
    """The |z| that any of `comparisons` standard normal statistics exceeds
    with probability at most `level` (two-sided, Bonferroni).

    Example:

    >>> round(bonferroni_bound(1), 2), round(bonferroni_bound(8), 2)
    (1.96, 2.73)
    """
    comparisons = check_int("comparisons", comparisons, 1)
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1). Received: level={level}")
    return statistics.NormalDist().inv_cdf(1 - level / (2 * comparisons))


def retrieval_roles(tokens: Any) -> np.ndarray:
    """The role of each stored state at the query step of retrieval data.

    A sequence of `associative_retrieval` is `K` key-digit pairs, `??` and
    a query key. At the last step (the query) the memory holds the outputs
    of the steps before it, one per token read: the role of the state
    stored at step `j` is that of token `j`, one of `RETRIEVAL_ROLES`:
    the key that is queried, the digit that follows it (the answer), the
    other keys and digits, and the two `?`.

    Args:
        tokens: Integer token ids of shape `(batch, 2 K + 3)`, as
            `associative_retrieval.load_data` returns them.

    Returns:
        A string array of shape `(batch, 2 K + 2)`.

    Raises:
        ValueError: If the sequences do not have that layout, or a query is
            not one of its sequence's keys.

    Example:

    >>> from keras_fastweights.datasets import associative_retrieval
    >>> tokens = associative_retrieval.encode("c9k8j3f1??k")[None]
    >>> retrieval_roles(tokens)[0, :4].tolist()
    ['other key', 'other value', 'queried key', 'queried value']
    """
    tokens, num_pairs, queried = _queried_pairs(tokens)
    roles = np.empty((len(tokens), 2 * num_pairs + 2), dtype="<U13")
    roles[:, 0 : 2 * num_pairs : 2] = "other key"
    roles[:, 1 : 2 * num_pairs : 2] = "other value"
    rows = np.arange(len(tokens))
    roles[rows, 2 * queried] = "queried key"
    roles[rows, 2 * queried + 1] = "queried value"
    roles[:, -2:] = ["first ?", "second ?"]
    return roles


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


def retrieval_information_bits(
    num_pairs: int = 4,
    num_keys: int = len(associative_retrieval.LETTERS),
    num_digits: int = len(associative_retrieval.DIGITS),
) -> float:
    """Bits in the key-digit bindings of one associative-retrieval sequence.

    The `num_pairs` (K) keys are distinct, drawn uniformly from `num_keys`
    letters, and the digits i.i.d. uniform, so the set of bindings
    `{key: digit}` (what answers every possible query) takes
    `C(num_keys, K) · num_digits^K` equally likely values; this is the
    base-2 logarithm of that number.

    Args:
        num_pairs: Integer >= 1, the number K of pairs.
        num_keys: Integer >= K, the number of letters keys are drawn from.
        num_digits: Integer >= 1, the number of digit values.

    Returns:
        The number of bits, a float.

    Example:

    >>> round(retrieval_information_bits(4), 2)
    27.16
    """
    num_pairs = check_int("num_pairs", num_pairs, 1)
    num_keys = check_int("num_keys", num_keys, num_pairs)
    num_digits = check_int("num_digits", num_digits, 1)
    return math.log2(math.comb(num_keys, num_pairs)) + num_pairs * math.log2(
        num_digits
    )


def welch_test(a, b) -> dict:
    """Welch's two-sample t-test of the means of `a` and `b` (unequal
    variances): what three seeds per model can say about "better".

    Returns:
        `{"t", "dof", "p"}`: the statistic, the Welch-Satterthwaite degrees
        of freedom and the two-sided p-value; `p` is 1.0 when both samples
        are constant and equal, 0.0 when constant and different.

    Raises:
        ValueError: a sample of fewer than two values.

    Example:

    >>> round(welch_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])["p"], 4)
    0.0213
    """
    from scipy import stats

    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            "Welch's test needs at least two values per sample. "
            f"Received: {len(a)} and {len(b)}"
        )
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        same = a.mean() == b.mean()
        return {
            "t": 0.0 if same else math.inf,
            "dof": math.nan,
            "p": 1.0 if same else 0.0,
        }
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    p = 2 * stats.t.sf(abs(t), dof)
    return {"t": float(t), "dof": float(dof), "p": float(p)}
