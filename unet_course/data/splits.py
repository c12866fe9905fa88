"""Train / validation / test splits: at random (the seed) or by spatial blocks.

Lesson 1, "Aerial tiles and masks", compares the two ways to split tiles.
The seed split tiles at random, 70/15/15. Neighbouring tiles share roads,
roof styles and sometimes the same house cut in two, so a random split puts
near-copies of test tiles in the training set and flatters the test score.
:func:`spatial_block_split` groups tiles into square blocks of neighbouring
origins and sends each whole block to one split.
"""
from __future__ import annotations

import numpy as np

from unet_course.data.errors import DatasetError
from unet_course.validate import whole_number

DEFAULT_FRACTIONS = (0.70, 0.15, 0.15)
BLOCK_METRES = 1200.0          # 4 x 4 real 256 px tiles (300 m each)


def _check_fractions(fractions) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or np.any(f < 0) or not np.isclose(f.sum(), 1.0):
        raise DatasetError(f"fractions={tuple(fractions)!r}: expected three non-negative "
                           f"numbers (train, validation, test) that sum to 1")
    return f


def split_sizes(n: int, fractions=DEFAULT_FRACTIONS) -> np.ndarray:
    """How many of ``n`` items each split gets: rounded down, leftovers to the largest remainders.

    Examples
    --------
    >>> split_sizes(10).tolist()
    [7, 2, 1]
    """
    f = _check_fractions(fractions)
    exact = f * n
    sizes = np.floor(exact).astype(np.int64)
    leftover = n - sizes.sum()
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:leftover]] += 1
    return sizes


def random_split(n: int, fractions=DEFAULT_FRACTIONS, seed: int = 42) -> tuple:
    """Shuffle ``range(n)`` with ``seed`` and cut it into train, validation and test.

    Parameters
    ----------
    n : int
        Number of tiles.
    fractions : tuple of float
        Train, validation and test shares, summing to 1 (the seed: 70/15/15).
    seed : int
        The same seed gives the same split.

    Returns
    -------
    train_idx, val_idx, test_idx : numpy.ndarray
        Sorted int64 indices; disjoint, and together exactly ``range(n)``.
    """
    whole_number(n, "n", minimum=0, error=DatasetError)
    sizes = split_sizes(int(n), fractions)
    order = np.random.default_rng(seed).permutation(int(n))
    cuts = np.cumsum(sizes)[:2]
    return tuple(np.sort(part) for part in np.split(order, cuts))


def block_ids(origins, block_size: float = BLOCK_METRES) -> np.ndarray:
    """Number the square blocks of side ``block_size`` that hold each origin ``(x, y)``."""
    origins = np.asarray(origins, dtype=np.float64)
    if origins.ndim != 2 or origins.shape[1] != 2:
        raise DatasetError(f"origins have shape {origins.shape}; expected (N, 2) tile positions (x, y)")
    if not block_size > 0:
        raise DatasetError(f"block_size={block_size!r}: expected a positive length in origin units")
    cells = np.floor(origins / block_size).astype(np.int64)
    return np.unique(cells, axis=0, return_inverse=True)[1].reshape(-1)


def spatial_block_split(origins, fractions=DEFAULT_FRACTIONS, block_size: float = BLOCK_METRES,
                        seed: int = 42) -> tuple:
    """Split tiles so that every block of neighbouring tiles lands in one split.

    Blocks are shuffled with ``seed`` and dealt out in that order: a block
    joins the split in which the middle of its run of tiles falls, so split
    sizes come close to ``fractions`` (exactly only when blocks are small).
    When there are at least as many blocks as non-zero fractions, no such
    split is left empty.

    Parameters
    ----------
    origins : array-like
        ``(N, 2)`` tile positions, e.g. :attr:`TileSet.origins` (metres).
    fractions : tuple of float
        Train, validation and test shares, summing to 1.
    block_size : float
        Side of a block in origin units. The default, 1200 m, is 4 x 4 tiles
        of 300 m: the real 256 px tiles, and the synthetic scenes exactly.
    seed : int
        The same seed gives the same split.

    Returns
    -------
    train_idx, val_idx, test_idx : numpy.ndarray
        Sorted int64 tile indices, disjoint and covering all tiles.
    """
    f = _check_fractions(fractions)
    blocks = block_ids(origins, block_size)
    n_blocks = int(blocks.max()) + 1 if len(blocks) else 0
    counts = np.bincount(blocks, minlength=n_blocks)
    order = np.random.default_rng(seed).permutation(n_blocks)
    middle = np.cumsum(counts[order]) - counts[order] / 2
    bounds = np.cumsum(f)[:2] * len(blocks)
    side = np.searchsorted(bounds, middle, side="right")       # 0 train, 1 validation, 2 test
    for want in np.flatnonzero(f > 0):                         # leave no wanted split empty
        if n_blocks >= np.count_nonzero(f) and not np.any(side == want):
            donors = [s for s in range(3) if np.sum(side == s) > 1]
            donor = max(donors, key=lambda s: np.sum(side == s))
            side[np.flatnonzero(side == donor)[-1]] = want
    split_of_block = np.empty(n_blocks, dtype=np.int64)
    split_of_block[order] = side
    split_of_tile = split_of_block[blocks]
    return tuple(np.flatnonzero(split_of_tile == s).astype(np.int64) for s in range(3))
