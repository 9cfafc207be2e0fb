"""Scenarios kept for planners: the YAML `fupin plan --scenario` reads, made from the web's form."""

from __future__ import annotations

from sqlalchemy import select

from accounts.access import Access
from common.errors import FupinError
from db.engine import UnitOfWork
from db.models import PlanScenario
from planning import scenarios as keys

from .errors import NotFound, require_planner


def save_scenario(uow: UnitOfWork, access: Access, kind: str, values: dict[str, str],
                  based_on: int | None = None) -> PlanScenario:
    """A new scenario from the form's text (checked as the CLI checks a YAML file); commits."""
    require_planner(access)
    scenario = keys.from_form(kind, values)
    if based_on is not None:
        get_scenario(uow, access, based_on)
    row = PlanScenario(kind=kind, name=scenario.name[:200], yaml_text=keys.to_yaml(scenario), based_on=based_on,
                       created_by=access.user_id)
    uow.session.add(row)
    uow.commit()
    return row


def list_scenarios(uow: UnitOfWork, access: Access, kind: str | None = None) -> list[PlanScenario]:
    require_planner(access)
    q = select(PlanScenario).order_by(PlanScenario.id.desc())
    if kind:
        q = q.where(PlanScenario.kind == kind)
    return list(uow.session.scalars(q))


def get_scenario(uow: UnitOfWork, access: Access, scenario_id: int) -> PlanScenario:
    require_planner(access)
    row = uow.session.get(PlanScenario, scenario_id)
    if row is None:
        raise NotFound(f"scenario {scenario_id}: no such scenario")
    return row


def scenario_of(row: PlanScenario):
    """The scenario object a stored row describes."""
    try:
        return keys.from_yaml_text(row.kind, row.yaml_text)
    except FupinError as exc:  # stored rows were checked when saved; a newer fupin may know fewer keys
        raise FupinError(f"scenario {row.id} ({row.name}): {exc}") from None
