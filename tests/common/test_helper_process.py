"""A helper process's items, its refusals and its failures, as the importing process sees them."""

from __future__ import annotations

import os
import re
import signal

import pytest

from common.errors import FupinError, InputFileError, RowProblem
from common.helper_process import HelperProcess


def _count(n: int, inbox):
    yield from range(n)


def _told(inbox):
    yield inbox.latest()
    while inbox.latest() != "stop":
        pass
    yield "stopped"


def _refuse(inbox):
    yield 1
    raise InputFileError("p.csv", [RowProblem(3, "B (canteen)", "unknown canteen 'X'")], more=2)


def _break(inbox):
    yield 1
    raise KeyError("a bug")


def _die(inbox):
    yield 1
    os.kill(os.getpid(), signal.SIGKILL)
    yield 2


def test_items_come_in_order_and_the_helper_ends():
    with HelperProcess(_count, 5) as helper:
        assert list(helper) == [0, 1, 2, 3, 4]
    assert not helper.process.is_alive()


def test_the_helper_hears_what_it_is_told():
    with HelperProcess(_told, told="go") as helper:
        items = iter(helper)
        assert next(items) == "go"
        helper.tell("stop")
        assert list(items) == ["stopped"]


def test_a_refusal_is_raised_as_it_was_made():
    with HelperProcess(_refuse) as helper, pytest.raises(InputFileError) as info:
        list(helper)
    assert info.value.problems == [RowProblem(3, "B (canteen)", "unknown canteen 'X'")] and info.value.more == 2
    assert str(info.value).startswith("p.csv: 3 problem(s), nothing was written:")


@pytest.mark.parametrize("produce, message", [(_break, "reading failed: KeyError: 'a bug'"),
                                              (_die, "reading ended unexpectedly (exit code -9)")])
def test_a_failure_becomes_a_message(produce, message):
    with HelperProcess(produce, what="reading") as helper, pytest.raises(FupinError, match=re.escape(message)):
        list(helper)
    assert not helper.process.is_alive()


def test_stopping_early_ends_the_helper():
    with HelperProcess(_count, 10**9) as helper:
        assert next(iter(helper)) == 0
    assert not helper.process.is_alive()
