"""What a user may see and change: the one statement of the roles and their scopes.

- manager: the canteens named, or every canteen of the institutions named (an outsourced canteen's
  contractor is a manager of that canteen only); enters, imports and voids their purchases.
- finance: the institutions named, or without any, the whole province; reads compliance and the
  audit trail, issues reports; closes and reopens months when province-wide (a month is closed
  for every canteen at once).
- planner: the planning pages (not the ledger).
- admin: everything, and the users and master data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Canteen, Institution, User


class Role(StrEnum):
    MANAGER = "manager"
    FINANCE = "finance"
    PLANNER = "planner"
    ADMIN = "admin"


@dataclass(frozen=True)
class Access:
    user_id: int
    name: str
    role: Role
    # None: every canteen / institution (admin, province-wide finance).
    canteen_ids: frozenset[int] | None
    institution_ids: frozenset[int] | None

    @property
    def province_wide(self) -> bool:
        return self.canteen_ids is None

    def sees_canteen(self, canteen_id: int) -> bool:
        return self.role != Role.PLANNER and (self.canteen_ids is None or canteen_id in self.canteen_ids)

    def sees_institution(self, institution_id: int) -> bool:
        return self.role != Role.PLANNER and (self.institution_ids is None or institution_id in self.institution_ids)

    @property
    def reads_ledger(self) -> bool:
        return self.role in (Role.MANAGER, Role.FINANCE, Role.ADMIN)

    @property
    def writes_purchases(self) -> bool:
        return self.role in (Role.MANAGER, Role.ADMIN)

    @property
    def issues_reports(self) -> bool:
        return self.role in (Role.FINANCE, Role.ADMIN, Role.MANAGER)

    @property
    def closes_months(self) -> bool:
        return self.role == Role.ADMIN or (self.role == Role.FINANCE and self.province_wide)

    @property
    def reads_audit(self) -> bool:
        return self.role == Role.ADMIN or (self.role == Role.FINANCE and self.province_wide)

    @property
    def administers(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def plans(self) -> bool:
        return self.role in (Role.PLANNER, Role.ADMIN)


def access_of(session: Session, user: User) -> Access:
    """The user's role and the canteens and institutions it reaches."""
    role = Role(user.role)
    if role == Role.ADMIN or (role == Role.FINANCE and not user.scopes):
        return Access(user.id, user.name, role, None, None)
    if role == Role.PLANNER:
        return Access(user.id, user.name, role, frozenset(), frozenset())
    institution_ids = {s.institution_id for s in user.scopes if s.institution_id is not None}
    canteen_ids = {s.canteen_id for s in user.scopes if s.canteen_id is not None}
    if institution_ids:
        canteen_ids |= set(session.scalars(select(Canteen.id).where(Canteen.institution_id.in_(institution_ids))))
    if role == Role.MANAGER:
        # An institution is the manager's only when every one of its canteens is (for its reports).
        by_institution: dict[int, set[int]] = {}
        for cid, iid in session.execute(select(Canteen.id, Canteen.institution_id)):
            by_institution.setdefault(iid, set()).add(cid)
        institution_ids = {i for i, canteens in by_institution.items() if canteens and canteens <= canteen_ids}
    return Access(user.id, user.name, role, frozenset(canteen_ids), frozenset(institution_ids))


def visible_institutions(session: Session, access: Access) -> list[Institution]:
    q = select(Institution).order_by(Institution.code)
    return [i for i in session.scalars(q) if access.sees_institution(i.id)]


def visible_canteens(session: Session, access: Access) -> list[Canteen]:
    q = select(Canteen).join(Institution).order_by(Institution.code, Canteen.code)
    return [c for c in session.scalars(q) if access.sees_canteen(c.id)]
