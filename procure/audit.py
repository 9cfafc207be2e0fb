"""The audit trail: who did what, when and why. Every change to the ledger writes one event."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEvent


def record(session: Session, actor: str, action: str, entity: str, key: object,
           detail: dict | None = None, reason: str | None = None) -> None:
    session.add(AuditEvent(actor=actor, action=action, entity=entity, entity_key=str(key),
                           detail=json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
                           reason=reason))


def trail(session: Session, limit: int = 50, entity: str | None = None, key: str | None = None) -> list[AuditEvent]:
    q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if entity:
        q = q.where(AuditEvent.entity == entity)
    if key:
        q = q.where(AuditEvent.entity_key == key)
    return list(session.scalars(q))
