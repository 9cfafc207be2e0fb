"""All-or-nothing files: a failure leaves the earlier file as it was and no temporary file behind."""

from __future__ import annotations

import os

import pytest

from common.errors import FupinError
from common.files import atomic_write, run_folder


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    target = tmp_path / "a.csv"
    atomic_write(target, "first\n")
    assert target.read_text(encoding="utf-8") == "first\n"
    monkeypatch.setattr(os, "replace", lambda *_: (_ for _ in ()).throw(OSError(28, "No space left", str(target))))
    with pytest.raises(OSError):
        atomic_write(target, b"second\n")
    assert target.read_text(encoding="utf-8") == "first\n" and os.listdir(tmp_path) == ["a.csv"]


def test_atomic_write_needs_the_folder(tmp_path):
    with pytest.raises(FupinError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "a.csv", "x")


def test_run_folder_keeps_the_old_run_when_writing_fails(tmp_path):
    out = tmp_path / "run"
    with run_folder(out, ("a.csv",), "test run") as tmp:
        (tmp / "a.csv").write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with run_folder(out, ("a.csv",), "test run") as tmp:
            (tmp / "a.csv").write_text("new", encoding="utf-8")
            raise RuntimeError("solver died")
    assert (out / "a.csv").read_text(encoding="utf-8") == "old" and sorted(os.listdir(tmp_path)) == ["run"]


def test_run_folder_refuses_a_folder_with_other_files(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "thesis.docx").write_text("mine", encoding="utf-8")
    with pytest.raises(FupinError, match="thesis.docx"):
        with run_folder(tmp_path / "run", ("a.csv",), "test run"):
            pass
