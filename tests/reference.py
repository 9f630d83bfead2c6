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
    return_attention=False,
):
    """Runs the fast-weights recurrence over a batch of sequences.

    Args:
        x: Inputs, shape (batch, T, features).
        kernel, recurrent_kernel, bias: C (features, H), W (H, H), b (H,),
            in Keras's row-vector convention: z = x·C + h·W + b.
        gamma, beta: Layer-norm gain and bias, or None for no layer norm.
        mask: Optional boolean (batch, T); a masked step keeps h and A.
        form: "matrix" keeps A(t) as a matrix; "attention" keeps a key
            k(τ) and a value v(τ) for each past hidden state and computes
            A(t)·h_s = η Σ λ^{t-τ} v(τ)(k(τ)ᵀh_s): k = v = h for the
            Hebbian rule; for the delta rule k(τ) = h(τ)/sqrt(h(τ)ᵀh(τ) +
            1e-6) and v(τ) = h(τ) - λ A(τ-1)·k(τ), each read from the
            entries before it.
        update_rule: "hebbian", A(t) = λ A(t-1) + η h hᵀ (eq. 1), or
            "delta", A(t) = λ A(t-1) (I - η k kᵀ) + η h kᵀ with
            k = h / sqrt(hᵀh + 1e-6).
        initial_state: Optional (h, A) of shapes (batch, H) and
            (batch, H, H) or (batch, H * H); zeros by default.
        return_attention: With form="attention" (no mask, no initial
            state), also return the weights and values of every read.

    Returns:
        (outputs, h, A): outputs (batch, T, H), where a masked step repeats
        the previous output; the last h (batch, H); the last A (batch, H, H)
        (with form="attention", zeros). With return_attention, a fourth
        element (weights, values): weights (batch, S, T, T), where
        weights[b, s, i, j] = η λ^(i-1-j) k(j+1)ᵀ h_s is the weight of the
        value of the output of step j in the s-th read of step i (0 for
        j >= i), and values (batch, T, H), values[b, j] = v(j+1), so that
        Σ_j weights[b, s, i, j] values[b, j] = A(i)·h_s.
    """
    if update_rule not in ("hebbian", "delta"):
        raise ValueError(f"unknown update_rule {update_rule!r}")
    if return_attention and (
        form != "attention" or mask is not None or initial_state is not None
    ):
        raise ValueError("return_attention needs form='attention' alone")
    x = np.asarray(x, np.float64)
    batch, steps, _ = x.shape
    units = recurrent_kernel.shape[0]
    lam, eta = decay_rate, fast_learning_rate
    outputs = np.zeros((batch, steps, units))
    final_h = np.zeros((batch, units))
    final_A = np.zeros((batch, units, units))
    weights = np.zeros((batch, inner_steps, steps, steps))
    values = np.zeros((batch, steps, units))

    def entry(h, entries):
        """The key and value with which h enters the memory `entries`."""
        if update_rule == "hebbian":
            return h, h
        k = h / np.sqrt(h @ h + 1e-6)
        recalled = sum(
            eta * lam ** (len(entries) - 1 - i) * v_i * (k_i @ k)
            for i, (k_i, v_i) in enumerate(entries)
        )
        return k, h - lam * recalled

    for b in range(batch):
        h = np.zeros(units)
        A = np.zeros((units, units))
        if initial_state is not None:
            h = np.asarray(initial_state[0][b], np.float64)
            A = np.asarray(initial_state[1][b], np.float64)
            A = A.reshape(units, units)
            if form != "matrix":
                raise ValueError("an initial A has no attention form")
        # (k, v) of h(0), h(1), ...: the h entering each unmasked step.
        entries = []
        for t in range(steps):
            if mask is not None and not mask[b, t]:
                outputs[b, t] = h
                continue
            if form == "matrix" and update_rule == "hebbian":
                A = lam * A + eta * np.outer(h, h)
            elif form == "matrix":
                k = h / np.sqrt(h @ h + 1e-6)
                A = lam * A @ (np.eye(units) - eta * np.outer(k, k))
                A = A + eta * np.outer(h, k)
            else:
                entries.append(entry(h, entries))
            z = x[b, t] @ kernel + h @ recurrent_kernel
            if bias is not None:
                z = z + bias
            h_s = activation(z)
            for s in range(inner_steps):
                if form == "matrix":
                    recall = A @ h_s
                else:
                    read = [
                        eta * lam ** (len(entries) - 1 - i) * (k_i @ h_s)
                        for i, (k_i, _) in enumerate(entries)
                    ]
                    recall = sum(w * v_i for w, (_, v_i) in zip(read, entries))
                    # Entry i + 1 is that of the output of step i.
                    weights[b, s, t, :t] = read[1:]
                pre = z + recall
                if gamma is not None:
                    pre = layer_norm(pre, gamma, beta, layer_norm_epsilon)
                h_s = activation(pre)
            h = h_s
            outputs[b, t] = h
        final_h[b] = h
        final_A[b] = A
        if return_attention:
            # The entry of the last output, which no step of x reads.
            entries.append(entry(h, entries))
            values[b] = [v for _, v in entries[1:]]
    if return_attention:
        return outputs, final_h, final_A, (weights, values)
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
