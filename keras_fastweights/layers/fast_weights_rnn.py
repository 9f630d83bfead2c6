"""Fast-weights recurrent cell and layer (Ba et al., 2016)."""

import numbers

import keras
import numpy as np
from keras import ops

from keras_fastweights._validation import check_float
from keras_fastweights._validation import check_int
from keras_fastweights._validation import get_activation
from keras_fastweights.layers._cell import RecurrentCell


def _dot(x, kernel):
    """`x @ kernel` over the last axis of `x`.

    `ops.matmul`, which TensorFlow runs several times faster than
    `ops.einsum` at these sizes (its oneDNN einsum kernel costs ~0.2 ms a
    call; benchmarks/README.md), except in float64, which Keras's torch
    `matmul` computes in float32.
    """
    if keras.backend.standardize_dtype(x.dtype) == "float64":
        return ops.einsum("...i,ij->...j", x, kernel)
    return ops.matmul(x, kernel)


def recall_matmul(history, weights, h_s):
    """`Σ_τ weights[τ] h(τ) (h(τ)ᵀ h_s)` for `history` `(B, t+1, H)`, as two
    batched `ops.matmul`."""
    scores = ops.matmul(history, ops.expand_dims(h_s, -1))
    scores = scores * ops.expand_dims(weights, -1)
    return ops.squeeze(ops.matmul(ops.transpose(scores, (0, 2, 1)), history), 1)


def recall_products(history, weights, h_s):
    """The same, as elementwise products and `ops.sum`."""
    scores = ops.sum(history * ops.expand_dims(h_s, 1), axis=-1)
    scores = ops.expand_dims(scores * weights, -1)
    return ops.sum(scores * history, axis=1)


def recall_einsum(history, weights, h_s):
    """The same, as two `ops.einsum`."""
    scores = ops.einsum("bti,bi->bt", history, h_s)
    return ops.einsum("bt,bti->bi", scores * weights, history)


# Each backend's fastest form at these sizes (benchmarks/contractions.py;
# benchmarks/README.md has the figures): TensorFlow's oneDNN einsum kernel
# costs ~0.2 ms a call; torch runs eagerly, op by op; XLA fuses JAX's einsum.
# (Keras's torch `matmul` would also compute float64 in float32.)
RECALL_BY_BACKEND = {"tensorflow": recall_matmul, "torch": recall_products}


def _recall(history, weights, h_s):
    """The attention read-out of eq. 3 in the current backend's form."""
    form = RECALL_BY_BACKEND.get(keras.backend.backend(), recall_einsum)
    return form(history, weights, h_s)


@keras.saving.register_keras_serializable(package="keras_fastweights")
class ScaledIdentity(keras.initializers.Identity):
    """`keras.initializers.Identity` whose config keeps its `gain`.

    Keras 3.15's `Identity` has no `get_config`, so a serialized
    `Identity(gain=0.05)` comes back as `Identity(gain=1.0)`.
    """

    def get_config(self):
        return {"gain": self.gain}


def _get_recurrent_initializer(initializer):
    if initializer is None:
        return ScaledIdentity(gain=0.05)
    initializer = keras.initializers.get(initializer)
    if type(initializer) is keras.initializers.Identity:
        return ScaledIdentity(gain=initializer.gain)
    return initializer


@keras.saving.register_keras_serializable(package="keras_fastweights")
class FastWeightsRNNCell(RecurrentCell):
    """Cell of a recurrent network with a fast associative memory.

    Implements equations (1)-(4) of Ba, Hinton, Mnih, Leibo and Ionescu,
    *Using Fast Weights to Attend to the Recent Past* (NIPS 2016,
    https://arxiv.org/abs/1610.06258). Besides the slow weights learned by
    gradient descent (`C`, `W`, `b`), every sequence carries a fast-weight
    matrix `A` that stores outer products of its recent hidden vectors and
    decays over time. For each step, with input `x(t)` and previous output
    `h(t)`:

    ```
    A(t)      = λ A(t-1) + η h(t) h(t)ᵀ                 (memory update)
    z         = C x(t) + W h(t) + b                     (boundary condition)
    h_0       = f(z)
    h_{s+1}   = f(LN(z + A(t) h_s)),  s = 0 .. S-1      (inner loop)
    h(t+1)    = h_S
    ```

    with `h(0) = 0`, `A(0) = 0` and `LN` the layer normalization of each
    example over its hidden units. Because `A(t)` is a decayed sum of outer
    products, `A(t) h_s = η Σ_τ λ^{t-τ} h(τ) (h(τ)ᵀ h_s)`: an attention over
    the sequence's past hidden states.

    This class processes one step within the whole time sequence input,
    whereas `keras_fastweights.FastWeightsRNN` processes the whole sequence.

    Args:
        units: Positive integer, dimensionality of the hidden state `h`.
        decay_rate: Float in [0, 1], the decay λ of the fast memory.
            Default: `0.95` (the paper's value).
        fast_learning_rate: Non-negative float, the fast learning rate η.
            Default: `0.5`.
        inner_steps: Integer >= 1, the number S of inner-loop iterations.
            Default: `1`.
        activation: Activation function `f`. Default: `"relu"`.
        use_layer_norm: Boolean, whether the inner loop applies layer
            normalization (with learned `gamma` and `beta`). Default: `True`.
        layer_norm_epsilon: Small positive float added to the variance in
            layer normalization. Default: `1e-3`, as in
            `keras.layers.LayerNormalization`.
        use_bias: Boolean, whether the cell has the bias vector `b`.
        kernel_initializer: Initializer of `kernel` (`C`), applied to the
            inputs. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel` (`W`).
            Default: identity scaled by 0.05, as in the paper's reference
            implementations.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers of `kernel`, `recurrent_kernel` and `bias`.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints of `kernel`, `recurrent_kernel` and `bias`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    The cell has no dropout arguments: `keras_fastweights.FastWeightsRNN`
    has `dropout` and `recurrent_dropout`. Keras gives cells dropout
    through `DropoutRNNCell`, which is private API (`keras.src`), and a
    mask drawn inside the step (what a cell alone could do) breaks under
    JAX's `fit`; the layer draws its masks once per batch, outside the loop.

    Call arguments:
        inputs: A 2D tensor of shape `(batch, features)`, one time step.
        states: A list `[h, A]` of the previous output `h`, shape
            `(batch, units)`, and the fast memory `A(t-1)` flattened
            row-major to shape `(batch, units * units)`.
        training: Unused; accepted for compatibility.

    State layout: `state_size = [units, units * units]`; the first state is
    the output `h`, the second the flattened fast-weight matrix `A`.

    Example:

    >>> import numpy as np
    >>> import keras
    >>> from keras_fastweights import FastWeightsRNNCell
    >>> inputs = np.random.random((32, 10, 8)).astype("float32")
    >>> rnn = keras.layers.RNN(FastWeightsRNNCell(4), return_state=True)
    >>> output, h, memory = rnn(inputs)
    >>> tuple(output.shape), tuple(h.shape), tuple(memory.shape)
    ((32, 4), (32, 4), (32, 16))
    """

    def __init__(
        self,
        units,
        decay_rate=0.95,
        fast_learning_rate=0.5,
        inner_steps=1,
        activation="relu",
        use_layer_norm=True,
        layer_norm_epsilon=1e-3,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units, 1)
        self.decay_rate = check_float("decay_rate", decay_rate, 0.0, 1.0)
        self.fast_learning_rate = check_float(
            "fast_learning_rate", fast_learning_rate, 0.0
        )
        self.inner_steps = check_int("inner_steps", inner_steps, 1)
        self.activation = get_activation(activation)
        self.use_layer_norm = bool(use_layer_norm)
        self.layer_norm_epsilon = check_float(
            "layer_norm_epsilon", layer_norm_epsilon, 0.0
        )
        self.use_bias = bool(use_bias)

        self._set_weight_options(
            kernel_initializer=kernel_initializer,
            recurrent_initializer=_get_recurrent_initializer(
                recurrent_initializer
            ),
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
        )

        self.state_size = [self.units, self.units * self.units]
        self.output_size = self.units
        # Set by FastWeightsRNN around its loop while it trains with
        # recurrent dropout: the mask that W h(t) sees (see `call`).
        self._recurrent_dropout_mask = None

    def build(self, input_shape):
        self._build_slow_weights(input_shape, self.units, self.use_bias)
        self.gamma = self.beta = None
        if self.use_layer_norm:
            self.gamma = self.add_weight(
                name="gamma", shape=(self.units,), initializer="ones"
            )
            self.beta = self.add_weight(
                name="beta", shape=(self.units,), initializer="zeros"
            )

    def call(self, inputs, states, training=False):
        h, memory = states[0], states[1]
        H = self.units
        # Eq. 1, A(t) = λ A(t-1) + η h(t) h(t)ᵀ: the memory that computes
        # h(t+1) already holds h(t).
        A = self.decay_rate * ops.reshape(memory, (-1, H, H))
        A = A + self.fast_learning_rate * ops.einsum("bi,bj->bij", h, h)
        # Sustained boundary condition z = C x(t) + W h(t) + b.
        z = _dot(inputs, self.kernel) + _dot(
            self._recurrent_input(h), self.recurrent_kernel
        )
        if self.use_bias:
            z = z + self.bias
        # Preliminary vector h_0 = f(z), then the inner loop of eq. 4
        # (eq. 2 with layer normalization): h_{s+1} = f(LN(z + A(t) h_s)).
        h_s = self.activation(z)
        for _ in range(self.inner_steps):
            h_s = self.activation(
                self._layer_norm(z + ops.einsum("bij,bj->bi", A, h_s))
            )
        return h_s, [h_s, ops.reshape(A, (-1, H * H))]

    def _recurrent_input(self, h):
        """`h(t)` as `W h(t)` reads it: times FastWeightsRNN's recurrent
        dropout mask while that layer trains with one. The memory stores
        the undropped `h(t)`."""
        if self._recurrent_dropout_mask is None:
            return h
        return h * self._recurrent_dropout_mask

    def _layer_norm(self, x):
        """Normalizes each example over its hidden units (not the batch)."""
        if not self.use_layer_norm:
            return x
        # Statistics in at least float32 under mixed precision, as
        # keras.layers.LayerNormalization does.
        dtype = keras.backend.standardize_dtype(x.dtype)
        stats_dtype = "float32" if dtype in ("float16", "bfloat16") else dtype
        # Sums rather than ops.mean/ops.var, which compute in float32 on JAX
        # even for float64 inputs.
        x = ops.cast(x, stats_dtype)
        mean = ops.sum(x, axis=-1, keepdims=True) / self.units
        centered = x - mean
        variance = ops.sum(ops.square(centered), axis=-1, keepdims=True)
        variance = variance / self.units
        x = centered * ops.rsqrt(variance + self.layer_norm_epsilon)
        x = x * ops.cast(self.gamma, stats_dtype)
        x = x + ops.cast(self.beta, stats_dtype)
        return ops.cast(x, dtype)

    def get_config(self):
        config = {
            "units": self.units,
            "decay_rate": self.decay_rate,
            "fast_learning_rate": self.fast_learning_rate,
            "inner_steps": self.inner_steps,
            "activation": keras.activations.serialize(self.activation),
            "use_layer_norm": self.use_layer_norm,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "use_bias": self.use_bias,
            **self._weight_options_config(),
        }
        return {**super().get_config(), **config}


# The ways FastWeightsRNN can run the recurrence; see its docstring.
IMPLEMENTATIONS = ("auto", "cell", "attention", "chunked")
# Steps per chunk of the "chunked" path, and the longest sequence for
# which "auto" takes the unchunked attention form. The attention form's
# work grows with T² H per example, the matrix form's with T H²; the
# chunked form keeps A(t) for backprop once per chunk instead of per step.
CHUNK_LENGTH = 32

# The cell arguments that FastWeightsRNN forwards to its cell, in order.
CELL_ARGUMENTS = (
    "units",
    "decay_rate",
    "fast_learning_rate",
    "inner_steps",
    "activation",
    "use_layer_norm",
    "layer_norm_epsilon",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
)


@keras.saving.register_keras_serializable(package="keras_fastweights")
class FastWeightsRNN(keras.layers.RNN):
    """Recurrent layer with fast weights (Ba et al., 2016).

    The whole-sequence counterpart of `FastWeightsRNNCell`, as
    `keras.layers.LSTM` is of `keras.layers.LSTMCell`:
    `FastWeightsRNN(units, ...)` behaves like
    `keras.layers.RNN(FastWeightsRNNCell(units, ...), ...)`, with dropout.
    Paper: https://arxiv.org/abs/1610.06258

    Args:
        units: Positive integer, dimensionality of the hidden state.
        decay_rate, fast_learning_rate, inner_steps, activation,
        use_layer_norm, layer_norm_epsilon, use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, kernel_regularizer,
        recurrent_regularizer, bias_regularizer, kernel_constraint,
        recurrent_constraint, bias_constraint: as in `FastWeightsRNNCell`,
            whose defaults are the paper's.
        dropout: Float in [0, 1), the fraction of the input features to
            drop in `C x(t)`. Default: `0`.
        recurrent_dropout: Float in [0, 1), the fraction of the units of
            `h(t)` to drop in the slow recurrent term `W h(t)` of the
            boundary condition `z`. The fast memory stores the undropped
            `h(t)` (`A(t) = λ A(t-1) + η h(t) h(t)ᵀ`), and the output and
            the next state are undropped too. Default: `0`.
        seed: Optional integer, the seed of the dropout masks.
        activity_regularizer: Regularizer applied to the layer's output.
        return_sequences: Boolean, whether to return the whole output
            sequence or only the last output. Default: `False`.
        return_state: Boolean, whether to also return the last states
            `h` and `A` (flattened to `units * units`). Default: `False`.
        go_backwards: Boolean, whether to process the sequence backwards
            and return the reversed sequence. Default: `False`.
        stateful: Boolean, whether the last states of each batch are the
            initial states of the next batch. Default: `False`.
        unroll: Boolean, whether to unroll the time loop of the `"cell"`
            path (faster for short sequences, more memory).
            Default: `False`.
        implementation: How to run the recurrence; all give the same
            result up to float rounding. `"cell"`: `keras.layers.RNN`'s
            loop over `FastWeightsRNNCell`, which keeps `A(t)` of every
            step for backprop (`batch * T * units²` floats).
            `"attention"`: equations 3-4, `A(t) h_s` as an attention over
            the past outputs, in a loop unrolled over the (static) number
            of steps, computing the last `A` only when it is returned;
            cheapest while `T` is small beside `units`.
            `"chunked"`: the attention form within chunks of 32 steps,
            with `A` carried from chunk to chunk by `keras.ops.scan`, so
            that backprop keeps `A` once per chunk (`batch * T / 32 *
            units²` floats) and long sequences compile to one small loop.
            `"auto"` (default): `"attention"` for `T <= 32`, else
            `"chunked"`. With an unknown `T`, every path runs as `"cell"`.
            A mask is honoured by every path: with mask `m(t)` in
            {0, 1}, `A(t) = λ^{m(t)} A(t-1) + m(t) η h(t) h(t)ᵀ`, so that
            the attention forms weigh a stored `h(τ)` by `η λ^n`, `n` the
            number of unmasked steps after `τ`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        sequences: A 3D tensor of shape `(batch, timesteps, features)`.
        mask: Optional boolean tensor of shape `(batch, timesteps)`: a
            masked step leaves `h` and `A` unchanged (it neither stores
            `h` in `A` nor decays `A`), and its output repeats the current
            `h` (zeros with `zero_output_for_mask`, which
            `keras.layers.Bidirectional` sets). One difference: on
            TensorFlow and torch, Keras's own loop (`"cell"`) outputs zeros,
            not the `h` of `initial_state`, at the masked steps before the
            first unmasked one.
        training: Whether to apply `dropout` and `recurrent_dropout`: one
            mask of each per sequence, drawn outside the time loop, the
            same at every step (as in `keras.layers.LSTM`). In inference
            the layer is deterministic.
        initial_state: Optional list `[h, A]` of initial states.

    Example:

    >>> import numpy as np
    >>> from keras_fastweights import FastWeightsRNN
    >>> inputs = np.random.random((32, 10, 8)).astype("float32")
    >>> tuple(FastWeightsRNN(4)(inputs).shape)
    (32, 4)
    >>> whole, h, memory = FastWeightsRNN(
    ...     4, return_sequences=True, return_state=True)(inputs)
    >>> tuple(whole.shape), tuple(h.shape), tuple(memory.shape)
    ((32, 10, 4), (32, 4), (32, 16))
    >>> mask = np.arange(10) < np.arange(32)[:, None] % 10 + 1
    >>> tuple(FastWeightsRNN(4, dropout=0.1)(inputs, mask=mask).shape)
    (32, 4)
    """

    def __init__(
        self,
        units,
        decay_rate=0.95,
        fast_learning_rate=0.5,
        inner_steps=1,
        activation="relu",
        use_layer_norm=True,
        layer_norm_epsilon=1e-3,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        activity_regularizer=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        implementation="auto",
        **kwargs,
    ):
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"`implementation` must be one of {IMPLEMENTATIONS}. "
                f"Received: implementation={implementation!r}"
            )
        dropout = _check_rate("dropout", dropout)
        recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        cell = FastWeightsRNNCell(
            units,
            decay_rate=decay_rate,
            fast_learning_rate=fast_learning_rate,
            inner_steps=inner_steps,
            activation=activation,
            use_layer_norm=use_layer_norm,
            layer_norm_epsilon=layer_norm_epsilon,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="fast_weights_rnn_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.implementation = implementation
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        # Only a layer with dropout has a seed generator, whose state is a
        # variable: a layer without keeps the variables it always had.
        self.seed_generator = None
        if dropout or recurrent_dropout:
            self.seed_generator = keras.random.SeedGenerator(seed)
        self._memory_starts_at_zero = False

    def call(self, sequences, initial_state=None, mask=None, training=False):
        # Whether A(0) = 0, which the attention form assumes.
        self._memory_starts_at_zero = initial_state is None and not (
            self.stateful
        )
        # The dropout masks are drawn here, once per batch and outside the
        # time loop (a draw inside a loop's step breaks under JAX's fit);
        # each is the same at every step.
        if training and self.dropout:
            sequences = sequences * keras.random.dropout(
                ops.ones_like(sequences[:, :1]),
                self.dropout,
                seed=self.seed_generator,
            )
        if training and self.recurrent_dropout:
            ones = ops.ones(
                (ops.shape(sequences)[0], self.units), self.compute_dtype
            )
            self.cell._recurrent_dropout_mask = keras.random.dropout(
                ones, self.recurrent_dropout, seed=self.seed_generator
            )
        try:
            return super().call(
                sequences,
                initial_state=initial_state,
                mask=mask,
                training=training,
            )
        finally:
            self.cell._recurrent_dropout_mask = None

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        implementation = self._resolve_implementation(sequences)
        if implementation == "cell":
            return super().inner_loop(
                sequences, initial_state, mask, training=training
            )
        return self._attention_loop(
            sequences, initial_state, mask, implementation == "chunked"
        )

    def _resolve_implementation(self, sequences):
        timesteps = sequences.shape[1]
        if timesteps is None:
            return "cell"
        if self.implementation == "auto":
            return "attention" if timesteps <= CHUNK_LENGTH else "chunked"
        return self.implementation

    def _attention_loop(self, sequences, initial_state, mask, chunked):
        """Equations 3-4 over the whole sequence, or chunk by chunk."""
        cell = self.cell
        if mask is not None:
            mask = ops.cast(mask, "bool")
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=1)
            if mask is not None:
                mask = ops.flip(mask, axis=1)
        # C x(t) + b of all steps in one product, outside the loop.
        projected = _dot(sequences, cell.kernel)
        if cell.use_bias:
            projected = projected + cell.bias
        h, memory = initial_state
        # The last A is needed for return_state and to carry a stateful
        # layer's memory to its next batch.
        return_memory = self.return_state or self.stateful
        timesteps, length = projected.shape[1], CHUNK_LENGTH
        chunks = timesteps // length if chunked else 0
        outputs = []
        if chunks:
            # A loop over chunks of `length` steps that keeps only the A
            # entering each chunk (ops.scan rather than a Python loop, so
            # that long sequences compile to one small loop body).
            def step(carry, window):
                h, memory, _ = carry
                chunk, chunk_mask = (window, None) if mask is None else window
                carry = self._attention_chunk(
                    chunk, chunk_mask, h, memory, True
                )
                # Keras's TensorFlow scan requires the per-step outputs to
                # have the structure and shapes of the carry.
                return carry, carry

            def windows(steps):
                """(batch, chunks * length, ...) -> (chunks, batch, length,
                ...)."""
                shape = (-1, chunks, length, *steps.shape[2:])
                steps = ops.reshape(steps[:, : chunks * length], shape)
                return ops.moveaxis(steps, 1, 0)

            xs = windows(projected)
            if mask is not None:
                xs = (xs, windows(mask))
            no_outputs = ops.zeros_like(projected[:, :length])
            (h, memory, _), (_, _, chunk_outputs) = ops.scan(
                step, (h, memory, no_outputs), xs
            )
            chunk_outputs = ops.transpose(chunk_outputs, (1, 0, 2, 3))
            outputs.append(
                ops.reshape(chunk_outputs, (-1, chunks * length, self.units))
            )
        elif self._memory_starts_at_zero:
            # A(0) = 0: skip its product.
            memory = None
        if chunks * length < timesteps:
            tail_mask = None if mask is None else mask[:, chunks * length :]
            h, memory, tail = self._attention_chunk(
                projected[:, chunks * length :],
                tail_mask,
                h,
                memory,
                return_memory,
            )
            outputs.append(tail)
        if memory is None or not return_memory:
            memory = ops.zeros((ops.shape(h)[0], self.units**2), h.dtype)
        last_output = h
        if mask is not None and self.zero_output_for_mask:
            last_output = ops.where(mask[:, -1:], h, ops.zeros_like(h))
        if self.return_sequences:
            outputs = ops.concatenate(outputs, axis=1)
        else:
            outputs = ops.expand_dims(last_output, axis=1)
        return last_output, outputs, [h, memory]

    def _attention_chunk(self, projected, mask, h, memory, return_memory):
        """Runs the steps of `projected` (`C x(t) + b`, unrolled) from the
        state `[h, memory]`, where `memory=None` stands for `A = 0`, and
        `mask` is `None` or the steps' boolean mask, `(batch, steps)`.

        Returns the last `h`, the last (flattened) `A` or, unless
        `return_memory`, `None`, and the outputs of all steps.
        """
        cell = self.cell
        units = self.units
        if memory is not None:
            memory = ops.reshape(memory, (-1, units, units))
        weights, memory_decay = self._memory_weights(
            mask, projected.shape[1], h.dtype
        )
        # h(0), ..., h(t): (B, t+1, H), the h entering each step; that of a
        # masked step has weight 0.
        history = ops.expand_dims(h, axis=1)
        outputs = []
        for t in range(projected.shape[1]):
            z = projected[:, t] + _dot(
                cell._recurrent_input(h), cell.recurrent_kernel
            )
            h_s = cell.activation(z)
            for _ in range(cell.inner_steps):
                # A(t) h_s = λ^{t+1} A(0) h_s
                #            + η Σ_τ λ^{t-τ} h(τ) (h(τ)ᵀ h_s)    (eq. 3)
                # with t - τ, t + 1 counting only unmasked steps.
                recall = _recall(history, weights[..., t, : t + 1], h_s)
                if memory is not None:
                    recall = recall + memory_decay[:, t : t + 1] * ops.einsum(
                        "bij,bj->bi", memory, h_s
                    )
                h_s = cell.activation(cell._layer_norm(z + recall))
            if mask is None:
                h = output = h_s
            else:
                # A masked step keeps h; its output repeats h or is zero.
                h = ops.where(mask[:, t : t + 1], h_s, h)
                output = h
                if self.zero_output_for_mask:
                    output = ops.where(mask[:, t : t + 1], h, ops.zeros_like(h))
            outputs.append(output)
            history = ops.concatenate(
                [history, ops.expand_dims(h, axis=1)], axis=1
            )
        outputs = ops.stack(outputs, axis=1)
        if not return_memory:
            return h, None, outputs
        # A(T) = λ^T A(0) + η Σ_τ λ^{T-1-τ} h(τ) h(τ)ᵀ over τ = 0 .. T-1:
        # the last step's weights.
        past = history[:, :-1]
        last_weights = ops.expand_dims(weights[..., -1, :], -1)
        new_memory = ops.einsum("bti,btj->bij", past * last_weights, past)
        if memory is not None:
            last_decay = ops.expand_dims(memory_decay[:, -1:], -1)
            new_memory = new_memory + last_decay * memory
        return h, ops.reshape(new_memory, (-1, units * units)), outputs

    def _memory_weights(self, mask, steps, dtype):
        """The weights of eq. 3 for `steps` steps with `mask`.

        Returns `weights[..., t, τ] = η λ^{n(τ, t]} [τ unmasked]`, the
        weight of the `h` entering step `τ` in the memory of step `t`
        (`(steps, steps)` without a mask, else `(batch, steps, steps)`),
        and `memory_decay[:, t] = λ^{n[0, t]}`, that of the memory `A`
        entering the first step (`(1, steps)` or `(batch, steps)`), where
        `n` counts the unmasked steps in an interval (entries `τ > t` are
        unused).
        """
        decay, eta = self.cell.decay_rate, self.cell.fast_learning_rate
        if mask is None:
            count = np.arange(1, steps + 1)
            gaps = np.maximum(count[:, None] - count, 0)
            weights = ops.convert_to_tensor(eta * decay**gaps, dtype)
            memory_decay = ops.convert_to_tensor(decay ** count[None], dtype)
            return weights, memory_decay
        count = ops.cumsum(ops.cast(mask, "int32"), axis=1)
        gaps = ops.maximum(ops.expand_dims(count, 2) - count[:, None], 0)
        decay = ops.convert_to_tensor(decay, dtype)
        stored = ops.cast(mask, dtype)[:, None]
        weights = eta * ops.power(decay, ops.cast(gaps, dtype)) * stored
        memory_decay = ops.power(decay, ops.cast(count, dtype))
        return weights, memory_decay

    def get_config(self):
        cell_config = self.cell.get_config()
        config = {name: cell_config[name] for name in CELL_ARGUMENTS}
        config["dropout"] = self.dropout
        config["recurrent_dropout"] = self.recurrent_dropout
        config["seed"] = self.seed
        config["implementation"] = self.implementation
        config["activity_regularizer"] = keras.regularizers.serialize(
            self.activity_regularizer
        )
        base_config = super().get_config()
        del base_config["cell"]
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_rate(name, value):
    """`value` as a `float`, if it is a real number (not a bool) in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a float in [0, 1). "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"`{name}` must be a float in [0, 1). Received: {name}={value}"
        )
    return float(value)


def _cell_property(name):
    return property(
        lambda self: getattr(self.cell, name),
        doc=f"The cell's `{name}` (see `FastWeightsRNNCell`).",
    )


# Expose the cell's arguments (layer.units, layer.decay_rate, ...) as
# keras.layers.LSTM exposes LSTMCell's.
for _name in CELL_ARGUMENTS:
    setattr(FastWeightsRNN, _name, _cell_property(_name))
del _name
