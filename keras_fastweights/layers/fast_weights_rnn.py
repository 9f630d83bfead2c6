"""Fast-weights recurrent layer (Ba et al., 2016)."""

import keras
from keras import ops

from keras_fastweights.layers import attention_form
from keras_fastweights.layers._cell import expose_cell_arguments
from keras_fastweights.layers.fast_weights_rnn_cell import FastWeightsRNNCell
from keras_fastweights.validation import check_rate

# The ways FastWeightsRNN can run the recurrence; see its docstring.
IMPLEMENTATIONS = ("auto", "cell", "attention", "chunked")
# The longest sequence for which "auto" takes the unchunked attention
# form, whose work grows with T² H per example (the matrix form's with
# T H²), and the steps per chunk of the "chunked" path, which keeps A(t)
# for backprop once per chunk instead of per step. Chunks of 8 rather than
# 32 train padded batches of 20-200 steps 2x as fast and compile 5x as
# fast on JAX, for 4x the stored A's. The attention form trains faster
# than chunks of 8 up to about 40 steps, with either update rule (JAX: at
# T = 35 1.8x for the Hebbian rule and 1.5x for the delta rule; at T = 43
# chunks win for the Hebbian rule; benchmarks/README.md).
ATTENTION_MAX_STEPS = 40
CHUNK_LENGTH = 8


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
        recurrent_constraint, bias_constraint, update_rule: as in
            `FastWeightsRNNCell`, whose defaults are the paper's.
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
            `"chunked"`: the attention form within chunks of 8 steps,
            with `A` carried from chunk to chunk by `keras.ops.scan` (on
            TensorFlow a bounded `keras.ops.while_loop`, which XLA can
            differentiate), so that backprop keeps `A` once per chunk
            (`batch * T / 8 * units²` floats) and long sequences compile
            to one small loop.
            `"auto"` (default): `"attention"` for `T <= 40`, else
            `"chunked"`. With an unknown `T`, every path runs as `"cell"`.
            With `update_rule="delta"` the attention forms read `A(t)`
            as an attention with keys `k(τ)` and values
            `e(τ) = h(τ) - λ A(τ-1) k(τ)` (docs/method.md, section 14).
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
        fast_learning_rate=None,
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
        update_rule="hebbian",
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
        dropout = check_rate("dropout", dropout)
        recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
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
            update_rule=update_rule,
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

    def call(self, sequences, initial_state=None, mask=None, training=False):
        # What `inner_loop` needs besides [h, A] travels in the states that
        # keras.layers.RNN.call hands it (which passes nothing else on):
        # A(0) = 0 as an empty memory, and the recurrent dropout mask as a
        # third state, which the cell's step reads and returns unchanged.
        batch_size = ops.shape(sequences)[0]
        if initial_state is None:
            if self.stateful:
                initial_state = self.states
            else:
                initial_state = [
                    attention_form.zero_state(
                        batch_size, self.units, self.compute_dtype
                    ),
                    attention_form.zero_state(
                        batch_size, 0, self.compute_dtype
                    ),
                ]
        elif not keras.tree.is_nested(initial_state):
            initial_state = [initial_state]
        initial_state = list(initial_state)
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
            ones = ops.ones((batch_size, self.units), self.compute_dtype)
            initial_state.append(
                keras.random.dropout(
                    ones, self.recurrent_dropout, seed=self.seed_generator
                )
            )
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    def get_initial_state(self, batch_size):
        if self.stateful:
            # Kept in variables, which torch assigns in place: no views.
            return super().get_initial_state(batch_size)
        return [
            attention_form.zero_state(batch_size, size, self.cell.compute_dtype)
            for size in self.cell.state_size
        ]

    def inner_loop(self, sequences, initial_state, mask, training=False):
        """`keras.layers.RNN.inner_loop` on the chosen implementation.

        `initial_state` is `[h, A]` as `call` hands it on: `A` of shape
        `(batch, 0)` stands for `A = 0` (the attention forms then skip its
        product), and a third state, if any, is the recurrent dropout mask.
        Returns `(last_output, outputs, [h, A])`.
        """
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        h, memory, *recurrent_dropout_mask = initial_state
        memory_starts_at_zero = memory.shape[-1] == 0
        if memory_starts_at_zero:
            memory = attention_form.zero_state(
                ops.shape(h)[0], self.units**2, h.dtype
            )
        implementation = self._resolve_implementation(sequences)
        if implementation == "cell":
            last_output, outputs, states = super().inner_loop(
                sequences,
                [h, memory, *recurrent_dropout_mask],
                mask,
                training=training,
            )
            return last_output, outputs, states[:2]
        return attention_form.run(
            self.cell,
            sequences,
            [h, memory],
            mask,
            chunk_length=CHUNK_LENGTH if implementation == "chunked" else None,
            memory_starts_at_zero=memory_starts_at_zero,
            recurrent_dropout_mask=(
                recurrent_dropout_mask[0] if recurrent_dropout_mask else None
            ),
            # The last A is needed for return_state and to carry a stateful
            # layer's memory to its next batch.
            return_memory=self.return_state or self.stateful,
            return_sequences=self.return_sequences,
            go_backwards=self.go_backwards,
            zero_output_for_mask=self.zero_output_for_mask,
        )

    def _resolve_implementation(self, sequences):
        timesteps = sequences.shape[1]
        if timesteps is None:
            return "cell"
        if self.implementation == "auto":
            if timesteps <= ATTENTION_MAX_STEPS:
                return "attention"
            return "chunked"
        return self.implementation

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


# The cell's arguments, which the layer takes, exposes as properties
# (`layer.units`, `layer.decay_rate`, ...) and writes into its config.
CELL_ARGUMENTS = expose_cell_arguments(FastWeightsRNN, FastWeightsRNNCell)
