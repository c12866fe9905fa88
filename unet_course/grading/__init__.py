"""The checks behind the graded assignments (nbgrader).

Each graded function of an assignment notebook has a test cell of one line,
``grading.check_<name>(<name>)``, and a hidden block that calls the same
check with ``hidden=True`` (other shapes, filters, rates and values). Checks
raise ``CheckFailed`` (an ``AssertionError``) with what was called, expected
versus got, and a hint; a notebook shows that message alone. The machinery they share: :mod:`unet_course.grading.common` (calling
student code, the reference shortcut, stand-ins),
:mod:`unet_course.grading.messages` (expected versus got, hints) and
:mod:`unet_course.grading.architecture` (the aligned layer table),
:mod:`unet_course.grading.procedures` and :mod:`unet_course.grading.codec`
(how a check calls student code, and the plain data that comes back; while
``unet-course autograde`` grades, through :mod:`unet_course.grading.harness`
in the student's kernel and :mod:`unet_course.grading.remote` here).
:mod:`unet_course.grading.release` regenerates ``assignments/``.
:mod:`unet_course.grading.similarity` fingerprints graded functions, and
:mod:`unet_course.grading.similarity_report` (its page:
:mod:`unet_course.grading.similarity_page`) compares a class with them for
review, ``unet-course similarity``; it never changes a grade.

========================  ===========================================  =======
assignment                module                                       points
========================  ===========================================  =======
``a1_data_imbalance``     :mod:`unet_course.grading.data_imbalance`    10
``a2_losses_metrics``     :mod:`unet_course.grading.losses_metrics`    20
``a3_unet_blocks``        :mod:`unet_course.grading.unet_blocks`       20
``a4_train_evaluate``     :mod:`unet_course.grading.train_evaluate`    20
``a5_footprints``         :mod:`unet_course.grading.footprints`        10
========================  ===========================================  =======

The check functions are loaded on first use (``grading.check_dice_loss``
imports :mod:`~unet_course.grading.losses_metrics` only then), so assignment 1
does not wait for TensorFlow to build Keras models it never needs.

Examples
--------
>>> from unet_course import grading
>>> sorted(grading.ITEMS["a3_unet_blocks"])
['bottleneck', 'build_unet', 'decoder_block', 'encoder_block']
"""
from __future__ import annotations

import importlib

#: Module of each assignment's checks.
MODULES = {
    "a1_data_imbalance": "unet_course.grading.data_imbalance",
    "a2_losses_metrics": "unet_course.grading.losses_metrics",
    "a3_unet_blocks": "unet_course.grading.unet_blocks",
    "a4_train_evaluate": "unet_course.grading.train_evaluate",
    "a5_footprints": "unet_course.grading.footprints",
}

#: Points of each automatically graded item, by assignment (the notebooks' test cells carry them).
ITEMS = {
    "a1_data_imbalance": {"binarize_label": 2, "building_fraction": 1,
                          "all_background_accuracy": 1, "positive_class_weight": 2,
                          "spatial_block_split": 4},
    "a2_losses_metrics": {"bce_loss": 3, "dice_loss": 4, "bce_dice_loss": 1, "dice_metric": 3,
                          "iou_score": 1, "precision_score": 1, "recall_score": 1,
                          "error_map_masks": 1, "DatasetDice": 5},
    "a3_unet_blocks": {"encoder_block": 4, "bottleneck": 3, "decoder_block": 5, "build_unet": 8},
    "a4_train_evaluate": {"compile_unet": 4, "train_model": 4, "augment_pair": 4,
                          "choose_threshold": 3, "error_map": 2},
    "a5_footprints": {"mask_to_polygons": 5, "match_buildings": 5},
}

#: Manually graded written answers: ``{assignment: {grade_id: points}}``.
MANUAL = {"a4_train_evaluate": {"error_maps_answer": 3}}

_CHECKS = {f"check_{name}": MODULES[assignment]
           for assignment, items in ITEMS.items() for name in items}

__all__ = ["MODULES", "ITEMS", "MANUAL", *sorted(_CHECKS)]


def total_points(assignment):
    """All points of an assignment, the written answers included."""
    return sum(ITEMS[assignment].values()) + sum(MANUAL.get(assignment, {}).values())


def __getattr__(name):
    """Load ``check_<name>`` from its assignment's module on first use."""
    if name in _CHECKS:
        return getattr(importlib.import_module(_CHECKS[name]), name)
    raise AttributeError(f"module 'unet_course.grading' has no attribute {name!r}; "
                         f"the checks are {', '.join(sorted(_CHECKS))}")


def __dir__():
    return sorted(set(globals()) | set(_CHECKS))
