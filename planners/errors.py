"""What the planners' services refuse, and who may use them at all."""

from __future__ import annotations

from accounts.access import Access
from common.errors import FupinError


class NotFound(FupinError):
    """What was asked for does not exist (the web answers 404)."""


class NotAllowed(FupinError):
    """The user may not do this (the web answers 403)."""


def require_planner(access: Access) -> None:
    if not access.plans:
        raise NotAllowed("only planners (and administrators) work with plans")
