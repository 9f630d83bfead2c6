"""Numerical checks of the claims in docs/method.md.

Each test is named in the document next to the claim it checks. The pure
NumPy tests check the mathematics; the others check that the real
`FastWeightsRNNCell` behaves as the mathematics says.
"""

import itertools
import math

import keras
import numpy as np
import pytest
from fastweights_study.analysis import answer_probability
from fastweights_study.analysis import bonferroni_bound
from fastweights_study.analysis import consecutive_state_cosine
from fastweights_study.analysis import input_gradient_norms
from fastweights_study.analysis import key_blind_bayes
from fastweights_study.analysis import memory_causal_summary
from fastweights_study.analysis import memory_drive_ratio
from fastweights_study.analysis import queried_pair_effects
from fastweights_study.analysis import retrieval_errors
from fastweights_study.analysis import retrieval_information_bits
from fastweights_study.analysis import retrieval_roles
from fastweights_study.analysis import stored_state_effects
from fastweights_study.variants import build_variant_model
from keras import ops
from reference import layer_norm
from reference import numpy_fast_weights
from reference import relu

from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell
from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.inspection import fast_weights_attention
from keras_fastweights.layers import kernels
from keras_fastweights.models import build_retrieval_model

# The method's claims are properties of the equations: checked on one
# backend (.ci/run: JAX), since tests/library shows that every backend
# computes the same layer (pyproject.toml's marker).
pytestmark = pytest.mark.backend_independent


def unit_rows(rng, n, h):
    """n random unit vectors of R^h, uniform on the sphere."""
    keys = rng.normal(size=(n, h))
    return keys / np.linalg.norm(keys, axis=1, keepdims=True)


def run_cell(cell, sequences):
    """Steps `cell` over `sequences`; returns the outputs (batch, T, H) and
    the memories A(t) read at every step, (batch, T, H, H)."""
    batch, timesteps, _ = sequences.shape
    states = cell.get_initial_state(batch)
    outputs, memories = [], []
    for t in range(timesteps):
        output, states = cell(sequences[:, t], states)
        outputs.append(ops.convert_to_numpy(output).astype("float64"))
        memories.append(ops.convert_to_numpy(states[1]).astype("float64"))
    memories = np.stack(memories, axis=1)
    return np.stack(outputs, axis=1), memories.reshape(
        batch, timesteps, cell.units, cell.units
    )


# 1. Hebbian storage and recall.


@pytest.mark.parametrize("stored", [1, 5, 16])
def test_hebbian_recall_is_exact_for_orthonormal_keys(stored):
    rng = np.random.default_rng(stored)
    units = 16
    keys = np.linalg.qr(rng.normal(size=(units, units)))[0][:, :stored].T
    values = rng.normal(size=(stored, units))

    hetero = values.T @ keys  # Σ_i v_i k_iᵀ
    np.testing.assert_allclose(keys @ hetero.T, values, atol=1e-12)
    auto = keys.T @ keys  # Σ_i k_i k_iᵀ
    np.testing.assert_allclose(keys @ auto.T, keys, atol=1e-12)


def test_crosstalk_matches_random_key_theory():
    """rms ‖A k_j - k_j‖ = sqrt((N-1)/H + (N-1)(N-2)/H²) for random keys."""
    rng = np.random.default_rng(0)
    units, trials = 64, 100
    measured = []
    for stored in (2, 8, 32, 64, 128):
        errors = []
        for _ in range(trials):
            keys = unit_rows(rng, stored, units)
            recalled = keys @ (keys.T @ keys)  # rows: (A k_j)ᵀ, A symmetric
            errors.append(np.sum((recalled - keys) ** 2, axis=1))
        rms = np.sqrt(np.mean(errors))
        theory = np.sqrt(
            (stored - 1) / units + (stored - 1) * (stored - 2) / units**2
        )
        np.testing.assert_allclose(rms, theory, rtol=0.1)
        measured.append(rms)
    assert np.all(np.diff(measured) > 0)
    # At N = H the crosstalk is larger than the recalled pattern itself.
    assert measured[3] > 1.0


def test_linear_memory_holds_at_most_h_arbitrary_associations():
    rng = np.random.default_rng(1)
    units = 8
    # H pairs: the Hebbian matrix of orthonormal keys recalls all exactly.
    keys = np.linalg.qr(rng.normal(size=(units, units)))[0].T
    values = rng.normal(size=(units, units))
    memory = values.T @ keys
    np.testing.assert_allclose(keys @ memory.T, values, atol=1e-12)
    # H + 1 pairs: even the best H x H matrix (least squares, not Hebbian)
    # cannot recall all of them, as the keys are linearly dependent.
    keys = rng.normal(size=(units + 1, units))
    values = rng.normal(size=(units + 1, units))
    best = np.linalg.lstsq(keys, values, rcond=None)[0]
    residual = np.linalg.norm(keys @ best - values) / np.linalg.norm(values)
    assert residual > 0.05


# 2. The unrolled sum.


@pytest.mark.parametrize("decay_rate", [0.0, 0.5, 0.95, 1.0])
def test_unrolled_sum_equals_recursion(decay_rate):
    rng = np.random.default_rng(2)
    eta, units, timesteps = 0.5, 5, 12
    hidden = rng.normal(size=(timesteps + 1, units))
    hidden[0] = 0.0  # h(0) = 0
    memory = np.zeros((units, units))  # A(0) = 0
    for t in range(1, timesteps + 1):
        memory = decay_rate * memory + eta * np.outer(hidden[t], hidden[t])
        unrolled = eta * sum(
            decay_rate ** (t - tau) * np.outer(hidden[tau], hidden[tau])
            for tau in range(1, t + 1)
        )
        np.testing.assert_allclose(memory, unrolled, atol=1e-12)


def test_cell_memory_equals_unrolled_sum_of_its_outputs():
    """The memory state returned by a keras RNN after T steps is
    η Σ_{τ=1..T-1} λ^(T-1-τ) h(τ) h(τ)ᵀ of its own output sequence."""
    keras.utils.set_random_seed(3)
    units, timesteps = 6, 10
    cell = FastWeightsRNNCell(
        units, decay_rate=0.9, fast_learning_rate=0.7, inner_steps=2
    )
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    sequences = np.random.default_rng(3).normal(size=(3, timesteps, 4))
    outputs, _, memory = rnn(sequences.astype("float32"))
    outputs = ops.convert_to_numpy(outputs).astype("float64")
    memory = ops.convert_to_numpy(memory).reshape(3, units, units)

    # h(τ) is outputs[:, τ-1]; the last output h(T) is not yet stored.
    unrolled = 0.7 * sum(
        0.9 ** (timesteps - 1 - tau)
        * np.einsum("bi,bj->bij", outputs[:, tau - 1], outputs[:, tau - 1])
        for tau in range(1, timesteps)
    )
    np.testing.assert_allclose(memory, unrolled, rtol=1e-4, atol=1e-4)
    assert np.abs(unrolled).max() > 0.1


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_cell_memory_is_positive_semidefinite_with_rank_at_most_t(activation):
    keras.utils.set_random_seed(4)
    units, timesteps = 6, 10
    cell = FastWeightsRNNCell(units, decay_rate=0.95, activation=activation)
    sequences = np.random.default_rng(4).normal(size=(2, timesteps, 4))
    _, memories = run_cell(cell, sequences.astype("float32"))

    for t in range(timesteps):
        for memory in memories[:, t]:
            np.testing.assert_allclose(memory, memory.T, atol=1e-6)
            eigenvalues = np.linalg.eigvalsh(memory)[::-1]
            scale = max(1.0, eigenvalues[0])
            assert eigenvalues[-1] >= -1e-5 * scale
            # A(t) is a sum of t outer products, so its rank is at most t:
            # all but its t largest eigenvalues vanish.
            assert np.all(np.abs(eigenvalues[t:]) <= 1e-5 * scale)
        if t >= 1:
            assert np.linalg.eigvalsh(memories[:, t]).max() > 0.1


# 3. The attention reading of A(t) h.


def test_attention_form_equals_matrix_form():
    rng = np.random.default_rng(5)
    eta, decay_rate, units, timesteps = 0.5, 0.9, 7, 11
    hidden = rng.normal(size=(timesteps + 1, units))
    query = rng.normal(size=units)
    matrix = eta * sum(
        decay_rate ** (timesteps - tau) * np.outer(hidden[tau], hidden[tau])
        for tau in range(1, timesteps + 1)
    )
    weights = np.array(
        [
            eta * decay_rate ** (timesteps - tau) * hidden[tau] @ query
            for tau in range(1, timesteps + 1)
        ]
    )
    np.testing.assert_allclose(matrix @ query, weights @ hidden[1:], atol=1e-12)


# 4. The inner loop.


def settling(stored, noise, inner_steps, batch=128, units=32, active=4):
    """Mean cosine similarity between h_s and a stored pattern p, for
    s = 0 .. inner_steps, when the memory holds `stored` sparse binary
    patterns and the input is the cue p + noise.

    The real cell is used with C = I, W = 0, b = 0, so z = cue, and with
    the memory A = η Σ_i p_i p_iᵀ passed as its state. Returns an array of
    shape (batch, inner_steps + 1).
    """
    rng = np.random.default_rng(stored)
    patterns = np.zeros((batch, stored, units))
    for example in patterns:
        for pattern in example:
            pattern[rng.choice(units, active, replace=False)] = 1.0
    eta = 0.5
    memory = eta * np.einsum("bni,bnj->bij", patterns, patterns)
    target = patterns[:, 0]
    cue = target + noise * rng.normal(size=target.shape)
    # λ = 1 and h(t) = 0, so the cell's A(t) = λ A(t-1) + η h hᵀ = memory.
    states = [
        np.zeros((batch, units), dtype="float32"),
        memory.reshape(batch, units * units).astype("float32"),
    ]
    iterates = [np.maximum(cue, 0.0)]  # h_0 = f(z) with z = cue
    for stop in range(1, inner_steps + 1):
        cell = FastWeightsRNNCell(
            units,
            decay_rate=1.0,
            fast_learning_rate=eta,
            inner_steps=stop,
            kernel_initializer="identity",
            recurrent_initializer="zeros",
        )
        output, _ = cell(cue.astype("float32"), states)
        iterates.append(ops.convert_to_numpy(output).astype("float64"))
    iterates = np.stack(iterates, axis=1)
    norms = np.linalg.norm(iterates, axis=-1) * np.linalg.norm(
        target, axis=-1, keepdims=True
    )
    return np.einsum("bsh,bh->bs", iterates, target) / np.maximum(norms, 1e-12)


def test_inner_loop_recalls_a_single_stored_pattern():
    cosine = settling(stored=1, noise=1.0, inner_steps=4)
    # Every example moves monotonically towards the pattern ...
    assert np.all(np.diff(cosine, axis=1) >= -1e-4)
    # ... from a poor cue to a near-exact recall.
    assert cosine[:, 0].mean() < 0.6
    assert cosine[:, -1].mean() > 0.9


def test_first_inner_step_cleans_up_a_cue_among_several_patterns():
    cosine = settling(stored=4, noise=1.0, inner_steps=1)
    assert cosine[:, 1].mean() > cosine[:, 0].mean() + 0.15
    assert np.mean(cosine[:, 1] > cosine[:, 0]) > 0.85


def test_further_inner_steps_drift_to_a_blend_of_many_patterns():
    cosine = settling(stored=8, noise=0.5, inner_steps=5).mean(axis=0)
    # The first step still helps, but later ones move away from the pattern.
    assert cosine[1] > cosine[0]
    assert cosine[5] < cosine[2] - 0.02


# 5. Why layer normalization.


def test_without_layer_norm_the_hidden_state_explodes():
    keras.utils.set_random_seed(8)
    sequences = np.random.default_rng(8).normal(size=(4, 40, 4))
    cell = FastWeightsRNNCell(8, decay_rate=0.95, use_layer_norm=False)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    outputs = ops.convert_to_numpy(rnn(sequences.astype("float32")))
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.linalg.norm(outputs.astype("float64"), axis=-1)
    # Starts small, then grows past any bound (or overflows float32).
    assert np.all(norms[:, 0] < 10.0)
    assert not np.all(np.isfinite(norms)) or norms.max() > 1e6


@pytest.mark.parametrize("decay_rate", [0.5, 0.95])
def test_layer_norm_bounds_hidden_state_and_memory(decay_rate):
    keras.utils.set_random_seed(9)
    units, timesteps, eta = 8, 60, 0.5
    cell = FastWeightsRNNCell(
        units, decay_rate=decay_rate, fast_learning_rate=eta
    )
    sequences = 3.0 * np.random.default_rng(9).normal(size=(4, timesteps, 4))
    cell(sequences[:, 0].astype("float32"), cell.get_initial_state(4))
    rng = np.random.default_rng(10)
    cell.gamma.assign(rng.normal(size=units).astype("float32"))
    cell.beta.assign(rng.normal(scale=0.5, size=units).astype("float32"))
    outputs, memories = run_cell(cell, sequences.astype("float32"))

    gamma = ops.convert_to_numpy(cell.gamma).astype("float64")
    beta = ops.convert_to_numpy(cell.beta).astype("float64")
    bound = np.abs(gamma).max() * np.sqrt(units) + np.linalg.norm(beta)
    norms = np.linalg.norm(outputs, axis=-1)
    assert norms.max() <= bound * (1 + 1e-5)
    largest = np.linalg.eigvalsh(memories).max()
    assert largest <= eta * bound**2 / (1 - decay_rate) * (1 + 1e-5)
    # The bounds are not vacuous: the norms come within a factor 3.
    assert norms.max() > bound / 3


# 6. Capacity and 7. cost.


@pytest.mark.parametrize("units", [1, 4, 50])
def test_memory_state_is_quadratic_in_units(units):
    cell = FastWeightsRNNCell(units)
    assert cell.state_size == [units, units * units]


def test_retrieval_information_bits_counts_the_binding_sets():
    """log2 C(N, K) D^K: every binding set {key: digit} is equally likely,
    counted by enumerating every sequence of a small alphabet."""
    letters, digits, pairs = 5, 3, 2
    sets = {}
    for keys in itertools.permutations(range(letters), pairs):
        for values in itertools.product(range(digits), repeat=pairs):
            bindings = frozenset(zip(keys, values))
            sets[bindings] = sets.get(bindings, 0) + 1
    assert len(set(sets.values())) == 1  # equally likely
    assert retrieval_information_bits(pairs, letters, digits) == (
        pytest.approx(math.log2(len(sets)), abs=1e-12)
    )
    # The task's four pairs: 27.16 bits; with the order of the pairs 31.74,
    # and 4 log2(26 · 10) = 32.09 if keys could repeat.
    assert retrieval_information_bits(4) == pytest.approx(27.155, abs=1e-3)
    ordered = math.log2(math.perm(26, 4) * 10**4)
    assert ordered == pytest.approx(31.740, abs=1e-3)
    assert 4 * math.log2(26 * 10) == pytest.approx(32.090, abs=1e-3)
    # The four digits alone.
    assert retrieval_information_bits(4, num_keys=4) == pytest.approx(
        4 * math.log2(10)
    )


def test_consecutive_state_cosine_matches_the_layer_outputs():
    keras.utils.set_random_seed(16)
    sequences = np.random.default_rng(16).normal(size=(3, 7, 4))
    sequences = sequences.astype("float32")
    layer = FastWeightsRNN(6, return_sequences=True)
    outputs = ops.convert_to_numpy(layer(sequences)).astype("float64")
    products = np.sum(outputs[:, 1:] * outputs[:, :-1], axis=-1)
    norms = np.linalg.norm(outputs, axis=-1)
    expected = products / (norms[:, 1:] * norms[:, :-1])
    cosine = consecutive_state_cosine(layer, sequences)
    np.testing.assert_allclose(cosine, expected, atol=1e-5)
    assert cosine.min() < 0.99  # not trivially all parallel


def test_consecutive_states_are_nearly_parallel_at_initialisation():
    """The paper's R = 50 model as initialised (seed 0): consecutive outputs
    have cosine 0.99 or more on average, every one above 0.9, and closer to
    1 than the first pair from the third step on; with η = 0, below 0.9."""
    _, _, (tokens, _) = associative_retrieval.load_data(
        num_train=0, num_val=0, num_test=100, seed=0
    )
    model = build_retrieval_model("fast_weights", 50, seed=0)
    cosine = consecutive_state_cosine(model, tokens)
    assert cosine.mean() > 0.99
    assert cosine.min() > 0.9
    means = cosine.mean(axis=0)
    assert np.all(means[2:] > means[0])
    assert means[-1] > 0.999
    # The memory makes them so: with η = 0 (the same initial weights) the
    # mean is below 0.9.
    model = build_variant_model(
        "fast_weights", 50, seed=0, variant="no_fast_memory"
    )
    assert consecutive_state_cosine(model, tokens).mean() < 0.9


@pytest.fixture
def multiply_adds(monkeypatch):
    """Counts the multiply-adds of the matrix products and einsums that
    `keras.ops` computes, from their operands' shapes; returns the list of
    counts, one per call."""
    counts = []
    einsum, matmul = ops.einsum, ops.matmul

    def counting_einsum(subscripts, *operands, **kwargs):
        letters = subscripts.replace(" ", "").split("->")[0].split(",")
        sizes = {}
        for names, operand in zip(letters, operands):
            sizes.update(zip(names, operand.shape))
        counts.append(math.prod(sizes.values()))
        return einsum(subscripts, *operands, **kwargs)

    def counting_matmul(x1, x2):
        product = matmul(x1, x2)
        counts.append(math.prod(product.shape) * x1.shape[-1])
        return product

    monkeypatch.setattr(ops, "einsum", counting_einsum)
    monkeypatch.setattr(ops, "matmul", counting_matmul)
    # The attention form's read as two einsums: the elementwise form that
    # torch uses does the same products, but not through ops.einsum.
    monkeypatch.setattr(kernels, "READ_OUT_BY_BACKEND", {})
    return counts


@pytest.mark.parametrize(
    "units, steps, inner_steps, attention_is_cheaper",
    [
        (8, 6, 1, True),
        (8, 14, 1, True),  # S (T + 1) = 15 < (S + 1) H = 16
        (8, 16, 1, False),  # 17 > 16
        (8, 10, 2, True),  # 22 < 24
        (8, 12, 2, False),  # 26 > 24
    ],
)
def test_multiply_adds_of_the_matrix_form_and_the_attention_form(
    multiply_adds, units, steps, inner_steps, attention_is_cheaper
):
    """The real layer's products, counted: per step the matrix form costs
    B (F H + (S + 2) H²); the attention form costs B T F H once, then
    B (H² + 2 S (t + 1) H) at step t (t = 0 .. T-1)."""
    batch, features = 2, 3
    sequences = np.random.default_rng(units).normal(
        size=(batch, steps, features)
    )
    cost = {}
    for implementation in ("cell", "attention"):
        # Unrolled, so that Keras's loop calls the cell at every step
        # (a compiled loop would trace it once).
        layer = FastWeightsRNN(
            units,
            inner_steps=inner_steps,
            implementation=implementation,
            unroll=True,
        )
        layer.build(sequences.shape)
        multiply_adds.clear()
        layer(sequences.astype("float32"))
        cost[implementation] = sum(multiply_adds)
    per_step = features * units + (inner_steps + 2) * units**2
    assert cost["cell"] == batch * steps * per_step
    reads = sum(2 * inner_steps * (t + 1) * units for t in range(steps))
    assert cost["attention"] == batch * (
        steps * features * units + steps * units**2 + reads
    )
    # The attention form is cheaper exactly when S (T + 1) < (S + 1) H.
    assert (cost["attention"] < cost["cell"]) == attention_is_cheaper


@pytest.mark.parametrize("decay_rate", [0.0, 0.5, 0.95, 1.0])
def test_chunked_form_equals_recursion(decay_rate):
    # A(t) = λ^{t-t0} A(t0) + η Σ_{t0 < τ <= t} λ^{t-τ} h(τ) h(τ)ᵀ: within a
    # chunk that starts after step t0, reading the memory needs A(t0) and the
    # chunk's own outputs only, and A(t0) may be any matrix.
    rng = np.random.default_rng(7)
    eta, units, start, timesteps = 0.5, 6, 4, 12
    hidden = rng.normal(size=(timesteps + 1, units))
    query = rng.normal(size=units)
    memory = rng.normal(size=(units, units))  # A(0): not symmetric, not 0
    for t in range(1, timesteps + 1):
        memory = decay_rate * memory + eta * np.outer(hidden[t], hidden[t])
        if t == start:
            boundary = memory.copy()
        if t > start:
            scores = hidden[start + 1 : t + 1] @ query
            weights = eta * decay_rate ** (t - np.arange(start + 1, t + 1))
            chunked = decay_rate ** (t - start) * boundary @ query
            chunked = chunked + (weights * scores) @ hidden[start + 1 : t + 1]
            np.testing.assert_allclose(memory @ query, chunked, atol=1e-12)


# 8. The plateau: the best key-blind prediction.


def key_blind_monte_carlo(num_pairs, num_sequences, seed):
    """Error and log-likelihood of the key-blind rule on generated data,
    each as (mean, standard error)."""
    (x, y), _, _ = associative_retrieval.load_data(
        num_pairs, num_train=num_sequences, num_val=0, num_test=0, seed=seed
    )
    digits = x[:, 1 : 2 * num_pairs : 2] - len(associative_retrieval.LETTERS)
    counts = (digits[:, :, None] == np.arange(10)).sum(axis=1)
    # Predict a most frequent stored digit (ties: the smallest), and give
    # each digit the probability m_d / K; score against the real target.
    wrong = counts.argmax(axis=1) != y
    log_likelihood = np.log(counts[np.arange(len(y)), y] / num_pairs)
    n = len(y)
    return (
        (wrong.mean(), wrong.std() / np.sqrt(n)),
        (log_likelihood.mean(), log_likelihood.std() / np.sqrt(n)),
    )


@pytest.mark.parametrize("num_pairs", [4, 8])
def test_key_blind_bayes_matches_monte_carlo_on_generated_data(num_pairs):
    error, log_likelihood = key_blind_bayes(num_pairs)
    (mc_error, error_se), (mc_log_likelihood, log_likelihood_se) = (
        key_blind_monte_carlo(num_pairs, 50_000, seed=num_pairs)
    )
    assert abs(mc_error - error) < 4 * error_se
    assert abs(mc_log_likelihood - log_likelihood) < 4 * log_likelihood_se
    # The standard errors are small enough for this to be a sharp check.
    assert error_se < 0.0025 and log_likelihood_se < 0.005


@pytest.mark.parametrize(
    "num_pairs, exact_error, reported_error, log_likelihood",
    [
        (4, 1233 / 2000, 0.616, -1.186811),
        (8, 2800341 / 4000000, 0.700, -1.649096),
        (12, 74095908489 / 10**11, 0.741, -1.856114),
    ],
)
def test_key_blind_bayes_reproduces_the_plateau(
    num_pairs, exact_error, reported_error, log_likelihood
):
    error, computed_log_likelihood = key_blind_bayes(num_pairs)
    assert error == pytest.approx(exact_error, abs=1e-12)
    assert computed_log_likelihood == pytest.approx(log_likelihood, abs=1e-6)
    # The figures the runs plateau at, to 0.1 % (and 1.19 nats for K = 4).
    assert abs(error - reported_error) < 1e-3
    if num_pairs == 4:
        assert abs(-computed_log_likelihood - 1.19) < 5e-3


@pytest.mark.parametrize(
    "num_pairs, num_digits", [(1, 10), (2, 10), (3, 10), (4, 10), (5, 3)]
)
def test_key_blind_bayes_equals_brute_force_enumeration(num_pairs, num_digits):
    """Averages over all num_digits ** num_pairs equally likely digit
    tuples, with no use of partitions or multinomial coefficients."""
    tuples = np.array(
        list(itertools.product(range(num_digits), repeat=num_pairs))
    )
    counts = (tuples[:, :, None] == np.arange(num_digits)).sum(axis=1)
    error = 1 - counts.max(axis=1).mean() / num_pairs
    shares = counts / num_pairs
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(counts > 0, shares * np.log(shares), 0.0)
    log_likelihood = terms.sum(axis=1).mean()
    computed = key_blind_bayes(num_pairs, num_digits)
    np.testing.assert_allclose(computed, (error, log_likelihood), atol=1e-12)


def test_key_blind_error_does_not_depend_on_tie_breaking():
    tuples = np.array(list(itertools.product(range(10), repeat=3)))
    counts = (tuples[:, :, None] == np.arange(10)).sum(axis=1)
    # The digit each rule answers; the target is a uniform one of the 3.
    smallest = counts.argmax(axis=1)
    largest = 9 - counts[:, ::-1].argmax(axis=1)
    rows = np.arange(len(tuples))
    assert np.any(smallest != largest)  # there are ties to break
    for answer in (smallest, largest):
        error = 1 - (counts[rows, answer] / 3).mean()
        assert error == pytest.approx(key_blind_bayes(3)[0], abs=1e-12)


@pytest.mark.parametrize(
    "arguments, error",
    [
        ((0,), ValueError),
        ((4, 0), ValueError),
        ((4.0,), TypeError),
        ((True,), TypeError),
    ],
)
def test_key_blind_bayes_rejects_bad_arguments(arguments, error):
    with pytest.raises(error, match="Received"):
        key_blind_bayes(*arguments)


# 9. Scale and parameterisation.

UNITS, FEATURES, TIMESTEPS = 8, 5, 12


def slow_weights(seed):
    """Random weights of a FastWeightsRNN with UNITS units, by name."""
    rng = np.random.default_rng(seed)
    return {
        "kernel": rng.normal(scale=0.5, size=(FEATURES, UNITS)),
        "recurrent_kernel": rng.normal(scale=0.3, size=(UNITS, UNITS)),
        "bias": rng.normal(scale=0.3, size=UNITS),
        "gamma": rng.uniform(0.5, 1.5, size=UNITS),
        "beta": rng.normal(scale=0.3, size=UNITS),
    }


def build_layer(weights, sequences, **kwargs):
    """A FastWeightsRNN with the given weights and cell arguments."""
    layer = FastWeightsRNN(
        UNITS, return_sequences=True, return_state=True, **kwargs
    )
    layer.build(sequences.shape)
    for name, value in weights.items():
        getattr(layer.cell, name).assign(value.astype("float32"))
    return layer


def run_layer(weights, sequences, **kwargs):
    """Outputs (batch, T, H) and last memory (batch, H, H) of a
    FastWeightsRNN with the given weights and cell arguments."""
    layer = build_layer(weights, sequences, **kwargs)
    outputs, _, memory = layer(sequences)
    outputs = ops.convert_to_numpy(outputs).astype("float64")
    memory = ops.convert_to_numpy(memory).astype("float64")
    return outputs, memory.reshape(-1, UNITS, UNITS)


def sequences_for(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(4, TIMESTEPS, FEATURES)).astype("float32")


def relative_deviation(outputs, expected):
    return np.abs(outputs - expected).max() / np.abs(expected).max()


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_one_inner_step_depends_on_eta_only_through_the_output_scale(scale):
    """(η, γ, β, W) → (η/c², cγ, cβ, W/c) gives c × every output, the same
    memory A, and the same output of a following Dense layer."""
    weights, sequences, eta = slow_weights(11), sequences_for(11), 0.5
    outputs, memory = run_layer(weights, sequences, fast_learning_rate=eta)
    rescaled = {
        **weights,
        "gamma": scale * weights["gamma"],
        "beta": scale * weights["beta"],
        "recurrent_kernel": weights["recurrent_kernel"] / scale,
    }
    new_outputs, new_memory = run_layer(
        rescaled, sequences, fast_learning_rate=eta / scale**2
    )
    assert np.abs(outputs).max() > 0.5
    np.testing.assert_allclose(
        new_outputs, scale * outputs, rtol=1e-4, atol=1e-5 * scale
    )
    np.testing.assert_allclose(new_memory, memory, rtol=1e-4, atol=1e-4)
    # A Dense layer after it absorbs c: V/c (c h) = V h.
    dense = np.random.default_rng(12).normal(size=(UNITS, 3))
    np.testing.assert_allclose(
        new_outputs @ (dense / scale), outputs @ dense, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_the_same_rescaling_changes_the_outputs_at_two_inner_steps(scale):
    weights, sequences, eta = slow_weights(11), sequences_for(11), 0.5
    outputs, _ = run_layer(
        weights, sequences, fast_learning_rate=eta, inner_steps=2
    )
    rescaled = {
        **weights,
        "gamma": scale * weights["gamma"],
        "beta": scale * weights["beta"],
        "recurrent_kernel": weights["recurrent_kernel"] / scale,
    }
    new_outputs, _ = run_layer(
        rescaled, sequences, fast_learning_rate=eta / scale**2, inner_steps=2
    )
    assert relative_deviation(new_outputs, scale * outputs) > 0.05


def test_the_rescaling_needs_a_positively_homogeneous_activation():
    """With tanh, f(c u) != c f(u): the S = 1 rescaling fails too."""
    weights, sequences, eta, scale = slow_weights(11), sequences_for(11), 0.5, 3
    outputs, _ = run_layer(
        weights, sequences, fast_learning_rate=eta, activation="tanh"
    )
    rescaled = {
        **weights,
        "gamma": scale * weights["gamma"],
        "beta": scale * weights["beta"],
        "recurrent_kernel": weights["recurrent_kernel"] / scale,
    }
    new_outputs, _ = run_layer(
        rescaled,
        sequences,
        fast_learning_rate=eta / scale**2,
        activation="tanh",
    )
    assert relative_deviation(new_outputs, scale * outputs) > 0.1


@pytest.mark.parametrize("inner_steps", [1, 2, 3])
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_rescaling_the_drive_with_eta_scales_outputs_at_any_inner_steps(
    inner_steps, scale
):
    """(C, b, η, γ, β, ε) → (cC, cb, η/c², cγ, cβ, c²ε), W unchanged, gives
    c × every output and the same memory, for every number of inner steps."""
    weights, sequences, eta, epsilon = (
        slow_weights(13),
        sequences_for(13),
        0.5,
        1e-3,
    )
    outputs, memory = run_layer(
        weights,
        sequences,
        fast_learning_rate=eta,
        inner_steps=inner_steps,
        layer_norm_epsilon=epsilon,
    )
    rescaled = {
        **weights,
        "kernel": scale * weights["kernel"],
        "bias": scale * weights["bias"],
        "gamma": scale * weights["gamma"],
        "beta": scale * weights["beta"],
    }
    new_outputs, new_memory = run_layer(
        rescaled,
        sequences,
        fast_learning_rate=eta / scale**2,
        inner_steps=inner_steps,
        layer_norm_epsilon=scale**2 * epsilon,
    )
    np.testing.assert_allclose(
        new_outputs, scale * outputs, rtol=1e-4, atol=1e-5 * scale
    )
    np.testing.assert_allclose(new_memory, memory, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_scaling_the_slow_weights_acts_only_through_epsilon(scale):
    """At S = 1, (C, W, b) → k (C, W, b) with ε is exactly (C, W, b) with
    ε / k²: the outputs change only through ε, by an amount of order ε."""
    weights, sequences = slow_weights(14), sequences_for(14)
    scaled = {
        **weights,
        **{
            name: scale * weights[name]
            for name in ("kernel", "recurrent_kernel", "bias")
        },
    }
    deviations = []
    for epsilon in (0.0, 1e-4, 1e-3):
        outputs, _ = run_layer(weights, sequences, layer_norm_epsilon=epsilon)
        new_outputs, _ = run_layer(
            scaled, sequences, layer_norm_epsilon=epsilon
        )
        same_function, _ = run_layer(
            weights, sequences, layer_norm_epsilon=epsilon / scale**2
        )
        np.testing.assert_allclose(new_outputs, same_function, atol=1e-5)
        deviations.append(relative_deviation(new_outputs, outputs))
    assert deviations[0] < 1e-5  # without ε: exactly invariant
    assert 1e-4 < deviations[2] < 2e-2  # ε = 1e-3: small but not rounding
    # Of first order in ε: ten times smaller with ε = 1e-4.
    assert 5 < deviations[2] / deviations[1] < 20


def test_scaling_the_slow_weights_changes_the_outputs_at_two_inner_steps():
    weights, sequences = slow_weights(14), sequences_for(14)
    scaled = {
        **weights,
        **{
            name: 3.0 * weights[name]
            for name in ("kernel", "recurrent_kernel", "bias")
        },
    }
    outputs, _ = run_layer(weights, sequences, inner_steps=2)
    new_outputs, _ = run_layer(
        scaled, sequences, inner_steps=2, layer_norm_epsilon=1e-3 * 3.0**2
    )
    assert relative_deviation(new_outputs, outputs) > 0.1


def test_two_parameter_rescaling_at_one_inner_step():
    """(C, W, b, η, γ, β, ε) → (kC, (k/c)W, kb, η/c², cγ, cβ, k²ε) at S = 1:
    c × the outputs, the same memory, the same ‖A h_0‖ / ‖z‖; halving η
    alone more than halves that ratio."""
    weights, sequences, eta, epsilon = (
        slow_weights(15),
        sequences_for(15),
        0.5,
        1e-3,
    )
    c, k = 3.0, 0.5
    rescaled = {
        "kernel": k * weights["kernel"],
        "recurrent_kernel": k / c * weights["recurrent_kernel"],
        "bias": k * weights["bias"],
        "gamma": c * weights["gamma"],
        "beta": c * weights["beta"],
    }
    layers = [
        build_layer(
            weights,
            sequences,
            fast_learning_rate=eta,
            layer_norm_epsilon=epsilon,
        ),
        build_layer(
            rescaled,
            sequences,
            fast_learning_rate=eta / c**2,
            layer_norm_epsilon=k**2 * epsilon,
        ),
        build_layer(
            weights,
            sequences,
            fast_learning_rate=eta / 2,
            layer_norm_epsilon=epsilon,
        ),
    ]
    (outputs, _, memory), (new_outputs, _, new_memory) = [
        [ops.convert_to_numpy(value) for value in layer(sequences)]
        for layer in layers[:2]
    ]
    np.testing.assert_allclose(new_outputs, c * outputs, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(new_memory, memory, rtol=1e-4, atol=1e-4)
    ratios = [memory_drive_ratio(layer, sequences) for layer in layers]
    assert ratios[0][:, 1:].mean() > 0.1
    np.testing.assert_allclose(ratios[1], ratios[0], rtol=1e-4)
    assert ratios[2].mean() < 0.5 * ratios[0].mean()


def test_memory_drive_ratio_rejects_a_layer_without_fast_weights():
    with pytest.raises(TypeError, match="Received: model="):
        memory_drive_ratio(keras.layers.Dense(3), sequences_for(0))


def test_memory_term_dominates_the_drive_at_initialisation():
    """‖A(t) h_0‖ / ‖z‖ of the paper's models (seed 0) on retrieval data:
    above 1 from the third step on, about 0.08 R at the second step, between
    2 R and 3 R at the query step, and increasing with R at every step."""
    _, _, (tokens, _) = associative_retrieval.load_data(
        num_train=0, num_val=0, num_test=100, seed=0
    )
    means = {}
    for units in (20, 50, 100):
        model = build_retrieval_model("fast_weights", units, seed=0)
        ratios = memory_drive_ratio(model, tokens)
        assert np.all(ratios[:, 0] == 0)  # A(0) = 0
        assert np.all(ratios[:, 2:] > 1)
        means[units] = ratios.mean(axis=0)
        assert 0.05 * units < means[units][1] < 0.12 * units
        assert 2 * units < means[units][-1] < 3 * units
    assert np.all(means[20][1:] < means[50][1:])
    assert np.all(means[50][1:] < means[100][1:])


def test_memory_drive_ratio_rejects_an_iterate_the_layer_does_not_have():
    model = build_variant_model(
        "fast_weights", 8, seed=0, variant="inner_steps_2"
    )
    _, _, (tokens, _) = associative_retrieval.load_data(
        num_train=0, num_val=0, num_test=2, seed=0
    )
    assert memory_drive_ratio(model, tokens, iterate=1).shape == (2, 11)
    with pytest.raises(ValueError, match="Received: iterate=2"):
        memory_drive_ratio(model, tokens, iterate=2)
    with pytest.raises(ValueError, match="iterate"):
        memory_drive_ratio(model, tokens, iterate=-1)


def test_later_inner_iterates_swamp_the_input_at_initialisation():
    """R = 20, seed 0, at initialisation (section 13): with S = 2 the
    second read of the memory, A(t) h_1, is more than 10 times the first,
    A(t) h_0, relative to the drive z (medians over steps 1 .. T-1), since
    layer norm has scaled h_1; and changing the query token moves the
    layer's last output less than a fifth as much at S = 2 and 3 as at
    S = 1."""
    _, _, (tokens, _) = associative_retrieval.load_data(
        num_train=0, num_val=0, num_test=200, seed=0
    )
    other = tokens.copy()
    other[:, -1] = np.roll(tokens[:, -1], 1)
    changed = other[:, -1] != tokens[:, -1]
    assert changed.sum() > 150
    moves = {}
    for steps in (1, 2, 3):
        variant = "paper" if steps == 1 else f"inner_steps_{steps}"
        model = build_variant_model("fast_weights", 20, seed=0, variant=variant)
        recurrent = keras.Model(
            model.input, model.get_layer("recurrent").output
        )
        first, second = (
            ops.convert_to_numpy(recurrent(t)).astype("float64")
            for t in (tokens, other)
        )
        moves[steps] = np.median(
            np.linalg.norm(first - second, axis=1)[changed]
            / np.linalg.norm(first, axis=1)[changed]
        )
        if steps == 2:
            reads = [
                np.median(memory_drive_ratio(model, tokens, iterate=s)[:, 1:])
                for s in (0, 1)
            ]
            assert reads[1] > 10 * reads[0], reads
    assert moves[2] < moves[1] / 5 and moves[3] < moves[1] / 5, moves


# 10. Gradient flow.


def linear_memory_model(units, timesteps, decay_rate, eta, seed):
    """A FastWeightsRNN with f = identity, no layer norm, W = 0, C = I and
    no bias, followed by a Dense layer: h(t+1) = x(t) + A(t) x(t)."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((timesteps, units)),
            FastWeightsRNN(
                units,
                decay_rate=decay_rate,
                fast_learning_rate=eta,
                activation="linear",
                use_layer_norm=False,
                use_bias=False,
                kernel_initializer="identity",
                recurrent_initializer="zeros",
                name="recurrent",
            ),
            keras.layers.Dense(4, name="logits"),
        ]
    )
    return model


@pytest.mark.parametrize("orthogonal", [False, True])
def test_gradient_through_the_memory_matches_the_derivation(orthogonal):
    """One stored state u = h(τ) = x(τ), the query step's h_0 = q = x(T-1),
    nothing in between: h(T) = q + c (uᵀq) u with c = η λ^(T-2-τ), so
    ∂L/∂x(τ) = c [(uᵀw) q + (uᵀq) w], w = ∂L/∂h(T). With u ⟂ q the forward
    pass does not depend on τ and the gradient scales exactly as λ^d."""
    units, timesteps, decay_rate, eta = 5, 8, 0.8, 0.5
    rng = np.random.default_rng(17)
    u, q = rng.normal(size=(2, units))
    if orthogonal:
        q = q - (q @ u) / (u @ u) * u
    batch = timesteps - 1
    sequences = np.zeros((batch, timesteps, units))
    sequences[np.arange(batch), np.arange(batch)] = u  # x(τ) = u at τ = b
    sequences[:, -1] = q
    # One target for all, so that with u ⟂ q every example has the same w.
    targets = np.full(batch, rng.integers(0, 4))
    model = linear_memory_model(units, timesteps, decay_rate, eta, seed=17)
    norms = input_gradient_norms(model, sequences.astype("float32"), targets)

    dense, bias = (
        ops.convert_to_numpy(weight).astype("float64")
        for weight in model.get_layer("logits").weights
    )
    expected = np.zeros((batch, timesteps))
    for b in range(batch):
        c = eta * decay_rate ** (timesteps - 2 - b)
        logits = (q + c * (u @ q) * u) @ dense + bias
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        w = dense @ (probabilities - np.eye(4)[targets[b]])
        expected[b, b] = np.linalg.norm(c * ((u @ w) * q + (u @ q) * w))
        expected[b, -1] = np.linalg.norm(w + c * (u @ w) * u)
    np.testing.assert_allclose(norms, expected, rtol=1e-4, atol=1e-6)
    distances = timesteps - 2 - np.arange(batch)
    through_memory = norms[np.arange(batch), np.arange(batch)]
    assert through_memory.min() > 1e-3
    if orthogonal:
        np.testing.assert_allclose(
            through_memory / through_memory[-1],
            decay_rate**distances,
            rtol=1e-4,
        )


def test_input_gradient_norms_rejects_a_layer_without_a_model():
    with pytest.raises(TypeError, match="Received: model="):
        input_gradient_norms(FastWeightsRNN(3), sequences_for(0), [0])


def test_memory_changes_where_the_gradient_goes_at_initialisation():
    """‖∂L/∂x(τ)‖ of the paper's R = 50 model as initialised (seed 0), with
    η = 0.5 and with η = 0 (the same initial weights), over 100 sequences:
    with η = 0 it falls with the distance from the query step (from the
    first `?` back to the first key at every step), by 1/4 to 1/20 from
    the query back to the first key; with η = 0.5 it falls with
    the position instead, and reaches the first key 10 times (or more)
    larger than with η = 0, every input from the third on smaller, the
    query at least 50 times smaller."""
    _, _, (tokens, targets) = associative_retrieval.load_data(
        num_train=0, num_val=0, num_test=100, seed=0
    )
    models = {
        variant: build_variant_model(
            "fast_weights", 50, seed=0, variant=variant
        )
        for variant in ("paper", "no_fast_memory")
    }
    for first, second in zip(*(model.weights for model in models.values())):
        np.testing.assert_array_equal(
            ops.convert_to_numpy(first), ops.convert_to_numpy(second)
        )
    memory, plain = (
        input_gradient_norms(model, tokens, targets).mean(axis=0)
        for model in models.values()
    )
    # From the first key to the first `?`, then the query (the two `?`, the
    # same token, are within a few % of each other).
    assert np.all(np.diff(plain[:9]) > 0)
    assert plain[-1] == plain.max()
    assert 1 / 20 < plain[0] / plain[-1] < 1 / 4
    assert np.all(np.diff(memory[:-1]) < 0)
    assert memory[0] > 10 * plain[0]
    assert np.all(memory[2:] < plain[2:])
    assert memory[-1] < plain[-1] / 50


# 11. A causal reading of the memory.


def small_retrieval_model(seed=18):
    """The paper's architecture, small: 6 fast-weights units. Its initial
    embedding is scaled up (so that the stored states differ, rather than
    all follow the memory) and so are the Dense layers' kernels (so that
    the answer's probability is far from uniform)."""
    model = build_retrieval_model(
        "fast_weights", 6, embedding_dim=5, hidden_dim=7, seed=seed
    )
    for weight, scale in (
        (model.get_layer("embedding").embeddings, 20.0),
        (model.get_layer("hidden").kernel, 3.0),
        (model.get_layer("logits").kernel, 3.0),
    ):
        weight.assign(scale * weight)
    return model


def numpy_target_probability(model, tokens, targets, kept):
    """p(target) when the last step reads η Σ_j kept[b, j] λ^(T-2-j)
    h(j+1) h(j+1)ᵀ, computed in NumPy from the model's weights, with the
    states h(1) .. h(T-1) from the independent NumPy reference."""
    weights = {
        weight.path.split("/")[-1]: ops.convert_to_numpy(weight).astype(
            "float64"
        )
        for weight in model.get_layer("recurrent").weights
    }
    embedding = ops.convert_to_numpy(model.get_layer("embedding").weights[0])
    x = embedding.astype("float64")[tokens]
    stored, _, _ = numpy_fast_weights(
        x[:, :-1],
        weights["kernel"],
        weights["recurrent_kernel"],
        weights["bias"],
        weights["gamma"],
        weights["beta"],
    )
    steps = stored.shape[1]
    factors = 0.5 * 0.95 ** np.arange(steps - 1, -1, -1) * kept
    memory = np.einsum("bt,bti,btj->bij", factors, stored, stored)
    z = (
        x[:, -1] @ weights["kernel"]
        + stored[:, -1] @ weights["recurrent_kernel"]
    )
    z = z + weights["bias"]
    read = z + np.einsum("bij,bj->bi", memory, relu(z))
    h = np.stack(
        [
            relu(layer_norm(row, weights["gamma"], weights["beta"], 1e-3))
            for row in read
        ]
    )
    for name, activation in (("hidden", relu), ("logits", lambda v: v)):
        kernel, bias = (
            ops.convert_to_numpy(weight).astype("float64")
            for weight in model.get_layer(name).weights
        )
        h = activation(h @ kernel + bias)
    probabilities = np.exp(h - h.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities[np.arange(len(targets)), targets]


def retrieval_batch(size=16):
    _, _, (tokens, targets) = associative_retrieval.load_data(
        num_train=0, num_val=0, num_test=size, seed=18
    )
    return tokens, targets


def test_removing_no_stored_state_changes_nothing():
    model = small_retrieval_model()
    tokens, targets = retrieval_batch()
    logits = ops.convert_to_numpy(model(tokens)).astype("float64")
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    expected = probabilities[np.arange(len(targets)), targets]
    for kept in (None, np.ones(10)):
        computed = answer_probability(model, tokens, targets, kept)
        np.testing.assert_allclose(computed, expected, atol=1e-5)


@pytest.mark.parametrize("analysis", [answer_probability, stored_state_effects])
def test_removing_stored_states_refuses_the_delta_rule(analysis):
    model = build_retrieval_model(
        "fast_weights", 6, embedding_dim=5, hidden_dim=7, update_rule="delta"
    )
    tokens, targets = retrieval_batch(4)
    with pytest.raises(ValueError, match="update_rule='delta'"):
        analysis(model, tokens, targets)


def test_removing_every_stored_state_is_eta_zero_at_the_last_step():
    model = small_retrieval_model()
    tokens, targets = retrieval_batch()
    computed = answer_probability(model, tokens, targets, np.zeros(10))
    expected = numpy_target_probability(
        model, tokens, targets, np.zeros((len(targets), 10))
    )
    np.testing.assert_allclose(computed, expected, atol=1e-5)
    whole = answer_probability(model, tokens, targets)
    assert np.abs(whole - computed).max() > 1e-2  # the memory matters


def test_removing_one_stored_state_matches_a_direct_computation():
    model = small_retrieval_model()
    tokens, targets = retrieval_batch()
    probability, changes = stored_state_effects(model, tokens, targets)
    ones = np.ones((len(targets), 10))
    expected_probability = numpy_target_probability(
        model, tokens, targets, ones
    )
    np.testing.assert_allclose(probability, expected_probability, atol=1e-5)
    for step in range(10):
        kept = ones.copy()
        kept[:, step] = 0
        expected = numpy_target_probability(model, tokens, targets, kept)
        np.testing.assert_allclose(
            changes[:, step], expected - expected_probability, atol=1e-5
        )
    assert np.abs(changes).max() > 0.02


def test_retrieval_roles_follow_the_sequence_layout():
    tokens = np.stack(
        [
            associative_retrieval.encode("c9k8j3f1??k"),
            associative_retrieval.encode("c9k8j3f1??f"),
        ]
    )
    roles = retrieval_roles(tokens)
    assert roles[0].tolist() == [
        "other key",
        "other value",
        "queried key",
        "queried value",
        "other key",
        "other value",
        "other key",
        "other value",
        "first ?",
        "second ?",
    ]
    assert roles[1, 6:8].tolist() == ["queried key", "queried value"]
    with pytest.raises(ValueError, match="one of its sequence's keys"):
        retrieval_roles(associative_retrieval.encode("c9k8j3f1??a")[None])


def test_retrieval_errors_sort_the_wrong_answers_by_pair_and_kind():
    num_pairs = 5
    _, _, (tokens, targets) = associative_retrieval.load_data(
        num_pairs, num_train=0, num_val=0, num_test=400, seed=3
    )
    rng = np.random.default_rng(0)
    texts = [associative_retrieval.decode(row) for row in tokens]
    # Right, another pair's digit, or any digit, a third of each.
    predictions = []
    for text, target in zip(texts, targets):
        kind = rng.integers(3)
        if kind == 0:
            predictions.append(int(target))
        elif kind == 1:
            predictions.append(
                int(rng.choice(list(text[1 : 2 * num_pairs : 2])))
            )
        else:
            predictions.append(int(rng.integers(10)))
    errors = retrieval_errors(tokens, targets, np.array(predictions))

    # The same from the decoded text, sequence by sequence.
    sequences, wrong_by_pair = [0] * num_pairs, [0] * num_pairs
    wrong = stored = 0
    chance = 0.0
    for text, target, answer in zip(texts, targets, predictions):
        keys, digits = text[0 : 2 * num_pairs : 2], text[1 : 2 * num_pairs : 2]
        pair = keys.index(text[-1])
        assert int(digits[pair]) == target
        sequences[pair] += 1
        if answer != target:
            wrong += 1
            wrong_by_pair[pair] += 1
            others = {int(d) for d in digits} - {int(target)}
            stored += answer in others
            chance += len(others) / 9
    assert errors["sequences_by_pair"].tolist() == sequences
    assert errors["wrong_by_pair"].tolist() == wrong_by_pair
    assert (errors["wrong"], errors["wrong_stored"]) == (wrong, stored)
    assert errors["stored_by_chance"] == pytest.approx(chance)
    # The made-up answers have every kind of error.
    assert 0 < stored < wrong and all(wrong_by_pair)

    with pytest.raises(ValueError, match=r"predictions of shape \(3,\)"):
        retrieval_errors(tokens, targets, np.zeros(3, int))
    with pytest.raises(ValueError, match="Received values from 10 to 10"):
        retrieval_errors(tokens, targets, np.full(len(targets), 10))
    with pytest.raises(ValueError, match="must be digits"):
        retrieval_errors(tokens, targets, np.full(len(targets), 0.5))
    shifted = (targets + 1) % 10
    with pytest.raises(ValueError, match=f"targets\\[0\\]={shifted[0]}"):
        retrieval_errors(tokens, shifted, targets)


def test_queried_pair_effects_measure_departures_from_a_flat_error():
    rng = np.random.default_rng(0)
    sequences = rng.integers(50, 200, size=6)
    # An error that grows with the pair's position.
    wrong = rng.binomial(sequences, np.linspace(0.05, 0.3, 6))
    effects = queried_pair_effects(sequences, wrong)

    # One 0/1 outcome and one position per sequence: the Cochran-Armitage
    # z is sqrt(N) times their correlation, and a pair's distance is its
    # error's, in binomial standard errors of the overall error.
    outcome = np.concatenate(
        [[1] * w + [0] * (n - w) for n, w in zip(sequences, wrong)]
    )
    position = np.repeat(np.arange(1, 7), sequences)
    correlation = np.corrcoef(outcome, position)[0, 1]
    assert effects["trend_z"] == pytest.approx(
        np.sqrt(len(outcome)) * correlation
    )
    assert effects["trend_z"] > 3
    error = outcome.mean()
    assert effects["error"] == pytest.approx(error)
    assert effects["largest_distance"] == pytest.approx(
        max(
            abs(w / n - error) / math.sqrt(error * (1 - error) / n)
            for n, w in zip(sequences, wrong)
        )
    )
    # Reversing the positions reverses the trend's sign, not its size.
    reversed_effects = queried_pair_effects(sequences[::-1], wrong[::-1])
    assert reversed_effects["trend_z"] == pytest.approx(-effects["trend_z"])
    assert queried_pair_effects([10, 10], [2, 2])["trend_z"] == 0

    # Any of n standard normal statistics exceeds the bound with
    # probability level / n on each side.
    for n in (1, 8, 56):
        assert math.erfc(bonferroni_bound(n) / math.sqrt(2)) * n == (
            pytest.approx(0.05)
        )
    for bad, message in (
        (([10, 10], [2]), r"wrong_by_pair=\[2\]"),
        (([10, 10], [2, 11]), r"wrong_by_pair=\[2, 11\]"),
        (([10, 0], [2, 0]), r"sequences_by_pair=\[10, 0\]"),
        (([10.0, 10.0], [2, 1]), r"sequences_by_pair=\[10.0, 10.0\]"),
        (([10, 10], [0, 0]), "0 wrong answers of 20"),
        (([10], [1]), r"sequences_by_pair=\[10\]"),
    ):
        with pytest.raises(ValueError, match=message):
            queried_pair_effects(*bad)
    with pytest.raises(ValueError, match="comparisons"):
        bonferroni_bound(0)
    with pytest.raises(ValueError, match="level=1.5"):
        bonferroni_bound(3, level=1.5)


def test_memory_causal_summary_averages_the_removals_by_role():
    model = small_retrieval_model()
    tokens, targets = retrieval_batch(size=32)
    rows = {
        row["removed"]: row
        for row in memory_causal_summary(model, tokens, targets)
    }
    probability, changes = stored_state_effects(model, tokens, targets)
    roles = retrieval_roles(tokens)
    assert rows["nothing"]["probability"] == pytest.approx(probability.mean())
    answer = changes[roles == "queried value"]
    assert rows["queried value"]["change"] == pytest.approx(answer.mean())
    weights = fast_weights_attention(model, tokens)[:, -1, :-1]
    assert rows["queried value"]["attention"] == pytest.approx(
        weights[roles == "queried value"].mean(), rel=1e-6
    )
    assert rows["queried value"]["standard_error"] == pytest.approx(
        answer.std(ddof=1) / np.sqrt(32)
    )
    # Three other keys a sequence: their mean change, then the mean of that.
    other = np.where(roles == "other key", changes, 0).sum(axis=1) / 3
    assert rows["other key"]["change"] == pytest.approx(other.mean())
    split = (
        rows["queried value (digit unique)"],
        rows["queried value (digit repeated)"],
    )
    assert sum(row["sequences"] for row in split) == 32
    assert sum(row["change"] * row["sequences"] for row in split) == (
        pytest.approx(answer.sum())
    )
    removed = answer_probability(model, tokens, targets, np.zeros(10))
    assert rows["every stored state"]["probability"] == pytest.approx(
        removed.mean()
    )
