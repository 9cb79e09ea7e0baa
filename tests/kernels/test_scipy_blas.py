"""SciPy's Cython BLAS without ``scipy.linalg``: loaded cheaply, and no trace left for later imports.

Each check runs in a fresh interpreter: what is asserted is the state of ``sys.modules``
there, which this test process has long since changed.
"""

import os
import subprocess
import sys
import textwrap

import pytest


def run_fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          check=False, env=dict(os.environ, HADINFER_COMPILED="1"))
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_module_comes_without_scipy_linalg_and_later_imports_get_the_same_one():
    pytest.importorskip("scipy")
    out = run_fresh("""
        import sys
        from hadinfer.kernels.scipy_blas import scipy_cython_blas
        module = scipy_cython_blas()
        assert "strmm" in module.__pyx_capi__
        assert "scipy.linalg" not in sys.modules and "scipy.linalg.cython_blas" not in sys.modules
        import scipy.linalg.cython_blas
        import scipy.linalg
        assert scipy.linalg.cython_blas is module  # the package's attribute is set as usual
        assert scipy_cython_blas() is module
        print("ok")
    """)
    assert out == "ok"


def test_the_first_compiled_call_leaves_scipy_linalg_unloaded_and_numba_with_blas():
    pytest.importorskip("scipy")
    pytest.importorskip("numba")
    out = run_fresh("""
        import sys
        import numpy as np
        from hadinfer.kernels.gelu import gelu, gelu_numpy
        x = np.linspace(-4, 4, 101, dtype=np.float32)
        np.testing.assert_allclose(gelu(x), gelu_numpy(x), rtol=1e-6, atol=1e-7)  # the compiled kernel ran
        assert "numba" in sys.modules
        assert "scipy.linalg" not in sys.modules and "scipy.linalg.cython_blas" not in sys.modules
        import numba.np.arraymath
        assert getattr(numba.np.arraymath, "_HAVE_BLAS", True)  # Numba's BLAS check (a private name) found it
        from scipy.linalg import cython_blas
        import scipy.linalg
        assert scipy.linalg.cython_blas is cython_blas
        print("ok")
    """)
    assert out == "ok"


def test_a_fusion_run_on_a_scene_with_the_triangular_product_never_imports_scipy_linalg(tmp_path):
    pytest.importorskip("scipy")
    pytest.importorskip("numba")
    scene = tmp_path / "scene.tif"
    out = run_fresh(f"""
        import sys
        import hadinfer
        from hadinfer.kernels.triangular_energy import TRIANGULAR_MIN_VALUES
        from hadinfer.synthetic import write_synthetic_scene
        write_synthetic_scene({str(scene)!r}, height=64, width=64, bands=40, dtype="int16")
        assert 64 * 64 * 40 < TRIANGULAR_MIN_VALUES  # so lower it: this scene then takes the triangular product
        import hadinfer.kernels.triangular_energy as module
        module.TRIANGULAR_MIN_VALUES = 0
        report = hadinfer.detect({str(scene)!r}, detector="fusion", device="cpu").report
        assert report["energy_product"] == "triangular", report["energy_product"]
        assert "numba" in sys.modules and "scipy.linalg" not in sys.modules
        print("ok")
    """)
    assert out == "ok"


def test_scipy_linalg_loaded_during_the_first_dispatch_gets_its_attribute():
    pytest.importorskip("scipy")
    out = run_fresh("""
        import sys
        from hadinfer.kernels.scipy_blas import numba_dispatch
        with numba_dispatch():  # as if another thread imported scipy.linalg during Numba's first dispatch
            import scipy.linalg
            module = sys.modules["scipy.linalg.cython_blas"]
        assert scipy.linalg.cython_blas is module and sys.modules["scipy.linalg.cython_blas"] is module
        with numba_dispatch():  # later calls change nothing
            pass
        print("ok")
    """)
    assert out == "ok"
