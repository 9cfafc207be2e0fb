"""The reports' use cases: each takes an open unit of work and commits it itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from common.errors import FupinError
from db import UnitOfWork, chain
from db.models import Institution, utcnow
from procure.rules import QuotaRule

from .compliance import ReportView, build
from .issue import FORMATS, issuing


@dataclass(frozen=True)
class IssuedReport:
    path: Path
    issue_no: int
    fingerprint: str
    previous_no: int | None
    amendment: bool
    changes: int


def _targets(out: Path, fmt: str | None, every_institution: bool, institution: str | None) -> str:
    """The format, checked against -o before any work: a folder for a batch, else a file of that type."""
    if every_institution and institution:
        raise FupinError("--every-institution and --institution exclude each other")
    if every_institution:
        if not out.is_dir():
            raise FupinError(f"-o {out}: with --every-institution, -o is an existing folder")
        return fmt or "pdf"
    suffix = out.suffix.lower().lstrip(".")
    fmt = fmt or (suffix if suffix in FORMATS else "pdf")
    if suffix != fmt:
        raise FupinError(f"-o {out}: a {fmt} report needs a file name ending in .{fmt}")
    return fmt


def issue_compliance_reports(uow: UnitOfWork, months: list[str], rule: QuotaRule, lang: str, out: Path | str,
                             actor: str, institution: str | None = None, every_institution: bool = False,
                             fmt: str | None = None, jobs: int | None = None,
                             now: dt.datetime | None = None) -> list[IssuedReport]:
    """Build, register and write compliance reports: one (an institution's or the province's) to the
    file `out`, or one per institution into the folder `out`. All of a batch or nothing."""
    out = Path(out)
    fmt = _targets(out, fmt, every_institution, institution)
    now = now or utcnow()
    check = chain.verify(uow.session.connection())
    if not check.ok:
        raise FupinError(f"the ledger does not verify, so no report is issued: {check.problem}; "
                         "see `fupin procure verify`")
    if every_institution:
        codes = list(uow.session.scalars(select(Institution.code).order_by(Institution.code)))
        if not codes:
            raise FupinError("no institutions yet: fupin procure import-master --kind institutions FILE")
        label = months[0] if len(months) == 1 else f"{months[0]}_{months[-1]}"
        reports: list[tuple[ReportView, Path]] = [
            (build(uow.session, months, c, rule, lang, now), out / f"{c}-{label}-{lang}.{fmt}") for c in codes]
    else:
        reports = [(build(uow.session, months, institution, rule, lang, now), out)]
    for view, _ in reports:
        view.chain_head = check.head
    # Files are rendered to temporaries, registered and committed, then moved into place.
    with issuing(uow.session, reports, fmt, actor, now, processes=jobs) as rows:
        uow.commit()
    return [IssuedReport(path, row.id, view.fingerprint, view.previous_no, view.amendment, len(view.changes))
            for row, (view, path) in zip(rows, reports)]
