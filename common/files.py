"""Writing files all at once or not at all: single files, and run folders of several files.

A reader never sees half a file: everything is written to a temporary file or folder beside
the target and then renamed into place, which is atomic on one file system.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import FupinError


def require_folder(target: Path | str) -> None:
    """Said before any slow work, not after: the folder a file is to be written in must exist."""
    if not Path(target).parent.is_dir():
        raise FupinError(f"{target}: the folder {Path(target).parent} does not exist")


def stage(target: Path, data: bytes) -> Path:
    """`data` in a temporary file beside `target` (same folder, so the final move is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _shareable(Path(tmp))
    return Path(tmp)


def _shareable(path: Path) -> None:
    # mkstemp and mkdtemp make private files (0600, 0700); what fupin writes is meant to be shared
    # like any other file the user makes.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def atomic_write(target: Path | str, data: bytes | str) -> str:
    """Write `data` (text as UTF-8) to a temp file beside `target`, then move it into place; returns its sha256."""
    target = Path(target)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    require_folder(target)
    tmp = stage(target, blob)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return hashlib.sha256(blob).hexdigest()


@contextmanager
def run_folder(out_dir: str | Path, files: tuple[str, ...], what: str) -> Iterator[Path]:
    """A temporary folder to write a run into; it replaces `out_dir` only if the block succeeds.

    `out_dir` may hold an earlier run (only `files`), never anything else.
    """
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise FupinError(f"{out}: exists and is not a folder; choose another --out")
        foreign = sorted(p.name for p in out.iterdir() if p.name not in files)
        if foreign:
            raise FupinError(f"{out}: holds files that are not from a {what} ({', '.join(foreign[:5])}); "
                             "choose an empty or new folder for --out")
    parent = out.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
    _shareable(tmp)
    try:
        yield tmp
        if out.exists():
            # Two renames: a crash between them leaves the old run beside the new one, never a mixture.
            old = parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
