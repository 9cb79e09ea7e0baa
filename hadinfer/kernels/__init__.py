"""The numeric kernels detectors and the network's input share.

- :mod:`~hadinfer.kernels.statistics`: streaming background statistics and their exact
  merge, float32 scaling, whitening and PCA;
- :mod:`~hadinfer.kernels.whitened_energy`: global RX's per-pixel energy, formed by
  :mod:`~hadinfer.kernels.triangular_energy`'s half-cost triangular product;
- :mod:`~hadinfer.kernels.ring_sums`: whitened components, exact ring sums from integral
  images, and the batched per-pixel solves of dual-window RX;
- :mod:`~hadinfer.kernels.ring_sums_compiled`: the same for one block in one compiled pass
  (Numba, extra ``fast``), chosen by :func:`~hadinfer.kernels.compiled.compiled_kernels`;
- :mod:`~hadinfer.kernels.gelu`: the feature network's activation, NumPy or compiled
  (:mod:`~hadinfer.kernels.gelu_compiled`).

They import nothing from :mod:`hadinfer.detectors` or :mod:`hadinfer.models`; both import
from here.
"""
