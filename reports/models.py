"""The register of issued reports: who issued what, when, from which ledger rows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from procure.models import Base, utcnow


class ReportIssue(Base):
    """One issued file. `report_key` names the report (kind, scope, period, rule) across re-issues."""

    __tablename__ = "report_issues"
    __table_args__ = (Index("ix_report_issues_key", "report_key", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    report_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(32))  # institution code, or "province"
    period_from: Mapped[str] = mapped_column(String(7))
    period_to: Mapped[str] = mapped_column(String(7))
    lang: Mapped[str] = mapped_column(String(8))
    file_format: Mapped[str] = mapped_column(String(8))
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("report_issues.id"))
    # True when the figures differ from the previous issue of the same report.
    amendment: Mapped[bool] = mapped_column(Boolean, default=False)
    changes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of lines, for the amendment
    # The figures and ledger entry ids as issued (JSON): what the next amendment is compared with.
    snapshot: Mapped[str] = mapped_column(Text)
    entries: Mapped[int] = mapped_column(Integer, default=0)
