"""The max-tree paths the area filters' tests run on."""


def max_tree_paths() -> list[bool]:
    """scikit-image's max-tree (False), and the compiled one (True) where Numba is installed."""
    try:
        import numba  # noqa: F401  (only whether it imports)
    except ImportError:
        return [False]
    return [False, True]
