"""This machine's floors: what the arithmetic of global RX and of the shipped network costs here.

- :func:`blas_floor`: the two products GRX cannot avoid (the scatter ``X^T X`` and the
  projection's row norms, or the triangular product's), on random data of a scene's size,
  one 256x256 tile of rows at a time, in the faster of the two schedules the pipeline could
  use;
- :func:`gemm_rate` and :func:`network_flops_per_pixel`: a network's floor, its convolutions'
  FLOPs at this machine's float32 matrix-multiply rate.

Used by ``timing.py`` (its ``floor-*`` cases) and ``grx_budget.py``.
"""

from __future__ import annotations

import time

#: Rows of one 256x256 tile: the granularity the pipeline and the BLAS floors work at.
TILE_PIXELS = 256 * 256

#: At most this much random data is generated for a BLAS floor; larger scenes cycle through it.
FLOOR_DATA_BYTES = 2**30


def device_clock(device: str):
    """A clock that waits for queued GPU work first."""
    if device == "cpu":
        return time.perf_counter
    import torch

    def clock():
        torch.cuda.synchronize()
        return time.perf_counter()
    return clock


def blas_floor(shape, dtype: str, device: str = "cpu", triangular: bool = False) -> dict:
    """Seconds of the scatter and of the projection with row norms, a tile of rows at a time.

    Random data of the scene's size (up to :data:`FLOOR_DATA_BYTES`, then reused) is made
    before the clock starts, so only the two products and the norms are timed.  On the CPU
    both schedules hadinfer could use are timed, and the floor is the faster: one product
    at a time with every BLAS thread, and (with threadpoolctl) a tile per core with one BLAS
    thread each, as the pipeline scores.  On the 2-core Intel VM the second was 0.79-0.92 s
    against 1.14-1.41 s for the first (2026-12-07): a floor taken from the first alone took
    1.4-1.8x as long as the machine needs, and flattered every ratio to it by that much.

    ``triangular`` (CPU, SciPy) forms the norms with the triangular product instead
    (:func:`_triangular_energy_blocks`).

    Returns
    -------
    dict
        ``seconds`` (their sum), ``covariance_seconds``, ``projection_seconds``, ``pixels``,
        ``schedule`` (the faster) and ``schedules`` (each one's seconds).
    """
    rows, cols, bands = shape
    pixels = rows * cols
    itemsize = 4 if dtype == "float32" else 8
    held = max(1, min(pixels, FLOOR_DATA_BYTES // (bands * itemsize)) // TILE_PIXELS) * TILE_PIXELS
    held = min(held, pixels)
    if device == "cpu":
        import numpy as np

        rng = np.random.default_rng(0)
        data = rng.standard_normal((held, bands), dtype=np.float32 if dtype == "float32" else np.float64)
        projection = rng.standard_normal((bands, bands)).astype(data.dtype)

        def scatter(x):
            return x.T @ x  # NumPy calls a symmetric rank-k update for this product

        def energy(x):
            y = x @ projection
            return np.einsum("ij,ij->i", y, y)
        if triangular:
            energy = _triangular_energy_blocks(rng, held, bands, data.dtype)
    else:
        import torch

        kind = torch.float32 if dtype == "float32" else torch.float64
        torch.backends.cuda.matmul.allow_tf32 = False  # a float32 floor, not a TF32 one
        data = torch.randn((held, bands), dtype=kind, device=device)
        projection = torch.randn((bands, bands), dtype=kind, device=device)

        def scatter(x):
            return x.T @ x

        def energy(x):
            y = x @ projection
            return (y * y).sum(dim=1)
    clock = device_clock(device)
    blocks = [(start % held, min(TILE_PIXELS, pixels - start)) for start in range(0, pixels, TILE_PIXELS)]
    # Warm-up: thread pools, kernels.
    scatter(data[:TILE_PIXELS]), energy(blocks[0] if triangular else data[:TILE_PIXELS])

    def passes(run):
        """(scatter seconds, projection seconds) of every block through ``run(function, blocks)``."""
        start = clock()
        run(lambda block: scatter(data[block[0]:block[0] + block[1]]), blocks)
        middle = clock()
        run(lambda block: energy(block) if triangular else energy(data[block[0]:block[0] + block[1]]), blocks)
        return middle - start, clock() - middle

    timed = {"one product at a time, every BLAS thread": passes(lambda f, items: [f(item) for item in items])}
    workers = _cpu_workers() if device == "cpu" else 1
    if workers > 1:
        from concurrent.futures import ThreadPoolExecutor

        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            passes(lambda f, items: list(pool.map(f, items)))  # warm-up: the pool's threads
            timed[f"a tile per core ({workers}), one BLAS thread each"] = passes(
                lambda f, items: list(pool.map(f, items)))
    schedule = min(timed, key=lambda name: sum(timed[name]))
    covariance, projection = timed[schedule]
    return {"seconds": covariance + projection, "covariance_seconds": covariance, "projection_seconds": projection,
            "pixels": pixels, "data_pixels": held, "schedule": schedule,
            "schedules": {name: round(sum(parts), 4) for name, parts in timed.items()}}


def _triangular_energy_blocks(rng, held: int, bands: int, dtype):
    """``energy((start, count))``: the triangular product's norms of a block of rows, chunk by chunk.

    The pipeline centres a window into column-major chunks of :data:`CHUNK_ROWS` rows and
    multiplies each in place (``trmm`` overwrites its input), so the random data are held as
    such chunks, made before the clock starts.  The projection is orthogonal, so however
    many passes reuse the data they keep their size (the product's cost does not depend on
    the values).  A block that ends inside a chunk is charged the whole chunk.
    """
    import numpy as np

    from hadinfer.kernels.centring import CHUNK_ROWS
    from hadinfer.kernels.triangular_energy import energy_factor, triangular_energy

    chunks = rng.standard_normal((-(-held // CHUNK_ROWS), bands, CHUNK_ROWS), dtype=dtype)
    orthogonal = np.linalg.qr(rng.standard_normal((bands, bands)))[0].astype(dtype)
    factor = energy_factor(orthogonal)

    def energy(block):
        first = (block[0] % held) // CHUNK_ROWS
        count = -(-block[1] // CHUNK_ROWS)
        return [triangular_energy(chunks[index].T, factor) for index in range(first, first + count)]
    return energy


def _cpu_workers() -> int:
    """Cores a tile-per-core schedule would use: 1 without threadpoolctl (BLAS cannot be held to a thread)."""
    from hadinfer.cpu_threads import can_limit_blas, cpu_cores

    return cpu_cores() if can_limit_blas() else 1


def gemm_rate(device: str = "cpu", size: int = 2048, repeat: int = 5) -> float:
    """This machine's float32 matrix-multiply rate in FLOP/s: best of ``repeat`` square products."""
    if device == "cpu":
        import numpy as np

        rng = np.random.default_rng(0)
        a, b = (rng.standard_normal((size, size), dtype=np.float32) for _ in range(2))

        def product():
            return a @ b
    else:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        size *= 4
        a, b = (torch.randn((size, size), device=device) for _ in range(2))

        def product():
            return a @ b
    clock = device_clock(device)
    product()
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        product()
        best = min(best, clock() - start)
    return 2.0 * size**3 / best


def network_flops_per_pixel(onnx_path: str) -> float:
    """Multiply-add FLOPs (2 per multiply-add) per output pixel of a fully convolutional ONNX graph.

    Counts every ``Conv`` node from its weight's shape (``Cout x Cin/groups x kh x kw``),
    divided by its strides; elementwise nodes (normalisations, activations) are left out,
    as a GEMM rate could not price them anyway.

    Raises
    ------
    ValueError
        A convolution whose weight is not an initializer.
    """
    import onnx

    graph = onnx.load(onnx_path).graph
    weights = {init.name: list(init.dims) for init in graph.initializer}
    flops = 0.0
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        if node.input[1] not in weights:
            raise ValueError(f"{onnx_path}: Conv {node.name!r} has a computed weight; cannot count its FLOPs")
        out_channels, in_per_group, *kernel = weights[node.input[1]]
        strides = next((list(a.ints) for a in node.attribute if a.name == "strides"), [1] * len(kernel))
        per_pixel = 2.0 * out_channels * in_per_group
        for k, s in zip(kernel, strides):
            per_pixel *= k / s
        flops += per_pixel
    return flops
