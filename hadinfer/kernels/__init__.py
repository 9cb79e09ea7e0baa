"""The numeric kernels detectors and the network's input share.

- :mod:`~hadinfer.kernels.statistics`: streaming background statistics and their exact
  merge (:mod:`~hadinfer.kernels.exact_sum`), each window's sums
  (:mod:`~hadinfer.kernels.window_sums`);
- :mod:`~hadinfer.kernels.centring`: windows centred a block at a time, float32 scaling;
- :mod:`~hadinfer.kernels.whitening`: whitening and PCA from a covariance;
- :mod:`~hadinfer.kernels.whitened_energy`: global RX's per-pixel energy, formed by
  :mod:`~hadinfer.kernels.triangular_energy`'s half-cost triangular product;
- :mod:`~hadinfer.kernels.ring_sums`: whitened components, exact ring sums from integral
  images, and the batched per-pixel solves of dual-window RX;
- :mod:`~hadinfer.kernels.ring_sums_compiled`: the same for one block in one compiled pass
  (Numba, extra ``fast``), chosen by :func:`~hadinfer.kernels.compiled.compiled_kernels`;
- :mod:`~hadinfer.kernels.area_profile`: area openings and closings of component images
  (scikit-image, extra ``area``), or :mod:`~hadinfer.kernels.area_profile_compiled`'s
  max-tree (Numba), the same bits;
- :mod:`~hadinfer.kernels.gelu`: the feature network's activation, NumPy or compiled
  (:mod:`~hadinfer.kernels.gelu_compiled`).

They import nothing from :mod:`hadinfer.detectors` or :mod:`hadinfer.models`; both import
from here.
"""
