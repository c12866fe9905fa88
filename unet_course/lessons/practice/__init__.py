"""The ungraded practice inside every lesson (lessons 1-10), in the style of Kaggle Learn.

A lesson takes its exercises with :func:`for_lesson`::

    from unet_course.lessons import practice
    ex = practice.for_lesson(1)
    q1 = ex.tile_distance

and after each idea the student writes a function or a number in a cell that
ends with ``q1.check()``; ``q1.hint()`` (twice: the idea, then the formula)
and ``q1.solution()`` help. :mod:`~unet_course.lessons.practice.exercise`
holds the machinery; the exercises are defined a few lessons per module.

Examples
--------
>>> from unet_course.lessons import practice
>>> sorted(practice.for_lesson(6).__dict__)
['conv_params', 'decoder_params']
>>> practice.for_lesson(6).conv_params.check(lambda k, c_in, c_out: k * k * c_in * c_out + c_out)
Correct: conv_params gives the expected answer on every case checked.
"""
from __future__ import annotations

from types import SimpleNamespace

from unet_course.lessons.practice import data_and_losses, networks, scenes, training
from unet_course.lessons.practice.exercise import Exercise

__all__ = ["ALL", "Exercise", "for_lesson"]

#: Every exercise of the course, in lesson order.
ALL = [*data_and_losses.EXERCISES, *networks.EXERCISES, *training.EXERCISES, *scenes.EXERCISES]


def for_lesson(lesson):
    """The exercises of one lesson, as attributes named after what the student writes."""
    found = {exercise.name: exercise for exercise in ALL if exercise.lesson == lesson}
    if not found:
        raise ValueError(f"lesson must be one of {sorted({e.lesson for e in ALL})}, got {lesson!r}")
    return SimpleNamespace(**found)
