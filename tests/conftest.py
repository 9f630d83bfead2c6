import keras
import pytest


@pytest.fixture(autouse=True)
def _restore_keras_globals():
    """Undoes set_floatx / set_dtype_policy calls of a test."""
    floatx = keras.config.floatx()
    policy = keras.config.dtype_policy()
    yield
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)


@pytest.fixture
def float64_backend():
    """JAX computes in float32 unless 64-bit types are enabled."""
    if keras.backend.backend() == "jax":
        import jax

        with jax.enable_x64(True):
            yield
    else:
        yield


@pytest.fixture
def short_chunks(monkeypatch):
    """Chunks of 4 steps, so that FastWeightsRNN's "chunked" path runs two
    chunks and a rest in 11 steps, in a fraction of the time JAX takes to
    compile a chunk of 32."""
    from keras_fastweights.layers import fast_weights_rnn

    monkeypatch.setattr(fast_weights_rnn, "CHUNK_LENGTH", 4)
