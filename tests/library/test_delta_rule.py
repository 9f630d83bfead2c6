"""The delta rule as the fast memory's update (`update_rule="delta"`).

`A(t) = λ A(t-1) (I - η k kᵀ) + η h kᵀ` with `k = h / sqrt(hᵀh + 1e-6)`.
The paths of `FastWeightsRNN` are held to the NumPy reference in
test_implementations.py and test_dropout.py (their "delta" case); here:
the cell in `keras.layers.RNN`, an initial state, gradients against
float64 finite differences of the reference, the arguments and saving.
"""

import keras
import numpy as np
import pytest
from backend_gradients import gradients
from keras import ops
from reference import cell_arguments
from reference import numpy_fast_weights

from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell

from .test_implementations import BATCH
from .test_implementations import FEATURES
from .test_implementations import TOLERANCE
from .test_implementations import UNITS
from .test_implementations import make_inputs
from .test_implementations import make_layer


def test_cell_in_keras_rnn_matches_reference():
    keras.utils.set_random_seed(0)
    cell = FastWeightsRNNCell(
        UNITS,
        update_rule="delta",
        inner_steps=2,
        recurrent_initializer="orthogonal",
        bias_initializer="random_normal",
    )
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    x = make_inputs(13)
    outputs, h, memory = rnn(x)
    expected = numpy_fast_weights(x, **cell_arguments(cell))
    for got, want in zip((outputs, h, memory), expected):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got).reshape(want.shape), want, **TOLERANCE
        )


@pytest.mark.parametrize("update_rule", ["hebbian", "delta"])
def test_initial_state_matches_reference(update_rule):
    layer = make_layer("cell", update_rule=update_rule)
    rng = np.random.default_rng(1)
    initial_state = [
        rng.normal(size=(BATCH, UNITS)).astype("float32"),
        0.1 * rng.normal(size=(BATCH, UNITS * UNITS)).astype("float32"),
    ]
    x = make_inputs(9)
    got = layer(x, initial_state=initial_state)
    expected = numpy_fast_weights(
        x, initial_state=initial_state, **cell_arguments(layer.cell)
    )
    for got_tensor, want in zip(got, expected):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got_tensor).reshape(want.shape),
            want,
            **TOLERANCE,
        )


def reference_loss(x, arguments):
    """The loss of `backend_gradients.gradients`
    (`backend_gradients.scalar_of`), in NumPy."""
    outputs, *states = numpy_fast_weights(x, **arguments)
    value = np.sin(outputs).sum()
    for state in states:
        state = state.reshape(len(x), -1)
        value += (state * np.linspace(-1.0, 1.0, state.shape[1])).sum()
    return value


def finite_differences(function, value, step=1e-6):
    """Central differences of `function` at every entry of `value`."""
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        saved = value[index]
        value[index] = saved + step
        up = function()
        value[index] = saved - step
        down = function()
        value[index] = saved
        grad[index] = (up - down) / (2 * step)
    return grad


@pytest.mark.parametrize("update_rule", ["hebbian", "delta"])
def test_gradients_match_finite_differences(update_rule, float64_backend):
    # In float64 the backend's gradient of the layer (every weight and the
    # inputs) must agree with central differences of the independent
    # reference to the differences' own error (~1e-8).
    keras.config.set_floatx("float64")
    layer = make_layer(
        "auto", update_rule=update_rule, inner_steps=2, dtype="float64"
    )
    x = make_inputs(7).astype("float64")
    got = gradients(layer, x)
    arguments = cell_arguments(layer.cell)
    names = ["kernel", "recurrent_kernel", "bias", "gamma", "beta"]
    assert len(got) == len(names) + 1
    for name, grad in zip(names, got):
        expected = finite_differences(
            lambda: reference_loss(x, arguments), arguments[name]
        )
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
    expected = finite_differences(lambda: reference_loss(x, arguments), x)
    np.testing.assert_allclose(got[-1], expected, rtol=1e-5, atol=1e-6)


def test_auto_runs_the_attention_forms_as_for_the_hebbian_rule():
    layer = make_layer("auto", update_rule="delta")
    assert layer._resolve_implementation(11) == "attention"
    assert layer._resolve_implementation(64) == "chunked"


def test_default_fast_learning_rate_depends_on_the_rule():
    assert FastWeightsRNNCell(4).fast_learning_rate == 0.5
    assert FastWeightsRNNCell(4, update_rule="delta").fast_learning_rate == 1
    layer = FastWeightsRNN(4, update_rule="delta", fast_learning_rate=0.3)
    assert layer.fast_learning_rate == 0.3
    assert layer.update_rule == "delta"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"update_rule": "oja"}, ValueError, "update_rule='oja'"),
        ({"update_rule": None}, ValueError, "update_rule=None"),
        (
            {"update_rule": "delta", "fast_learning_rate": 1.5},
            ValueError,
            "fast_learning_rate=1.5",
        ),
        (
            {"update_rule": "delta", "fast_learning_rate": -0.1},
            ValueError,
            "fast_learning_rate=-0.1",
        ),
    ],
)
def test_bad_arguments_name_the_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        FastWeightsRNNCell(4, **kwargs)
    with pytest.raises(error, match=message):
        FastWeightsRNN(4, **kwargs)


def test_hebbian_rule_takes_any_non_negative_fast_learning_rate():
    assert FastWeightsRNNCell(4, fast_learning_rate=1.5).fast_learning_rate
    with pytest.raises(ValueError, match="fast_learning_rate=-1.0"):
        FastWeightsRNNCell(4, fast_learning_rate=-1.0)


def test_config_and_saved_model_keep_the_rule(tmp_path):
    cell = FastWeightsRNNCell(4, update_rule="delta", fast_learning_rate=0.7)
    copy = FastWeightsRNNCell.from_config(cell.get_config())
    assert (copy.update_rule, copy.fast_learning_rate) == ("delta", 0.7)
    inputs = keras.Input((11, FEATURES))
    outputs = FastWeightsRNN(UNITS, update_rule="delta")(inputs)
    model = keras.Model(inputs, outputs)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[-1].update_rule == "delta"
    assert loaded.layers[-1].fast_learning_rate == 1.0
    x = make_inputs(11)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded(x)),
        ops.convert_to_numpy(model(x)),
        **TOLERANCE,
    )


# --- docs/method.md §14: the delta rule derived ------------------------------


def write(cell, A, h):
    """`A(t)` from `A(t-1)` and `h(t)` by the cell's own update, in NumPy."""
    A, h = ops.convert_to_tensor(A[None]), ops.convert_to_tensor(h[None])
    return ops.convert_to_numpy(cell.write_memory(A, h))[0]


def random_memory(rng, units, count=4):
    """A memory that holds `count` random patterns, as the Hebbian rule
    stores them."""
    patterns = rng.normal(size=(count, units))
    return 0.5 * sum(np.outer(p, p) for p in patterns)


def test_delta_rule_is_a_gradient_step(float64_backend):
    """A(t) = M - η ∇L(M) at M = λA(t-1), L(M) = ½‖M k - h‖² (the gradient
    by finite differences of L)."""
    keras.config.set_floatx("float64")
    rng = np.random.default_rng(0)
    for decay, eta in [(0.95, 1.0), (0.5, 0.3), (1.0, 0.7)]:
        cell = FastWeightsRNNCell(
            5, update_rule="delta", decay_rate=decay, fast_learning_rate=eta
        )
        A, h = random_memory(rng, 5), rng.normal(size=5)
        k = h / np.sqrt(h @ h + 1e-6)
        M = decay * A

        def loss():
            return 0.5 * np.sum((M @ k - h) ** 2)

        gradient = finite_differences(loss, M)
        np.testing.assert_allclose(
            write(cell, A, h), M - eta * gradient, rtol=1e-7, atol=1e-7
        )


def test_delta_rule_recalls_the_last_pattern_exactly(float64_backend):
    """With η = 1, A(t) k(t) = h(t) up to the 1e-6 of the key, whatever λ
    and whatever the memory held: ‖A(t)k - h‖ = ε/(hᵀh + ε) ‖h - λA k‖."""
    keras.config.set_floatx("float64")
    rng = np.random.default_rng(1)
    for decay in (0.0, 0.5, 0.95, 1.0):
        cell = FastWeightsRNNCell(8, update_rule="delta", decay_rate=decay)
        A, h = random_memory(rng, 8, count=6), rng.normal(size=8)
        k = h / np.sqrt(h @ h + 1e-6)
        residual = write(cell, A, h) @ k - h
        bound = 1e-6 / (h @ h + 1e-6) * np.linalg.norm(h - decay * A @ k)
        assert np.linalg.norm(residual) == pytest.approx(bound, rel=1e-6)
        # The Hebbian rule returns the new pattern with the old content
        # along k, λ A(t-1) k: the crosstalk of the patterns that resemble it.
        hebbian = FastWeightsRNNCell(8, decay_rate=decay, fast_learning_rate=1)
        read = write(hebbian, A, h) @ k
        np.testing.assert_allclose(
            read, decay * A @ k + h * (h @ k), rtol=1e-10
        )


def test_delta_rule_removes_the_crosstalk_of_resembling_patterns(
    float64_backend,
):
    """Patterns written in turn, each resembling the others (cosine about 0.8):
    the Hebbian memory's read-out of the last one carries the crosstalk
    terms λ^(t-τ) η (h_τ·k) h_τ of the others; the delta rule's, none."""
    keras.config.set_floatx("float64")
    rng = np.random.default_rng(2)
    base = rng.normal(size=16)
    patterns = [base + 0.5 * rng.normal(size=16) for _ in range(5)]
    decay, eta = 0.95, 1.0
    delta = FastWeightsRNNCell(16, update_rule="delta", decay_rate=decay)
    hebbian = FastWeightsRNNCell(16, decay_rate=decay, fast_learning_rate=eta)
    A_delta = A_hebbian = np.zeros((16, 16))
    for h in patterns:
        A_delta, A_hebbian = (
            write(delta, A_delta, h),
            write(hebbian, A_hebbian, h),
        )
    h = patterns[-1]
    k = h / np.linalg.norm(h)
    crosstalk = sum(
        decay ** (len(patterns) - 1 - tau) * eta * (p @ k) * p
        for tau, p in enumerate(patterns[:-1])
    )
    np.testing.assert_allclose(A_hebbian @ k, h * (h @ k) + crosstalk)
    assert np.linalg.norm(crosstalk) > 2 * np.linalg.norm(h * (h @ k))
    np.testing.assert_allclose(A_delta @ k, h, atol=1e-5 * np.linalg.norm(h))


def test_delta_rule_equals_normalised_hebbian_on_orthogonal_patterns(
    float64_backend,
):
    """With λ = η = 1 and orthogonal patterns, nothing stored lies along a
    new key, so the delta rule writes h kᵀ: the Hebbian memory of
    normalised keys, Σ h_τ k_τᵀ."""
    keras.config.set_floatx("float64")
    rng = np.random.default_rng(3)
    patterns = np.linalg.qr(rng.normal(size=(8, 8)))[0].T[:5] * 3.0
    cell = FastWeightsRNNCell(8, update_rule="delta", decay_rate=1.0)
    A = np.zeros((8, 8))
    for h in patterns:
        A = write(cell, A, h)
    keys = patterns / np.sqrt((patterns**2).sum(1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(A, patterns.T @ keys, atol=1e-12)


@pytest.mark.backend_independent  # .ci/run runs these on JAX
@pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="XLA's cost analysis of JAX"
)
def test_delta_rule_costs_one_more_matrix_vector_product_a_step():
    """The write of a step: the Hebbian rule's outer product and decay cost
    about 4 H² operations a sequence; the delta rule's adds the read A k
    (2 H²: H² multiply-adds) and little more, while the inner loop's reads
    are the same for both rules."""
    import jax

    units, batch = 64, 8
    A = np.zeros((batch, units, units), "float32")
    h = np.ones((batch, units), "float32")
    flops = {}
    for rule in ("hebbian", "delta"):
        cell = FastWeightsRNNCell(units, update_rule=rule, fast_learning_rate=1)
        compiled = jax.jit(cell.write_memory).lower(A, h).compile()
        analysis = compiled.cost_analysis()
        if isinstance(analysis, list):
            analysis = analysis[0]
        flops[rule] = analysis["flops"] / batch
    extra = flops["delta"] - flops["hebbian"]
    assert 2 * units**2 <= extra <= 3 * units**2, flops
