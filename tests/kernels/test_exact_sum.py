import numpy as np

from hadinfer.kernels.exact_sum import ExactSum


def test_exact_sum_carries_and_keeps_the_total():
    a, b = ExactSum((3,)), ExactSum((3,))
    values = np.random.default_rng(2).normal(size=(50, 3)) * np.logspace(-20, 20, 50)[:, None]
    for v in values:
        a.add(v)
    for v in values[::-1]:
        b.add(v)
    a._carry()
    ints_a, ints_b = a.integers(), b.integers()
    assert all(int(v) * 2 ** (ints_a[1] - min(ints_a[1], ints_b[1])) == int(w) * 2 ** (ints_b[1] - min(ints_a[1], ints_b[1]))
               for v, w in zip(ints_a[0], ints_b[0]))
