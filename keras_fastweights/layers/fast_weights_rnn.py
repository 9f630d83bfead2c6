"""Fast-weights recurrent layer (Ba et al., 2016)."""

import keras
from keras import ops

from keras_fastweights.layers import attention_form
from keras_fastweights.layers._base import RecurrentLayer
from keras_fastweights.layers.fast_weights_rnn_cell import FastWeightsRNNCell
from keras_fastweights.validation import check_int
from keras_fastweights.validation import check_rate

# The ways FastWeightsRNN can run the recurrence; see its docstring.
IMPLEMENTATIONS = ("auto", "cell", "attention", "chunked")
# The chunk length of the `"chunked"` path by update rule when none is
# given: the fastest measured (benchmarks/chunk_length.py).
DEFAULT_CHUNK_LENGTHS = {"hebbian": 8, "delta": 4}


@keras.saving.register_keras_serializable(package="keras_fastweights")
class FastWeightsRNN(RecurrentLayer):
    """Recurrent layer with fast weights (Ba et al., 2016).

    The whole-sequence counterpart of `FastWeightsRNNCell`, as
    `keras.layers.LSTM` is of `keras.layers.LSTMCell`:
    `FastWeightsRNN(units, ...)` computes what
    `keras.layers.RNN(FastWeightsRNNCell(units, ...), ...)` computes, with
    dropout, and faster (see `implementation`).
    Paper: https://arxiv.org/abs/1610.06258

    Args:
        units: Positive integer, dimensionality of the hidden state.
        dropout: Float in [0, 1), the fraction of the input features to
            drop in `C x(t)`. Default: `0`.
        recurrent_dropout: Float in [0, 1), the fraction of the units of
            `h(t)` to drop in the slow recurrent term `W h(t)` of the
            boundary condition `z`. The fast memory stores the undropped
            `h(t)` (`A(t) = λ A(t-1) + η h(t) h(t)ᵀ`), and the output and
            the next state are undropped too. Default: `0`.
        seed: Optional integer, the seed of the dropout masks.
        implementation: How to run the recurrence; all give the same
            result up to float rounding. `"cell"`: `keras.layers.RNN`'s
            loop over `FastWeightsRNNCell`, which keeps `A(t)` of every
            step for backprop (`batch * T * units²` floats).
            `"attention"`: equations 3-4, `A(t) h_s` as an attention over
            the past outputs, in a loop unrolled over the (static) number
            of steps, computing the last `A` only when it is returned;
            cheapest while `T` is small beside `units`.
            `"chunked"`: the attention form within chunks of
            `chunk_length` steps, with `A` carried from chunk to chunk by
            a loop, so that backprop keeps `A` once per chunk
            (`batch * T / chunk_length * units²` floats) and long
            sequences compile to one small loop.
            `"auto"` (default): `"attention"` for
            `T <= attention_max_steps`, else `"chunked"`, and `"cell"`
            where `T` is unknown when the layer is called (as in a
            TensorFlow graph traced for sequences of any length);
            `"attention"` and `"chunked"` need `T` and raise a
            `ValueError` there.
            With `update_rule="delta"` the attention forms read `A(t)`
            as an attention with keys `k(τ)` and values
            `e(τ) = h(τ) - λ A(τ-1) k(τ)` (docs/method.md, section 14).
            A mask is honoured by every path: with mask `m(t)` in
            {0, 1}, `A(t) = λ^{m(t)} A(t-1) + m(t) η h(t) h(t)ᵀ`, so that
            the attention forms weigh a stored `h(τ)` by `η λ^n`, `n` the
            number of unmasked steps after `τ`.
        chunk_length: Positive integer, the steps per chunk of the
            `"chunked"` path. Default: `None`, which is `8` for the Hebbian
            rule and `4` for the delta rule (`DEFAULT_CHUNK_LENGTHS`): the
            fastest on JAX at 48 to 128 steps (benchmarks/README.md). For
            the Hebbian rule, chunks of 8 rather than 32 also train padded
            batches of 20-200 steps 2x as fast and compile 5x as fast, for
            4x the stored `A`'s; the delta rule's chunks solve for their
            values step by step, which costs more the longer the chunk.
        attention_max_steps: Positive integer, the longest sequence for
            which `"auto"` takes the unchunked attention form, whose work
            grows with `T² units` per example (the matrix form's with
            `T units²`). Default: `40`: up to about 40 steps the attention
            form trains faster than chunks of 8, with either update rule
            (JAX: at `T = 35` 1.8x for the Hebbian rule and 1.5x for the
            delta rule; at `T = 43` chunks win for the Hebbian rule;
            benchmarks/README.md).
        **kwargs: The arguments of `FastWeightsRNNCell` (`decay_rate`,
            `fast_learning_rate`, `inner_steps`, `activation`,
            `use_layer_norm`, `layer_norm_epsilon`, `update_rule`,
            `use_bias` and the initializers, regularizers and constraints
            of `kernel`, `recurrent_kernel` and `bias`), with the cell's
            defaults (the paper's), which the layer reads back as
            attributes (`layer.decay_rate`); `keras.layers.RNN`'s
            arguments (`return_sequences`, `return_state`, `go_backwards`,
            `stateful`, `unroll` for the `"cell"` path); and base layer
            keyword arguments, such as `name`, `dtype` and
            `activity_regularizer`.

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
    >>> layer = FastWeightsRNN(4, implementation="chunked", chunk_length=4)
    >>> tuple(layer(inputs).shape)
    (32, 4)
    """

    def __init__(
        self,
        units,
        *,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        implementation="auto",
        chunk_length=None,
        attention_max_steps=40,
        **kwargs,
    ):
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"`implementation` must be one of {IMPLEMENTATIONS}. "
                f"Received: implementation={implementation!r}"
            )
        if chunk_length is not None:
            chunk_length = check_int("chunk_length", chunk_length, 1)
        attention_max_steps = check_int(
            "attention_max_steps", attention_max_steps, 1
        )
        dropout = check_rate("dropout", dropout)
        recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        super().__init__(FastWeightsRNNCell, units, **kwargs)
        if chunk_length is None:
            chunk_length = DEFAULT_CHUNK_LENGTHS[self.cell.update_rule]
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.implementation = implementation
        self.chunk_length = chunk_length
        self.attention_max_steps = attention_max_steps
        # Only a layer with dropout has a seed generator, whose state is a
        # variable: a layer without keeps the variables it always had.
        self.seed_generator = None
        if dropout or recurrent_dropout:
            self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        # keras.layers.RNN.call's steps, run here rather than through it:
        # its `inner_loop(sequences, initial_state, mask, training)` takes
        # nothing else, and the attention forms also take, as arguments,
        # whether A starts at zero (then they skip its products) and the
        # recurrent dropout mask. The "cell" path is Keras's `inner_loop`.
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        implementation = self._resolve_implementation(sequences.shape[1])
        self._check_stateful_batch_size(sequences)
        batch_size = ops.shape(sequences)[0]
        memory_starts_at_zero = initial_state is None and not self.stateful
        if initial_state is None:
            initial_state = (
                self.states
                if self.stateful
                else self.get_initial_state(batch_size)
            )
        elif not keras.tree.is_nested(initial_state):
            initial_state = [initial_state]
        h, memory = (
            ops.convert_to_tensor(state, dtype=self.cell.compute_dtype)
            for state in initial_state
        )
        # The dropout masks are drawn here, once per batch and outside the
        # time loop (a draw inside a loop's step breaks under JAX's fit);
        # each is the same at every step.
        recurrent_dropout_mask = None
        if training and self.dropout:
            sequences = sequences * keras.random.dropout(
                ops.ones_like(sequences[:, :1]),
                self.dropout,
                seed=self.seed_generator,
            )
        if training and self.recurrent_dropout:
            recurrent_dropout_mask = keras.random.dropout(
                ops.ones((batch_size, self.cell.units), self.compute_dtype),
                self.recurrent_dropout,
                seed=self.seed_generator,
            )
        if implementation == "cell":
            # The cell reads the mask as a third state and returns it
            # unchanged (FastWeightsRNNCell, "Call arguments").
            states = [h, memory]
            if recurrent_dropout_mask is not None:
                states.append(recurrent_dropout_mask)
            last_output, outputs, states = self.inner_loop(
                sequences, states, mask, training=training
            )
            states = states[:2]
        else:
            last_output, outputs, states = attention_form.run(
                self.cell,
                sequences,
                [h, memory],
                mask,
                chunk_length=(
                    self.chunk_length if implementation == "chunked" else None
                ),
                memory_starts_at_zero=memory_starts_at_zero,
                recurrent_dropout_mask=recurrent_dropout_mask,
                # The last A is needed for return_state and to carry a
                # stateful layer's memory to its next batch.
                return_memory=self.return_state or self.stateful,
                return_sequences=self.return_sequences,
                go_backwards=self.go_backwards,
                zero_output_for_mask=self.zero_output_for_mask,
            )
        states = [ops.cast(state, self.compute_dtype) for state in states]
        if self.stateful:
            for variable, state in zip(self.states, states):
                variable.assign(state)
        output = last_output
        if self.return_sequences:
            output = outputs
        output = ops.cast(output, self.compute_dtype)
        if self.return_state:
            return output, *states
        return output

    def _check_stateful_batch_size(self, sequences):
        """keras.layers.RNN.call's check of a stateful layer's batch."""
        expected = self._expected_batch_size
        if not self.stateful or expected is None:
            return
        if sequences.shape[0] is not None and sequences.shape[0] != expected:
            raise ValueError(
                "If an RNN is stateful, the batch size of the input "
                "sequences must be the same as the batch size of the "
                f"initial state. Expected batch size: {expected}. Received: "
                f"sequences of shape {tuple(sequences.shape)}"
            )

    def get_initial_state(self, batch_size):
        if self.stateful:
            # Kept in variables, which torch assigns in place: no views.
            return super().get_initial_state(batch_size)
        return [
            attention_form.zero_state(batch_size, size, self.cell.compute_dtype)
            for size in self.cell.state_size
        ]

    def _resolve_implementation(self, timesteps):
        """The implementation that runs sequences of `timesteps` steps
        (`None`: unknown when the layer is called)."""
        if timesteps is None:
            if self.implementation in ("attention", "chunked"):
                raise ValueError(
                    f"implementation={self.implementation!r} needs the "
                    "number of timesteps, which is unknown when layer "
                    f"{self.name!r} is called (as in a TensorFlow graph "
                    "traced for sequences of any length). Use "
                    "implementation='auto' (which then runs the cell loop) "
                    "or 'cell', or give the input a static length, e.g. "
                    "keras.Input((timesteps, features)). Received: "
                    "timesteps=None"
                )
            if self.unroll:
                raise ValueError(
                    "Cannot unroll a RNN whose number of timesteps is "
                    "unknown: give the input a static length, e.g. "
                    "keras.Input((timesteps, features)). Received: "
                    "timesteps=None"
                )
            return "cell"
        if self.implementation == "auto":
            if timesteps <= self.attention_max_steps:
                return "attention"
            return "chunked"
        return self.implementation

    def get_config(self):
        config = {
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
            "implementation": self.implementation,
            "chunk_length": self.chunk_length,
            "attention_max_steps": self.attention_max_steps,
        }
        return {**super().get_config(), **config}
