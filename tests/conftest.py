import os

import keras
import pytest

STUDY = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "study"
)


def pytest_collection_modifyitems(items):
    """The study's >>> examples, like tests/study/test_method.py, check
    properties of the equations: backend_independent (pyproject.toml)."""
    for item in items:
        if isinstance(item, pytest.DoctestItem) and str(item.path).startswith(
            STUDY + os.sep
        ):
            item.add_marker(pytest.mark.backend_independent)


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


@pytest.fixture(scope="session", autouse=True)
def _shared_jax_compilation_cache(tmp_path_factory):
    """One JAX compilation cache for the session, shared by the xdist
    workers and the scripts the tests run: models of the same shapes (the
    trials of a grid, the same model in several tests) compile once."""
    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    # The base temporary directory's parent is common to the workers.
    directory = str(tmp_path_factory.getbasetemp().parent / "jax_cache")
    previous = jax.config.jax_compilation_cache_dir
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JAX_COMPILATION_CACHE_DIR", directory)
        patch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
        jax.config.update("jax_compilation_cache_dir", directory)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
        yield
        jax.config.update("jax_compilation_cache_dir", previous)
