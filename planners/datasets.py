"""Planners' data sets: the files `fupin plan` reads, uploaded, checked as the CLI checks them,
stored once and never changed. Uploading again under the same name makes a new version.

Files are kept under the canonical names the CLI reads (counties.csv, villages.xlsx, ...), never
under a name the user sent: an uploaded or zipped name is only matched against that list.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from sqlalchemy import func, select

from accounts.access import Access
from common.cells import check_text
from common.errors import FupinError
from common.tables import table_file
from db.engine import UnitOfWork
from db.models import PlanDataSet

from .errors import NotFound, require_planner
from .settings import SETTINGS, PlannerSettings

ALLOCATION_FILES = ("counties", "teacher_needs", "graduate_needs", "applicants")
KINDERGARTEN_FILES = ("townships", "villages", "counties")
SUFFIXES = (".csv", ".xlsx")
KNOWN = sorted({*ALLOCATION_FILES, *KINDERGARTEN_FILES})


class DataSetProblems(FupinError):
    """The upload was refused; `problems` lists every reason (a file's row problems are one entry)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the data set was not stored:\n" + "\n".join(problems))


@dataclass(frozen=True)
class StoredDataSet:
    dataset: PlanDataSet
    unchanged: bool  # the same files as the latest version of that name: nothing new was stored


def gather(uploads: list[tuple[str, bytes]], settings: PlannerSettings = SETTINGS) -> dict[str, bytes]:
    """Canonical file name -> bytes, from uploaded files or one ZIP of them; every problem at once."""
    problems: list[str] = []
    files: dict[str, bytes] = {}
    expanded: list[tuple[str, bytes]] = []
    for name, data in uploads:
        if _base_name(name).lower().endswith(".zip"):
            expanded += _unzip(_base_name(name), data, settings, problems)
        else:
            expanded.append((name, data))
    for name, data in expanded:
        base = _base_name(name)
        stem, suffix = _split(base)
        if stem not in KNOWN or suffix not in SUFFIXES:
            problems.append(f"{base}: not a planning input file; expected "
                            + ", ".join(f"{k}.csv" for k in KNOWN) + " (or .xlsx), or one ZIP of them")
            continue
        if suffix == ".xlsx" and not data.startswith(b"PK"):
            problems.append(f"{base}: not an XLSX workbook (save it from Excel or WPS as .xlsx, or as CSV)")
            continue
        if any(_split(k)[0] == stem for k in files):
            problems.append(f"{base}: {stem} is given twice; upload one {stem} file")
            continue
        files[stem + suffix] = data
    if not files and not problems:
        problems.append("no file was uploaded; choose the CSV or XLSX files (or one ZIP of them)")
    if problems:
        raise DataSetProblems(problems)
    return files


def _base_name(name: str) -> str:
    """The last part of a path from any system, never used as a path itself."""
    return PureWindowsPath(PurePosixPath(name).name).name.strip()


def _split(base: str) -> tuple[str, str]:
    stem, dot, suffix = base.rpartition(".")
    return (stem.lower(), f".{suffix.lower()}") if dot else (base.lower(), "")


def _unzip(name: str, data: bytes, settings: PlannerSettings, problems: list[str]) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir() and not _base_name(m.filename).startswith(".")
                   and "__MACOSX" not in m.filename]
    except (zipfile.BadZipFile, ValueError):
        problems.append(f"{name}: not a ZIP archive that can be read")
        return []
    if sum(m.file_size for m in members) > settings.dataset_max_bytes:
        problems.append(f"{name}: its files hold more than {settings.dataset_max_bytes // 2**20} MB unpacked")
        return []
    out = []
    for m in members:
        try:
            with archive.open(m) as f:
                content = f.read(settings.dataset_max_bytes + 1)  # the header's size may lie
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as exc:
            problems.append(f"{name}: {_base_name(m.filename)} cannot be unpacked ({exc})")
            continue
        if len(content) > settings.dataset_max_bytes:
            problems.append(f"{name}: {_base_name(m.filename)} is larger than it says")
            continue
        out.append((m.filename, content))
    return out


def kind_of(files: dict[str, bytes]) -> str:
    """allocation (teachers and graduates) or kindergartens, from the files given; mixed sets refused."""
    stems = {_split(n)[0] for n in files}
    if stems & {"townships", "villages"}:
        if stems & {"teacher_needs", "graduate_needs", "applicants"}:
            raise DataSetProblems(["kindergarten files (townships, villages) and teacher or graduate files "
                                   "(teacher_needs, graduate_needs, applicants) are two data sets: upload them apart"])
        missing = [f"{s}.csv" for s in ("townships", "villages") if s not in stems]
        if missing:
            raise DataSetProblems(["a kindergarten data set needs townships.csv and villages.csv; missing: "
                                   + ", ".join(missing)])
        return "kindergartens"
    problems = []
    if "counties" not in stems:
        problems.append("a teacher or graduate data set needs counties.csv")
    if "teacher_needs" not in stems and not {"graduate_needs", "applicants"} <= stems:
        problems.append("give teacher_needs.csv (teachers), or graduate_needs.csv and applicants.csv (graduates)")
    elif ("graduate_needs" in stems) != ("applicants" in stems):
        problems.append("graduates need both graduate_needs.csv and applicants.csv")
    if problems:
        raise DataSetProblems(problems)
    return "allocation"


def models_of(dataset: PlanDataSet) -> list[str]:
    """The models a data set can run."""
    if dataset.kind == "kindergartens":
        return ["kindergartens"]
    stems = {_split(n)[0] for n in json.loads(dataset.files)}
    return [m for m, need in (("teachers", {"teacher_needs"}), ("graduates", {"graduate_needs", "applicants"}))
            if need <= stems]


def check_folder(kind: str, folder: Path) -> tuple[str, list[list[str]]]:
    """Read the folder as `fupin plan` would: a description and the counties [code, name], or every
    problem of every file at once (DataSetProblems)."""
    if kind == "kindergartens":
        from planning.kindergartens import read_province

        try:
            counties = read_province(folder)
        except FupinError as exc:
            raise DataSetProblems([str(exc)]) from None
        townships = sum(len(c.townships) for c in counties)
        villages = sum(len(c.villages) for c in counties)
        return (f"{len(counties)} counties, {townships} townships, {villages} villages",
                [[c.code, c.name] for c in counties])
    return _check_allocation(folder)


def _check_allocation(folder: Path) -> tuple[str, list[list[str]]]:
    from planning.inputs import FILES, READERS

    problems, frames = [], {}
    for name in ALLOCATION_FILES:
        path = table_file(folder, FILES[name])
        if not path.exists():
            continue
        try:
            frames[name] = READERS[name](path)
        except FupinError as exc:
            problems.append(str(exc))
    if problems:
        raise DataSetProblems(problems)
    # The models' own checks across files (unknown counties, duplicates, ...), as `fupin plan` runs them.
    if "teacher_needs" in frames:
        from planning.teachers import SpecialPostModel

        _collect(problems, lambda: SpecialPostModel.from_frames(frames["counties"], frames["teacher_needs"]))
    if "graduate_needs" in frames:
        from planning.graduates import TargetedStudentModel

        _collect(problems, lambda: TargetedStudentModel.from_frames(
            frames["counties"], frames["graduate_needs"], frames["applicants"]))
    if problems:
        raise DataSetProblems(problems)
    counties = frames["counties"]
    parts = [f"{len(counties)} counties"] + [what for name, what in (
        ("teacher_needs", "teacher needs"), ("graduate_needs", "graduate needs and applicants")) if name in frames]
    return ", ".join(parts), [[str(c), str(n)] for c, n in zip(counties["code"], counties["name"])]


def _collect(problems: list[str], check) -> None:
    try:
        check()
    except FupinError as exc:
        problems.append(str(exc))


def fingerprint(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def store_dataset(uow: UnitOfWork, access: Access, name: str, uploads: list[tuple[str, bytes]], root: Path,
                  settings: PlannerSettings = SETTINGS) -> StoredDataSet:
    """Check the uploaded files and keep them as a new version of data set `name` (commits).

    Nothing is stored when any file has a problem. The same files as the latest version of that
    name are not stored again: that version is returned.
    """
    require_planner(access)
    try:
        name = check_text(name.strip(), 100)
    except ValueError as exc:
        raise DataSetProblems([f"name: {exc}"]) from None
    if not name:
        raise DataSetProblems(["name: give the data set a name, e.g. 2019 年全省"])
    files = gather(uploads, settings)
    kind = kind_of(files)
    sha = fingerprint(files)
    session = uow.session
    latest = session.scalars(select(PlanDataSet).where(PlanDataSet.name == name)
                             .order_by(PlanDataSet.version.desc()).limit(1)).first()
    if latest is not None and latest.sha256 == sha:
        return StoredDataSet(latest, unchanged=True)
    datasets = root / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    stored_as = secrets.token_hex(16)
    staging = datasets / f".tmp-{stored_as}"
    staging.mkdir()
    try:
        for file_name, data in files.items():
            (staging / file_name).write_bytes(data)
        description, counties = check_folder(kind, staging)
        version = (session.scalar(select(func.max(PlanDataSet.version)).where(PlanDataSet.name == name)) or 0) + 1
        row = PlanDataSet(name=name, version=version, kind=kind, stored_as=stored_as, files=json.dumps(sorted(files)),
                          sha256=sha, description=description, counties=json.dumps(counties, ensure_ascii=False),
                          uploaded_by=access.user_id)
        session.add(row)
        session.flush()
        staging.rename(datasets / stored_as)
        try:
            uow.commit()
        except BaseException:
            shutil.rmtree(datasets / stored_as, ignore_errors=True)
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return StoredDataSet(row, unchanged=False)


def dataset_folder(root: Path, dataset: PlanDataSet) -> Path:
    return root / "datasets" / dataset.stored_as


def list_datasets(uow: UnitOfWork, access: Access) -> list[PlanDataSet]:
    require_planner(access)
    return list(uow.session.scalars(select(PlanDataSet).order_by(PlanDataSet.name, PlanDataSet.version.desc())))


def get_dataset(uow: UnitOfWork, access: Access, dataset_id: int) -> PlanDataSet:
    require_planner(access)
    row = uow.session.get(PlanDataSet, dataset_id)
    if row is None:
        raise NotFound(f"data set {dataset_id}: no such data set")
    return row
