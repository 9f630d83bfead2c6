"""Fast-weights recurrent cell (Ba et al., 2016)."""

import keras
from keras import ops

from keras_fastweights.layers import kernels
from keras_fastweights.layers._base import RecurrentCell
from keras_fastweights.validation import check_float
from keras_fastweights.validation import check_int
from keras_fastweights.validation import get_activation


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


# The fast memory's update rules: the paper's Hebbian outer product, and
# the delta rule (Widrow-Hoff; Schlag, Irie and Schmidhuber, 2021).
UPDATE_RULES = ("hebbian", "delta")
# The default fast learning rate η of each rule (see the class docstring).
DEFAULT_FAST_LEARNING_RATES = {"hebbian": 0.5, "delta": 1.0}
# Added to hᵀh before the delta rule normalises its key k = h / |h|.
DELTA_KEY_EPSILON = 1e-6


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

    With `update_rule="delta"` the memory update is instead the delta rule
    (Widrow-Hoff; Schlag, Irie and Schmidhuber, ICML 2021,
    https://arxiv.org/abs/2102.11174), one gradient step of size η on
    `½ ‖A k(t) - h(t)‖²` from the decayed memory:

    ```
    k(t) = h(t) / sqrt(h(t)ᵀ h(t) + 1e-6)
    A(t) = λ A(t-1) (I - η k(t) k(t)ᵀ) + η h(t) k(t)ᵀ
    ```

    It writes only the difference between `h(t)` and what the memory
    already returns for its key, so that patterns resembling each other do
    not pile up in the read-out. The hidden state, the inner loop and the
    layer normalization are the same for both rules.

    This class processes one step within the whole time sequence input,
    whereas `keras_fastweights.FastWeightsRNN` processes the whole sequence.

    Args:
        units: Positive integer, dimensionality of the hidden state `h`.
        decay_rate: Float in [0, 1], the decay λ of the fast memory.
            Default: `0.95` (the paper's value).
        fast_learning_rate: Non-negative float, the fast learning rate η;
            in [0, 1] with the delta rule, where it is a step size on a
            unit key. Default (`None`): `0.5` for the Hebbian rule (the
            paper's value), `1.0` for the delta rule: with η = 1 the
            memory returns the last pattern exactly along its key,
            `A(t) k(t) = h(t)` (up to the 1e-6 in `k`) whatever λ, the
            property the rule is for; a smaller η keeps part of what the
            key recalled before.
        inner_steps: Integer >= 1, the number S of inner-loop iterations.
            Default: `1`.
        activation: Activation function `f`. Default: `"relu"`.
        use_layer_norm: Boolean, whether the inner loop applies layer
            normalization (with learned `gamma` and `beta`). Default: `True`.
        layer_norm_epsilon: Small positive float added to the variance in
            layer normalization. Default: `1e-3`, as in
            `keras.layers.LayerNormalization`.
        recurrent_initializer: Initializer of `recurrent_kernel` (`W`).
            Default: identity scaled by 0.05, as in the paper's reference
            implementations.
        update_rule: `"hebbian"` (default, the paper's
            `A(t) = λ A(t-1) + η h(t) h(t)ᵀ`) or `"delta"` (above), one of
            `UPDATE_RULES`.
        use_bias: Boolean, whether the cell has the bias vector `b`.
        kernel_initializer: Initializer of `kernel` (`C`), applied to the
            inputs. Default: `"glorot_uniform"`.
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
            row-major to shape `(batch, units * units)`; or `[h, A, r]`
            with a recurrent-dropout mask `r` of shape `(batch, units)`:
            `W h(t)` then reads `h(t) ⊙ r` (the memory stores the
            undropped `h(t)`), and the step returns `r` unchanged as its
            third state. `keras.layers.RNN`'s loop hands a cell its states
            and nothing else that varies by sequence, so
            `FastWeightsRNN`'s `"cell"` implementation passes its mask
            there; its attention forms call the step's parts
            (`input_drive`, `boundary_condition`, `settle`) with the mask
            as an argument.
        training: Unused; accepted for compatibility.
        return_iterates: Whether to also return the boundary condition
            `z` and the inner loop's iterates (see `call`).

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
        fast_learning_rate=None,
        inner_steps=1,
        activation="relu",
        use_layer_norm=True,
        layer_norm_epsilon=1e-3,
        *,
        recurrent_initializer=None,
        update_rule="hebbian",
        **kwargs,
    ):
        super().__init__(
            recurrent_initializer=_get_recurrent_initializer(
                recurrent_initializer
            ),
            **kwargs,
        )
        self.units = check_int("units", units, 1)
        if update_rule not in UPDATE_RULES:
            raise ValueError(
                f"`update_rule` must be one of {UPDATE_RULES}. "
                f"Received: update_rule={update_rule!r}"
            )
        self.update_rule = update_rule
        self.decay_rate = check_float("decay_rate", decay_rate, 0.0, 1.0)
        if fast_learning_rate is None:
            fast_learning_rate = DEFAULT_FAST_LEARNING_RATES[update_rule]
        self.fast_learning_rate = check_float(
            "fast_learning_rate",
            fast_learning_rate,
            0.0,
            1.0 if update_rule == "delta" else None,
        )
        self.inner_steps = check_int("inner_steps", inner_steps, 1)
        self.activation = get_activation(activation)
        self.use_layer_norm = bool(use_layer_norm)
        self.layer_norm_epsilon = check_float(
            "layer_norm_epsilon", layer_norm_epsilon, 0.0
        )
        self.state_size = [self.units, self.units * self.units]
        self.output_size = self.units

    def build(self, input_shape):
        self.build_slow_weights(input_shape, self.units)
        self.gamma = self.beta = None
        if self.use_layer_norm:
            self.gamma = self.add_weight(
                name="gamma", shape=(self.units,), initializer="ones"
            )
            self.beta = self.add_weight(
                name="beta", shape=(self.units,), initializer="zeros"
            )

    def call(self, inputs, states, training=False, return_iterates=False):
        """One step: `(h(t+1), [h(t+1), A(t)])`, as `keras.layers.RNN`
        calls it (`[h(t+1), A(t), r]` with a recurrent dropout mask `r` as
        third state). With `return_iterates=True` (what
        `keras_fastweights.inspection` asks for), also the boundary
        condition `z` and the inner loop's iterates `[h_0, ..., h_S]`.

        The step is `settle(boundary_condition(input_drive(x), h),
        read_memory)`, in the parts that `FastWeightsRNN`'s attention forms
        reuse with their own read of the memory."""
        h, memory, *recurrent_dropout_mask = states
        H = self.units
        A = self.write_memory(ops.reshape(memory, (-1, H, H)), h)
        # Sustained boundary condition z = C x(t) + W h(t) + b.
        z = self.boundary_condition(
            self.input_drive(inputs), h, *recurrent_dropout_mask
        )
        # Inner loop h_{s+1} = f(LN(z + A(t) h_s)) from h_0 = f(z) (eq. 4).
        iterates = self.settle(z, lambda h_s: ops.einsum("bij,bj->bi", A, h_s))
        # h(t+1) = h_S.
        new_states = [
            iterates[-1],
            ops.reshape(A, (-1, H * H)),
            *recurrent_dropout_mask,
        ]
        if return_iterates:
            return iterates[-1], new_states, z, iterates
        return iterates[-1], new_states

    def write_memory(self, A, h):
        """The memory that computes `h(t+1)`, `A(t)`, from `A(t-1)`
        `(batch, units, units)` and `h(t)`: it already holds `h(t)`,
        `A(t) = λ A(t-1) + η v kᵀ` (eq. 1 for the Hebbian rule, where
        `k = v = h(t)`; see `memory_entry`)."""
        key, value = self.memory_entry(A, h)
        return self.decay_rate * A + self.fast_learning_rate * ops.einsum(
            "bi,bj->bij", value, key
        )

    def memory_entry(self, A, h):
        """The key `k` and value `v` with which `h = h(t)` `(batch, units)`
        enters the memory `A(t-1)` `(batch, units, units)`, so that
        `A(t) = λ A(t-1) + η v kᵀ` and `A(t) q = η Σ_τ λ^{t-τ} v(τ)
        (k(τ)ᵀ q)`: what the memory reads with (eq. 3).

        Hebbian: `k = v = h(t)`. The delta rule,
        `A(t) = λ A(t-1) (I - η k kᵀ) + η h kᵀ`, is this form with
        `k = h / sqrt(hᵀh + 1e-6)` and `v = h - λ A(t-1) k`: what the
        decayed memory does not yet return for the key (one matrix-vector
        product).
        """
        if self.update_rule == "hebbian":
            return h, h
        key = self.memory_key(h)
        recalled = ops.einsum("bij,bj->bi", A, key)
        return key, h - self.decay_rate * recalled

    def memory_key(self, h):
        """The delta rule's key `k = h / sqrt(hᵀh + 1e-6)` of `h`
        `(batch, units)`, its norm computed in at least float32 (1e-6 is
        zero in float16)."""
        dtype = keras.backend.standardize_dtype(h.dtype)
        wide = ops.cast(
            h, "float32" if dtype in ("float16", "bfloat16") else dtype
        )
        norm = ops.sum(ops.square(wide), axis=-1, keepdims=True)
        return ops.cast(wide * ops.rsqrt(norm + DELTA_KEY_EPSILON), dtype)

    def input_drive(self, inputs):
        """`C x + b`, for one step `(batch, features)` or for every step
        `(batch, timesteps, features)` (one product for the sequence)."""
        drive = kernels.matmul(inputs, self.kernel)
        if self.use_bias:
            drive = drive + self.bias
        return drive

    def boundary_condition(self, input_drive, h, recurrent_dropout_mask=None):
        """`z = C x(t) + b + W h(t)` from the input drive `C x(t) + b`;
        with a `recurrent_dropout_mask` `r`, `W (h(t) ⊙ r)`."""
        if recurrent_dropout_mask is not None:
            h = h * recurrent_dropout_mask
        return input_drive + kernels.matmul(h, self.recurrent_kernel)

    def settle(self, z, read_memory):
        """The inner loop, in which the hidden state settles under the
        sustained boundary condition `z`: the iterates `[h_0, ..., h_S]` of
        `h_0 = f(z)` and `h_{s+1} = f(LN(z + A(t) h_s))` (eqs. 2 and 4),
        where `read_memory(h_s)` returns `A(t) h_s`.

        The one copy of the inner loop: the cell reads `A(t)` as a matrix,
        `FastWeightsRNN`'s attention form as an attention over the past
        outputs (eq. 3), and `keras_fastweights.inspection` records the
        iterates.
        """
        iterates = [self.activation(z)]
        for _ in range(self.inner_steps):
            h_s = iterates[-1]
            iterates.append(
                self.activation(self._layer_norm(z + read_memory(h_s)))
            )
        return iterates

    def _layer_norm(self, x):
        """Normalizes each example over its hidden units (not the batch)."""
        if not self.use_layer_norm:
            return x
        return kernels.layer_norm(
            x, self.gamma, self.beta, self.layer_norm_epsilon
        )

    def get_config(self):
        config = {
            "units": self.units,
            "decay_rate": self.decay_rate,
            "fast_learning_rate": self.fast_learning_rate,
            "inner_steps": self.inner_steps,
            "activation": keras.activations.serialize(self.activation),
            "use_layer_norm": self.use_layer_norm,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "update_rule": self.update_rule,
        }
        return {**super().get_config(), **config}
