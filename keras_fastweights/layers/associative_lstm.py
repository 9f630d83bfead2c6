"""Associative LSTM cell and layer (Danihelka et al., 2016)."""

import keras
import numpy as np
from keras import ops

from keras_fastweights.layers._base import RecurrentCell
from keras_fastweights.layers._base import RecurrentLayer
from keras_fastweights.validation import check_int


def _check_units(units):
    units = check_int("units", units, 2)
    if units % 2:
        raise ValueError(
            "`units` must be even: the hidden state holds units / 2 complex "
            f"numbers as real and imaginary parts. Received: units={units}"
        )
    return units


def complex_multiply(a, b):
    """`a ⊛ b`, elementwise, for complex vectors stored as `[real, imag]`
    halves of their last axis (or given as `(real, imag)` pairs)."""
    a_re, a_im = a
    b_re, b_im = b
    return a_re * b_re - a_im * b_im, a_re * b_im + a_im * b_re


def bound(real, imag):
    """Danihelka et al.'s `bound`: each complex number divided by
    `max(1, |·|)`, so that its modulus is at most 1.

    `sqrt(max(1, |·|²))` rather than `max(1, sqrt(|·|²))`: the same value,
    with a finite gradient at 0.
    """
    scale = ops.rsqrt(ops.maximum(real * real + imag * imag, 1.0))
    return real * scale, imag * scale


def key_permutations(num_copies, complex_units, seed):
    """The fixed random permutations `P_s` of the key's complex units, one
    per copy of the memory: an int array `(num_copies, complex_units)`."""
    rng = np.random.default_rng(seed)
    return np.stack(
        [rng.permutation(complex_units) for _ in range(num_copies)]
    ).astype("int32")


@keras.saving.register_keras_serializable(package="keras_fastweights")
class AssociativeLSTMCell(RecurrentCell):
    """Cell of an Associative LSTM, an LSTM with a holographic memory.

    Implements section 3 of Danihelka, Wayne, Uria, Kalchbrenner and Graves,
    *Associative Long Short-Term Memory* (ICML 2016,
    https://arxiv.org/abs/1602.03032), the `A-LSTM` row of Table 1 of
    Ba et al. (2016). The cell's memory is `num_copies` complex vectors
    `c_s`. Each step binds a value `u` to an input key `r_i` by complex
    multiplication and adds it to every copy, under a different fixed
    permutation `P_s` of the key; the output reads all copies with an output
    key `r_o` and averages them, which averages out the interference between
    stored items. For each step, with input `x(t)` and previous output
    `h(t-1)`, all of `r, u, c, h` complex:

    ```
    ĝ_f, ĝ_i, ĝ_o, r̂_i, r̂_o, û = W_x x(t) + W_h h(t-1) + b
    g_f, g_i, g_o = σ(ĝ_f), σ(ĝ_i), σ(ĝ_o)          (real gates)
    r_i, r_o, u   = bound(r̂_i), bound(r̂_o), bound(û)
    c_s(t) = g_f ⊙ c_s(t-1) + (P_s r_i) ⊛ (g_i ⊙ u),   s = 1 .. num_copies
    h(t)   = g_o ⊙ bound((1 / num_copies) Σ_s (P_s r_o) ⊛ c_s(t))
    ```

    where `⊛` is elementwise complex multiplication, `bound` divides each
    complex number by `max(1, |·|)`, and a real gate scales the real and
    imaginary part of its complex unit alike. `h(0) = 0`, `c_s(0) = 0`.

    **Sizes.** `units` is the number of real numbers in `h`: `units / 2`
    complex units (real parts first, then imaginary parts), so `units`
    must be even. Each copy of the memory has `units / 2` complex numbers
    too. Table 1 of Ba et al. gives each model "R hidden units"; we read R
    as `units`, the width of the output that the next layer sees, as for
    the LSTM and the IRNN. The cell then has about as many weights as an
    LSTM of R units (9/2 · R outputs of `W_x`, `W_h` against the LSTM's
    4 R), whereas its memory (`num_copies · R` real numbers) does not cost
    weights, which is the point of the method.

    Args:
        units: Even integer >= 2, the number of real numbers in `h`.
        num_copies: Integer >= 1, the number of redundant copies of the
            memory. Default: `4`.
        permutation_seed: Integer >= 0, the seed of the fixed random
            permutations of the key, one per copy. Default: `0`.
        unit_forget_bias: Boolean; if `True`, the forget gate's bias starts
            at 1, as in `keras.layers.LSTMCell`. Default: `True`.
        use_bias: Boolean, whether the cell has the bias vector `b`.
        kernel_initializer: Initializer of `kernel` (`W_x`).
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel` (`W_h`).
            Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers of `kernel`, `recurrent_kernel` and `bias`.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints of `kernel`, `recurrent_kernel` and `bias`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A 2D tensor of shape `(batch, features)`, one time step.
        states: A list `[h, c]` of the previous output `h`, shape
            `(batch, units)`, and the memory, shape
            `(batch, num_copies * units)`: copy after copy, each the real
            parts of its `units / 2` complex numbers, then the imaginary.
        training: Unused; accepted for compatibility.

    State layout: `state_size = [units, num_copies * units]`; the first
    state is the output `h`.

    The rows of `kernel`'s (and `recurrent_kernel`'s) columns, in order:
    `ĝ_f, ĝ_i, ĝ_o` (`units / 2` each), then `r̂_i, r̂_o, û` (`units` each,
    real parts then imaginary parts).

    Example:

    >>> import numpy as np
    >>> import keras
    >>> from keras_fastweights import AssociativeLSTMCell
    >>> inputs = np.random.random((32, 10, 8)).astype("float32")
    >>> rnn = keras.layers.RNN(
    ...     AssociativeLSTMCell(6, num_copies=2), return_state=True)
    >>> output, h, memory = rnn(inputs)
    >>> tuple(memory.shape)  # num_copies * units real numbers
    (32, 12)
    """

    def __init__(
        self,
        units,
        num_copies=4,
        permutation_seed=0,
        *,
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = _check_units(units)
        self.num_copies = check_int("num_copies", num_copies, 1)
        self.permutation_seed = check_int(
            "permutation_seed", permutation_seed, 0
        )
        self.unit_forget_bias = bool(unit_forget_bias)
        self.complex_units = self.units // 2
        self.permutations = key_permutations(
            self.num_copies, self.complex_units, self.permutation_seed
        )
        self.state_size = [self.units, self.num_copies * self.units]
        self.output_size = self.units

    def build(self, input_shape):
        # Three real gates of units / 2, two keys and the value of units.
        projections = 3 * self.complex_units + 3 * self.units
        bias_initializer = None
        if self.unit_forget_bias:
            n, rest = self.complex_units, projections - self.complex_units

            def bias_initializer(shape, dtype=None):
                return ops.concatenate(
                    [
                        ops.ones((n,), dtype=dtype),
                        self.bias_initializer((rest,), dtype=dtype),
                    ]
                )

        self.build_slow_weights(input_shape, projections, bias_initializer)

    def call(self, inputs, states, training=False):
        h, memory = states[0], states[1]
        n, copies = self.complex_units, self.num_copies
        z = ops.matmul(inputs, self.kernel)
        z = z + ops.matmul(h, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        # Real gates of n units; complex keys and value of n units each.
        g_f, g_i, g_o = (
            ops.sigmoid(z[:, k * n : (k + 1) * n]) for k in range(3)
        )
        r_i, r_o, u = (
            bound(
                z[:, (3 + 2 * k) * n : (4 + 2 * k) * n],
                z[:, (4 + 2 * k) * n : (5 + 2 * k) * n],
            )
            for k in range(3)
        )
        # P_s r: every copy's permutation of the keys, (batch, copies, n).
        r_i = [ops.take(part, self.permutations, axis=1) for part in r_i]
        r_o = [ops.take(part, self.permutations, axis=1) for part in r_o]
        memory = ops.reshape(memory, (-1, copies, 2, n))
        c = (memory[:, :, 0], memory[:, :, 1])
        # c_s(t) = g_f ⊙ c_s(t-1) + (P_s r_i) ⊛ (g_i ⊙ u)
        value = [ops.expand_dims(g_i * part, 1) for part in u]
        written = complex_multiply(r_i, value)
        g_f = ops.expand_dims(g_f, 1)
        c = [g_f * old + new for old, new in zip(c, written)]
        # h(t) = g_o ⊙ bound((1 / copies) Σ_s (P_s r_o) ⊛ c_s(t))
        read = [ops.mean(part, axis=1) for part in complex_multiply(r_o, c)]
        h = ops.concatenate([g_o * part for part in bound(*read)], axis=-1)
        memory = ops.reshape(ops.stack(c, axis=2), (-1, copies * 2 * n))
        return h, [h, memory]

    def get_config(self):
        config = {
            "units": self.units,
            "num_copies": self.num_copies,
            "permutation_seed": self.permutation_seed,
            "unit_forget_bias": self.unit_forget_bias,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="keras_fastweights")
class AssociativeLSTM(RecurrentLayer):
    """Associative LSTM layer (Danihelka et al., 2016).

    The whole-sequence counterpart of `AssociativeLSTMCell`, as
    `keras.layers.LSTM` is of `keras.layers.LSTMCell`:
    `AssociativeLSTM(units, ...)` is
    `keras.layers.RNN(AssociativeLSTMCell(units, ...), ...)`.
    Paper: https://arxiv.org/abs/1602.03032

    Args:
        units: Even integer >= 2, the number of real numbers in `h`.
        **kwargs: The other arguments of `AssociativeLSTMCell`
            (`num_copies`, `permutation_seed`, `unit_forget_bias`,
            `use_bias` and the initializers, regularizers and constraints
            of `kernel`, `recurrent_kernel` and `bias`), which the layer
            reads back as attributes (`layer.num_copies`);
            `keras.layers.RNN`'s arguments (`return_sequences`,
            `return_state`, `go_backwards`, `stateful`, `unroll`); and base
            layer keyword arguments, such as `name` and `dtype`.

    Example:

    >>> import numpy as np
    >>> from keras_fastweights import AssociativeLSTM
    >>> inputs = np.random.random((32, 10, 8)).astype("float32")
    >>> tuple(AssociativeLSTM(6, num_copies=2)(inputs).shape)
    (32, 6)
    """

    def __init__(self, units, **kwargs):
        super().__init__(AssociativeLSTMCell, units, **kwargs)
