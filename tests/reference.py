"""Independent NumPy implementation of fast weights (Ba et al., 2016).

Written from the paper's equations, one example at a time in float64, and
sharing no code with the package, so that tests can compare against it.
"""

import numpy as np


def relu(x):
    return np.maximum(x, 0.0)


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
):
    """Runs the fast-weights recurrence over a batch of sequences.

    Args:
        x: Inputs, shape (batch, T, features).
        kernel, recurrent_kernel, bias: C (features, H), W (H, H), b (H,),
            in Keras's row-vector convention: z = x·C + h·W + b.
        gamma, beta: Layer-norm gain and bias, or None for no layer norm.
        mask: Optional boolean (batch, T); a masked step keeps h and A.
        form: "matrix" keeps A(t) as a matrix; "attention" keeps the past
            hidden states and computes A(t)·h_s = η Σ λ^{t-τ} h(τ)(h(τ)ᵀh_s).

    Returns:
        (outputs, h, A): outputs (batch, T, H), where a masked step repeats
        the previous output; the last h (batch, H); the last A (batch, H, H).
    """
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
        history = []  # h(1), h(2), ... : the outputs of the past steps
        for t in range(steps):
            if mask is not None and not mask[b, t]:
                outputs[b, t] = h
                continue
            A = lam * A + eta * np.outer(h, h)
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
