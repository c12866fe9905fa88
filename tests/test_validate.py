"""The shared argument checks (unet_course.validate): one rule, one message, everywhere."""
import math

import numpy as np
import pytest

from unet_course.data import DatasetError
from unet_course.validate import probability, whole_number


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(2)])
def test_whole_numbers_pass_and_come_back_as_int(value):
    assert whole_number(value, "n") == int(value) and type(whole_number(value, "n")) is int


@pytest.mark.parametrize("value", [0, -1, 2.0, 1.5, True, False, "3", None, np.float32(4)])
def test_anything_else_is_refused_naming_the_argument(value):
    with pytest.raises(ValueError, match=r"^epochs must be a whole number >= 1, got "):
        whole_number(value, "epochs")


def test_the_minimum_and_the_error_class_are_the_callers():
    assert whole_number(0, "seed", minimum=0) == 0
    with pytest.raises(DatasetError, match="size must be a whole number >= 8, got 4"):
        whole_number(4, "size", minimum=8, error=DatasetError)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 1, 1.0, np.float32(0.25)])
def test_probabilities_in_the_closed_interval(value):
    assert probability(value, "threshold") == float(value)


@pytest.mark.parametrize("value", [-0.01, 1.01, math.nan, math.inf, True, "0.5", None])
def test_probabilities_outside_are_refused(value):
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\], got "):
        probability(value, "threshold")


def test_an_open_upper_end_refuses_one():
    assert probability(0.0, "rate", upper_open=True) == 0.0
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\), got 1.0"):
        probability(1.0, "rate", upper_open=True)
