"""render_batch across processes: the same bytes as one process, and a clear error when a helper dies."""

from __future__ import annotations

import functools
import gc
import os
import sys
import tempfile
import time
from fractions import Fraction

import pytest

from common.errors import FupinError
from reports import render
from reports.charts import share_chart

PAGE = ('<html><head><meta charset="utf-8"></head><body style="font-family: FupinCJK">'
        '<h1>扶贫食堂 {n}</h1><img src="fupin-static:chart.png"></body></html>')
MONTHS = ["2025-01", "2025-02", "2025-03"]
LABELS = {"threshold": "考核线", "share": "占比"}


@pytest.fixture(autouse=True)
def _as_the_report_command(monkeypatch):
    # The report command never loads HiGHS; earlier planning tests in this process may have, and
    # then render_batch would spawn instead of fork.
    monkeypatch.delitem(sys.modules, "highspy", raising=False)


def _documents(n: int, chart=share_chart):
    font = render.find_cjk_font()
    return [(PAGE.format(n=i), {"chart.png": functools.partial(
        chart, MONTHS, [(f"食堂 {i}", [Fraction(i, 10), None, Fraction(1, 5)])], Fraction(1, 5), LABELS, font)})
        for i in range(n)]


def test_helpers_give_the_same_pdfs_as_one_process():
    docs = _documents(4)
    alone = render.render_batch(docs, processes=1)
    together = render.render_batch(docs, processes=2)
    assert together == alone
    assert len(set(alone)) == 4  # each document its own PDF, in order


def _dies_outside(parent: int, marker: str, *args):
    if os.getpid() != parent:
        open(marker, "w").close()
        os._exit(3)
    # This process waits until a helper has taken a document (and died), so that it does not
    # render all of them itself first, however slowly the helper starts.
    deadline = time.monotonic() + 60
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return share_chart(*args)


def test_a_helper_that_dies_is_reported_not_raised_as_a_traceback(tmp_path):
    docs = _documents(4, functools.partial(_dies_outside, os.getpid(), str(tmp_path / "died")))
    with pytest.raises(FupinError, match="stopped unexpectedly.*--jobs 1"):
        render.render_batch(docs, processes=2)
    assert (tmp_path / "died").exists()


def test_helpers_leave_no_temporary_folders(tmp_path, monkeypatch):
    # Each helper's WeasyPrint font configuration has a folder that its own clean-up, skipped by
    # os._exit, would remove.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    render.render_batch(_documents(4), processes=3)
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_helpers_are_forked_on_linux_unless_a_solver_is_loaded(monkeypatch):
    # Spawned helpers import WeasyPrint and matplotlib again (0.6-1 s of CPU each): see _helper_context.
    if sys.platform == "linux":
        assert render._helper_context().get_start_method() == "fork"
    # HiGHS keeps worker threads that a fork would not copy.
    monkeypatch.setitem(sys.modules, "highspy", object())
    assert render._helper_context().get_start_method() == "spawn"
    assert render.render_batch(_documents(2), processes=2) == render.render_batch(_documents(2), processes=1)
