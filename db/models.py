"""Every table of fupin: the ledger, its master data, the audit trail and the register of issued reports.

Mass in integer milligrams, money in integer fen: exact on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class InstitutionKind(StrEnum):
    UNIVERSITY = "university"
    HIGHER_VOCATIONAL = "higher_vocational"
    SECONDARY_VOCATIONAL = "secondary_vocational"


class Operator(StrEnum):
    SELF = "self"
    CONTRACTOR = "contractor"


class Eligibility(StrEnum):
    CERTIFIED = "certified"  # 扶贫产品认定, with a certificate
    MALL = "mall"  # 海南爱心扶贫网
    VILLAGE = "village"  # 定点帮扶村
    NONE = "none"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A stored moment with its zone: SQLite hands DateTime(timezone=True) back without one (UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Institution(Base):
    __tablename__ = "institutions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    canteens: Mapped[list["Canteen"]] = relationship(back_populates="institution")


class Canteen(Base):
    __tablename__ = "canteens"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    name: Mapped[str] = mapped_column(String(200))
    operator: Mapped[str] = mapped_column(String(16), default=Operator.SELF.value)
    contractor: Mapped[str | None] = mapped_column(String(200))
    institution: Mapped[Institution] = relationship(back_populates="canteens")


class Supplier(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    eligibility: Mapped[str] = mapped_column(String(16))
    certificate: Mapped[str | None] = mapped_column(String(64))
    county: Mapped[str | None] = mapped_column(String(64))
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    counts_toward_quota: Mapped[bool] = mapped_column(Boolean)


class PackagingWeight(Base):
    """Weight of one 箱/袋/件 of a product, defined by the user."""

    __tablename__ = "packaging_weights"
    __table_args__ = (UniqueConstraint("product", "unit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    kg_per_unit: Mapped[str] = mapped_column(String(32))  # exact decimal text


class ImportBatch(Base):
    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    lines_added: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = mapped_column(String(100))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Purchase(Base):
    """One ledger entry. A void is a second entry with negated figures that `reverses` the first."""

    __tablename__ = "purchases"
    __table_args__ = (
        # ref first: re-imports look lines up by ref, and a ref is nearly unique on its own.
        UniqueConstraint("ref", "supplier_id", "line", "key_seq"),
        Index("ix_purchases_date_canteen", "purchase_date", "canteen_id"),
        # An entry is voided at most once. Only voids have reverses_id: an index of every entry's
        # NULL would cost an import about a second per million lines (migration 0006).
        Index("uq_purchases_reverses_id", "reverses_id", unique=True, sqlite_where=text("reverses_id IS NOT NULL"),
              postgresql_where=text("reverses_id IS NOT NULL")),
        CheckConstraint("(reverses_id IS NULL) = (key_seq IS NOT NULL)", name="entry_kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_date: Mapped[dt.date] = mapped_column(Date)
    canteen_id: Mapped[int] = mapped_column(ForeignKey("canteens.id"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    product: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[str] = mapped_column(String(40))  # as entered, exact decimal text
    unit: Mapped[str] = mapped_column(String(16))  # as entered
    qty_mg: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    ref: Mapped[str] = mapped_column(String(100))
    line: Mapped[int] = mapped_column(Integer, default=1)
    # n-th live entry under (supplier, ref, line): a voided line can be entered again, corrected.
    key_seq: Mapped[int | None] = mapped_column(Integer)
    # Eligibility as judged on the purchase date when it was entered: later certificate
    # changes do not rewrite past months.
    is_pa: Mapped[bool] = mapped_column(Boolean)
    pa_source: Mapped[str] = mapped_column(String(16))
    pa_certificate: Mapped[str | None] = mapped_column(String(64))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    row_hash: Mapped[str | None] = mapped_column(String(64))  # db.chain: tamper evidence

    canteen: Mapped[Canteen] = relationship()
    supplier: Mapped[Supplier] = relationship()
    category: Mapped[Category] = relationship()


class MonthClose(Base):
    __tablename__ = "month_closes"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    closed: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    reason: Mapped[str | None] = mapped_column(Text)
    row_hash: Mapped[str | None] = mapped_column(String(64))


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
    chain_head: Mapped[str | None] = mapped_column(String(64))  # the ledger chain's head it was built on
    stored_as: Mapped[str | None] = mapped_column(String(64))  # the file's random name in the web's report store
    row_hash: Mapped[str | None] = mapped_column(String(64))


class ChainLink(Base):
    """One link of the ledger's hash chain (db.chain): the rows of one table written by one commit."""

    __tablename__ = "chain_links"
    __table_args__ = (Index("ix_chain_links_kind_last", "kind", "last_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    first_id: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A person who signs in to the web application (or calls its API with a token)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # manager, finance, planner, admin
    password_hash: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # sha256 of the API token
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    scopes: Mapped[list["UserScope"]] = relationship(back_populates="user", cascade="all, delete-orphan")


class UserScope(Base):
    """One canteen or one institution a user may see (and, for a manager, write to)."""

    __tablename__ = "user_scopes"
    __table_args__ = (CheckConstraint("(canteen_id IS NULL) <> (institution_id IS NULL)", name="one_target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    canteen_id: Mapped[int | None] = mapped_column(ForeignKey("canteens.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"))
    user: Mapped[User] = relationship(back_populates="scopes")


class WebSession(Base):
    """A signed-in browser: the cookie holds only a random id whose hash is kept here, so a session
    can be ended from the server (logout, password change, a disabled user) and timed out."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """A failed sign-in, counted in the database so that every server process sees the same count."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_name_at", "name", "at"), Index("ix_login_failures_address_at", "address", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Upload(Base):
    """A purchase file uploaded for import: kept under a random name, never the uploaded one."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imported_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PlanDataSet(Base):
    """One version of a planners' data set: the files `fupin plan` reads, checked, stored once, never changed."""

    __tablename__ = "plan_datasets"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "allocation" (teachers, graduates) or "kindergartens"
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)  # folder under the instance's datasets/
    files: Mapped[str] = mapped_column(Text)  # JSON list of the file names kept
    sha256: Mapped[str] = mapped_column(String(64))  # over the files' names and bytes, sorted by name
    description: Mapped[str] = mapped_column(Text, default="")  # e.g. "19 counties, 162 townships"
    counties: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[code, name], ...] as read
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanScenario(Base):
    """A scenario as the CLI's YAML holds it; saving from the form makes a new row, never a change."""

    __tablename__ = "plan_scenarios"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "allocation" or "kindergartens"
    name: Mapped[str] = mapped_column(String(200))
    yaml_text: Mapped[str] = mapped_column(Text)
    based_on: Mapped[int | None] = mapped_column(ForeignKey("plan_scenarios.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PlanJob(Base):
    """A run of one model as a background job, and once finished the run folder it registered."""

    __tablename__ = "plan_jobs"
    __table_args__ = (Index("ix_plan_jobs_state", "state", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(16))  # teachers, graduates, kindergartens
    dataset_id: Mapped[int] = mapped_column(ForeignKey("plan_datasets.id"))
    scenario_id: Mapped[int | None] = mapped_column(ForeignKey("plan_scenarios.id"))
    counties: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of county codes; [] = every county
    solver: Mapped[str] = mapped_column(String(16))
    time_limit: Mapped[float] = mapped_column()
    lang: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    done: Mapped[int] = mapped_column(Integer, default=0)  # counties solved so far (kindergartens)
    total: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it failed, in words
    messages: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the lines the CLI would print
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)  # run folder under the instance's runs/
    worker: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
