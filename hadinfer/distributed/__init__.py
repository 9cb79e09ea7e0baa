"""Running hadinfer on a Dask cluster (extra ``dask``): many scenes, one huge scene, dask arrays.

Nothing here imports dask or distributed at import time; each entry point imports them
when called and raises :class:`~hadinfer.errors.MissingDependencyError`, naming the extra,
when they are missing.

* :mod:`.cluster` -- a ``Client`` for ``local`` (a ``LocalCluster``) or ``tcp://HOST:PORT``.
* :mod:`.specs` -- picklable descriptions of a scene and a detector that workers open
  and build themselves (files and ONNX sessions never travel).
* :mod:`.stats_reduction` -- per-strip background statistics and their exact tree merge.
* :mod:`.strips` -- splitting a scene into row strips and scoring one strip on a worker.
* :mod:`.strip_detect` -- one scene across the cluster, written by the client.
* :mod:`.scene_batch` -- one task per scene.
* :mod:`.dask_arrays` -- dask arrays and DataArrays (their public entry point is :mod:`hadinfer.dask`).
"""
