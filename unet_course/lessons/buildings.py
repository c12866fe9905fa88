"""Buildings as objects: connected components, sizes and recall by size (lesson 3).

Pixel metrics treat a mask as a bag of pixels, so one large roof outweighs
twenty garden sheds. Lesson 3 "BCE versus Dice" looks at buildings one by one:

- :func:`label_components` numbers the separate buildings of a mask (a
  *connected component* is a group of building pixels that touch);
- :func:`building_table` lists every true building with its size in pixels
  and the share of its pixels the prediction found;
- :func:`size_edges` cuts building sizes into classes with equal counts
  (the smallest third, the middle third, the largest third);
- :func:`recall_by_size` says which share of the buildings in each class
  were found, so a loss that misses small buildings shows it.

Examples
--------
>>> import numpy as np
>>> mask = np.array([[1, 1, 0, 0],
...                  [0, 0, 0, 1],
...                  [0, 0, 0, 1]])
>>> labels, n = label_components(mask)
>>> n
2
>>> component_sizes(labels, n).tolist()
[2, 2]
"""
from __future__ import annotations

import numpy as np

from unet_course.validate import whole_number

__all__ = [
    "CONNECTIVITIES",
    "label_components",
    "component_sizes",
    "building_table",
    "size_edges",
    "recall_by_size",
]

#: 4: pixels touch through an edge; 8: through an edge or a corner.
CONNECTIVITIES = (4, 8)


def _binary(array, name, ndim, threshold=None):
    """Return ``array`` as a boolean array of ``ndim`` dimensions, or raise ``ValueError``."""
    array = np.asarray(array)
    if array.ndim not in ndim:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, ndim))} dimensions, "
            f"got shape {array.shape}"
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
    if threshold is None:
        return array.astype(bool)
    return array > threshold


def _runs(row):
    """Start and stop (exclusive) column of each run of True in a 1-D boolean row."""
    edges = np.diff(np.concatenate(([0], row.view(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _find(parent, node):
    """Root of ``node`` in the union-find forest ``parent`` (with path halving)."""
    while parent[node] != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def label_components(mask, connectivity=8):
    """Number the connected groups of building pixels of one mask.

    A two-pass labelling over runs: each row is cut into runs of building
    pixels, a run that touches a run of the row above joins its group
    (union-find), and a second pass numbers the groups 1, 2, ... in the
    order their first pixel appears, reading rows top to bottom.

    Lesson 3 "BCE versus Dice" uses it to count buildings.

    Parameters
    ----------
    mask : array_like, shape (H, W)
        Building mask; any non-zero value is a building pixel.
    connectivity : {4, 8}, default 8
        4: pixels that share an edge belong together; 8: a shared corner
        is enough (a diagonal roof edge stays one building).

    Returns
    -------
    labels : numpy.ndarray of int32, shape (H, W)
        0 for background, ``1..n`` for the buildings.
    n : int
        Number of buildings.

    Raises
    ------
    ValueError
        When ``mask`` is not 2-D or ``connectivity`` is not 4 or 8.

    Examples
    --------
    >>> import numpy as np
    >>> diagonal = np.eye(3, dtype=np.uint8)
    >>> label_components(diagonal, connectivity=4)[1]
    3
    >>> label_components(diagonal, connectivity=8)[1]
    1
    """
    if connectivity not in CONNECTIVITIES:
        raise ValueError(f"connectivity must be 4 or 8, got {connectivity!r}")
    mask = _binary(mask, "mask", (2,))
    reach = 1 if connectivity == 8 else 0   # how far a diagonal neighbour may sit
    parent = []
    row_runs = []                            # per row: (starts, stops, provisional ids)
    previous = (np.empty(0, int), np.empty(0, int), [])
    for row in mask:
        starts, stops = _runs(np.ascontiguousarray(row))
        ids = []
        above = 0
        prev_starts, prev_stops, prev_ids = previous
        for start, stop in zip(starts, stops):
            node = len(parent)
            parent.append(node)
            # skip runs above that end before this one can touch them
            while above < len(prev_starts) and prev_stops[above] + reach <= start:
                above += 1
            k = above
            while k < len(prev_starts) and prev_starts[k] < stop + reach:
                root_a, root_b = _find(parent, node), _find(parent, prev_ids[k])
                if root_a != root_b:
                    parent[max(root_a, root_b)] = min(root_a, root_b)
                k += 1
            ids.append(node)
        row_runs.append((starts, stops, ids))
        previous = (starts, stops, ids)

    labels = np.zeros(mask.shape, dtype=np.int32)
    final = {}
    for r, (starts, stops, ids) in enumerate(row_runs):
        for start, stop, node in zip(starts, stops, ids):
            root = _find(parent, node)
            if root not in final:
                final[root] = len(final) + 1
            labels[r, start:stop] = final[root]
    return labels, len(final)


def component_sizes(labels, n):
    """Pixels in each labelled building.

    Parameters
    ----------
    labels : array_like of int, shape (H, W)
        Output of :func:`label_components`.
    n : int
        Number of buildings.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        ``sizes[i]`` is the number of pixels of building ``i + 1``.
    """
    labels = np.asarray(labels)
    return np.bincount(labels.ravel(), minlength=n + 1)[1:n + 1].astype(np.int64)


def building_table(y_true, y_prob, threshold=0.5, connectivity=8):
    """Every true building with its size and the share of it the prediction found.

    Lesson 3 "BCE versus Dice" builds its recall-by-size table from it.

    Parameters
    ----------
    y_true : array_like, shape (H, W) or (N, H, W)
        True masks (non-zero: building).
    y_prob : array_like, same shape as ``y_true``
        Predicted probabilities (or a 0/1 prediction).
    threshold : float, default 0.5
        A pixel is predicted building when ``y_prob > threshold`` (as in
        :mod:`unet_course.metrics`).
    connectivity : {4, 8}, default 8
        See :func:`label_components`.

    Returns
    -------
    dict of numpy.ndarray, one entry per true building
        ``"tile"`` (index of the tile), ``"size"`` (pixels) and
        ``"coverage"`` (share of its pixels predicted building, 0..1).

    Raises
    ------
    ValueError
        When the shapes differ or are not 2-D / 3-D.
    """
    truth = _binary(y_true, "y_true", (2, 3))
    found = _binary(y_prob, "y_prob", (2, 3), threshold=threshold)
    if truth.shape != found.shape:
        raise ValueError(
            f"y_true and y_prob must have the same shape, got {truth.shape} and {found.shape}"
        )
    if truth.ndim == 2:
        truth, found = truth[None], found[None]
    tiles, sizes, hits = [], [], []
    for index, (mask, predicted) in enumerate(zip(truth, found)):
        labels, n = label_components(mask, connectivity)
        size = component_sizes(labels, n)
        hit = np.bincount(labels[predicted], minlength=n + 1)[1:n + 1]
        tiles.append(np.full(n, index, dtype=np.int64))
        sizes.append(size)
        hits.append(hit)
    size = np.concatenate(sizes) if sizes else np.empty(0, np.int64)
    hit = np.concatenate(hits) if hits else np.empty(0, np.int64)
    return {
        "tile": np.concatenate(tiles) if tiles else np.empty(0, np.int64),
        "size": size,
        "coverage": hit / np.maximum(size, 1),
    }


def size_edges(sizes, n_classes=3):
    """Size limits that cut buildings into ``n_classes`` classes of equal count.

    With 3 classes the edges are the 1/3 and 2/3 quantiles: "small" is the
    smallest third of the buildings, whatever the tile size of the profile.

    Parameters
    ----------
    sizes : array_like of int
        Building sizes in pixels (``building_table(...)["size"]``).
    n_classes : int, default 3
        Number of classes (>= 1).

    Returns
    -------
    numpy.ndarray of float, shape (n_classes - 1,)
        Increasing edges; class ``i`` holds sizes ``s`` with
        ``edges[i-1] < s <= edges[i]``.

    Raises
    ------
    ValueError
        When ``sizes`` is empty or ``n_classes`` is below 1.
    """
    sizes = np.asarray(sizes, dtype=float).ravel()
    whole_number(n_classes, "n_classes")
    if sizes.size == 0:
        raise ValueError("sizes is empty: there are no buildings to cut into size classes")
    quantiles = np.arange(1, n_classes) / n_classes
    return np.quantile(sizes, quantiles)


def _class_names(n_classes):
    """'small', 'medium', 'large' for three classes, else 'class 1', 'class 2', ..."""
    if n_classes == 3:
        return ["small", "medium", "large"]
    if n_classes == 2:
        return ["small", "large"]
    return [f"class {i + 1}" for i in range(n_classes)]


def recall_by_size(y_true, y_prob, edges, threshold=0.5, min_coverage=0.5, connectivity=8):
    """Share of true buildings found, per size class.

    A building counts as *found* when at least ``min_coverage`` of its pixels
    are predicted building. Lesson 3 "BCE versus Dice" compares losses with it.

    Parameters
    ----------
    y_true, y_prob : array_like, shape (H, W) or (N, H, W)
        True masks and predicted probabilities (or 0/1 predictions).
    edges : array_like of float
        Increasing size limits in pixels (see :func:`size_edges`); ``k``
        edges make ``k + 1`` classes, class ``i`` holding sizes ``s`` with
        ``edges[i-1] < s <= edges[i]``.
    threshold : float, default 0.5
        A pixel is predicted building when ``y_prob > threshold``.
    min_coverage : float, default 0.5
        Share of a building's pixels that must be found, in (0, 1].
    connectivity : {4, 8}, default 8
        See :func:`label_components`.

    Returns
    -------
    list of dict, one per class, smallest first
        ``name``, ``min_size``, ``max_size`` (pixels: the class holds
        ``min_size < size <= max_size``; ``inf`` for the last class), ``buildings``, ``found``,
        ``recall`` (``found / buildings``; 1.0 when the class is empty:
        nothing to find and nothing missed) and ``pixel_recall`` (share of
        the class's pixels predicted building; 1.0 when empty).

    Raises
    ------
    ValueError
        When ``edges`` is not increasing or ``min_coverage`` is outside (0, 1].
    """
    edges = np.asarray(edges, dtype=float).ravel()
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be strictly increasing, got {edges.tolist()}")
    if not 0.0 < min_coverage <= 1.0:
        raise ValueError(f"min_coverage must be in (0, 1], got {min_coverage!r}")
    table = building_table(y_true, y_prob, threshold=threshold, connectivity=connectivity)
    classes = np.searchsorted(edges, table["size"], side="left")
    limits = np.concatenate(([0.0], edges, [np.inf]))
    rows = []
    for index, name in enumerate(_class_names(len(edges) + 1)):
        members = classes == index
        size = table["size"][members]
        coverage = table["coverage"][members]
        n = int(members.sum())
        found = int(np.sum(coverage >= min_coverage))
        pixels = int(size.sum())
        rows.append({
            "name": name,
            "min_size": float(limits[index]),
            "max_size": float(limits[index + 1]),
            "buildings": n,
            "found": found,
            "recall": found / n if n else 1.0,
            "pixel_recall": float(np.sum(coverage * size) / pixels) if pixels else 1.0,
        })
    return rows
