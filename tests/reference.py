"""Independent NumPy implementation of fast weights (Ba et al., 2016).

Written from the paper's equations, one example at a time in float64, and
sharing no code with the package, so that tests can compare against it
(`cell_arguments` only reads a cell's weights and settings).
"""

import keras
import numpy as np


def relu(x):
    return np.maximum(x, 0.0)


# The activations the tests give the layer, by Keras's name for them.
ACTIVATIONS = {"relu": relu, "tanh": np.tanh, "linear": lambda x: x}


def cell_arguments(cell):
    """The weights (as float64 arrays) and settings of a built Keras
    fast-weights cell, as keyword arguments of `numpy_fast_weights`.

    Reads the cell's attributes only: the computation stays this module's.
    """

    def weight(name):
        value = getattr(cell, name)
        if value is None:
            return None
        return np.asarray(keras.ops.convert_to_numpy(value), np.float64)

    return dict(
        kernel=weight("kernel"),
        recurrent_kernel=weight("recurrent_kernel"),
        bias=weight("bias"),
        gamma=weight("gamma"),
        beta=weight("beta"),
        decay_rate=cell.decay_rate,
        fast_learning_rate=cell.fast_learning_rate,
        inner_steps=cell.inner_steps,
        activation=ACTIVATIONS[cell.activation.__name__],
        layer_norm_epsilon=cell.layer_norm_epsilon,
        update_rule=cell.update_rule,
    )


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean()
    variance = ((x - mean) ** 2).mean()
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def numpy_fast_weights(
    x,
    kernel,
    recurrent_kernel,
    bias,
    gamma=None,
    beta=None,
    decay_rate=0.95,
    fast_learning_rate=0.5,
    inner_steps=1,
    activation=relu,
    layer_norm_epsilon=1e-3,
    mask=None,
    form="matrix",
    update_rule="hebbian",
    initial_state=None,
):
    """Runs the fast-weights recurrence over a batch of sequences.

    Args:
        x: Inputs, shape (batch, T, features).
        kernel, recurrent_kernel, bias: C (features, H), W (H, H), b (H,),
            in Keras's row-vector convention: z = x·C + h·W + b.
        gamma, beta: Layer-norm gain and bias, or None for no layer norm.
        mask: Optional boolean (batch, T); a masked step keeps h and A.
        form: "matrix" keeps A(t) as a matrix; "attention" keeps the past
            hidden states and computes A(t)·h_s = η Σ λ^{t-τ} h(τ)(h(τ)ᵀh_s)
            (the Hebbian rule only).
        update_rule: "hebbian", A(t) = λ A(t-1) + η h hᵀ (eq. 1), or
            "delta", A(t) = λ A(t-1) (I - η k kᵀ) + η h kᵀ with
            k = h / sqrt(hᵀh + 1e-6).
        initial_state: Optional (h, A) of shapes (batch, H) and
            (batch, H, H) or (batch, H * H); zeros by default.

    Returns:
        (outputs, h, A): outputs (batch, T, H), where a masked step repeats
        the previous output; the last h (batch, H); the last A (batch, H, H).
    """
    if update_rule not in ("hebbian", "delta"):
        raise ValueError(f"unknown update_rule {update_rule!r}")
    if update_rule == "delta" and form != "matrix":
        raise ValueError("the delta rule's memory has no attention form")
    x = np.asarray(x, np.float64)
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    lam, eta = decay_rate, fast_learning_rate
    outputs = np.zeros((batch, steps, units))
    final_h = np.zeros((batch, units))
    final_A = np.zeros((batch, units, units))
    for b in range(batch):
        h = np.zeros(units)
        A = np.zeros((units, units))
        if initial_state is not None:
            h = np.asarray(initial_state[0][b], np.float64)
            A = np.asarray(initial_state[1][b], np.float64)
            A = A.reshape(units, units)
            if form != "matrix":
                raise ValueError("an initial A has no attention form")
        history = []  # h(1), h(2), ... : the outputs of the past steps
        for t in range(steps):
            if mask is not None and not mask[b, t]:
                outputs[b, t] = h
                continue
            if update_rule == "hebbian":
                A = lam * A + eta * np.outer(h, h)
            else:
                k = h / np.sqrt(h @ h + 1e-6)
                A = lam * A @ (np.eye(units) - eta * np.outer(k, k))
                A = A + eta * np.outer(h, k)
            history.append(h)
            z = x[b, t] @ kernel + h @ recurrent_kernel
            if bias is not None:
                z = z + bias
            h_s = activation(z)
            for _ in range(inner_steps):
                if form == "matrix":
                    recall = A @ h_s
                else:
                    recall = sum(
                        eta * lam ** (len(history) - 1 - i) * h_i * (h_i @ h_s)
                        for i, h_i in enumerate(history)
                    )
                pre = z + recall
                if gamma is not None:
                    pre = layer_norm(pre, gamma, beta, layer_norm_epsilon)
                h_s = activation(pre)
            h = h_s
            outputs[b, t] = h
        final_h[b] = h
        final_A[b] = A
    return outputs, final_h, final_A


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_associative_lstm(
    x, kernel, recurrent_kernel, bias, permutations, mask=None
):
    """Runs the Associative LSTM (Danihelka et al., 2016) over a batch, in
    complex128, one example at a time.

    Args:
        x: Inputs, shape (batch, T, features).
        kernel, recurrent_kernel, bias: W_x (features, 9n), W_h (2n, 9n),
            b (9n,) or None, in Keras's row-vector convention, with columns
            ĝ_f, ĝ_i, ĝ_o (n each), then r̂_i, r̂_o, û (2n each, real parts
            then imaginary parts), where n is the number of complex units.
        permutations: int (copies, n), the permutation P_s of each copy.
        mask: Optional boolean (batch, T); a masked step keeps h and c.

    Returns:
        (outputs, h, c): outputs (batch, T, 2n) real; the last h (batch, 2n)
        real, [real parts, imaginary parts]; the last memory (batch,
        copies, n) complex.
    """
    x = np.asarray(x, np.float64)
    batch, steps, _ = x.shape
    copies, n = permutations.shape

    def to_complex(v):
        return v[:n] + 1j * v[n:]

    def bound(v):
        return v / np.maximum(1.0, np.abs(v))

    outputs = np.zeros((batch, steps, 2 * n))
    final_h = np.zeros((batch, 2 * n))
    final_c = np.zeros((batch, copies, n), np.complex128)
    for b in range(batch):
        h = np.zeros(2 * n)
        c = np.zeros((copies, n), np.complex128)
        for t in range(steps):
            if mask is not None and not mask[b, t]:
                outputs[b, t] = h
                continue
            z = x[b, t] @ kernel + h @ recurrent_kernel
            if bias is not None:
                z = z + bias
            g_f, g_i, g_o = (sigmoid(z[k * n : (k + 1) * n]) for k in range(3))
            r_i = bound(to_complex(z[3 * n : 5 * n]))
            r_o = bound(to_complex(z[5 * n : 7 * n]))
            u = bound(to_complex(z[7 * n : 9 * n]))
            read = np.zeros(n, np.complex128)
            for s in range(copies):
                p = permutations[s]
                c[s] = g_f * c[s] + r_i[p] * (g_i * u)
                read += r_o[p] * c[s]
            out = g_o * bound(read / copies)
            h = np.concatenate([out.real, out.imag])
            outputs[b, t] = h
        final_h[b] = h
        final_c[b] = c
    return outputs, final_h, final_c
