"""The compact facility-location model (KINDERGARTENS.md §1), one constraint family at a time.

    minimise   Σ_j f_j y_j + Σ_(i,j) c_ij x_ij
    subject to Σ_j x_ij = 1                 every point i (serve)
               Σ_i d_i x_ij ≤ u_j y_j        every site j (capacity)
               x_ij ≤ y_j                    every allowed pair (link)
               Σ_j u_j y_j ≥ Σ_i d_i         (cover)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulp


@dataclass
class LocationModel:
    prob: pulp.LpProblem
    y: dict  # site -> open
    x: dict  # (point, site) -> share served


def location_model(fixed_cost: dict, capacity: dict, demand: dict, cost: dict, single_source: bool,
                    closed: frozenset = frozenset(), opened: frozenset = frozenset()) -> LocationModel:
    """The model of the module docstring over the given pairs; sites in `closed` are left out and
    those in `opened` are open (both from reduced-cost fixing, empty otherwise)."""
    sites = [j for j in capacity if j not in closed]
    site_index = {j: k for k, j in enumerate(capacity)}
    point_index = {i: k for k, i in enumerate(demand)}
    prob = pulp.LpProblem("facility_location", pulp.LpMinimize)
    y = {j: prob.add_variable(f"y_{site_index[j]}", lowBound=1 if j in opened else 0, upBound=1, cat=pulp.LpBinary)
         for j in sites}
    cat = pulp.LpBinary if single_source else pulp.LpContinuous
    x = {(i, j): prob.add_variable(f"x_{point_index[i]}_{site_index[j]}", lowBound=0, upBound=1, cat=cat)
         for (i, j) in cost if j in y}
    m = LocationModel(prob, y, x)
    _add_serve_rows(m, demand, point_index)
    _add_capacity_rows(m, demand, capacity, site_index)
    _add_link_rows(m, point_index, site_index)
    _add_cover_row(m, demand, capacity)
    prob += pulp.LpAffineExpression([(y[j], fixed_cost[j]) for j in sites] + [(x[k], cost[k]) for k in x])
    return m


def _add_serve_rows(m: LocationModel, demand: dict, point_index: dict) -> None:
    """serve: sum_j x_ij = 1 for every point i."""
    by_point: dict = {i: [] for i in demand}
    for (i, _), var in m.x.items():
        by_point[i].append((var, 1))
    for i, terms in by_point.items():
        m.prob += pulp.LpAffineExpression(terms) == 1, f"serve_{point_index[i]}"


def _add_capacity_rows(m: LocationModel, demand: dict, capacity: dict, site_index: dict) -> None:
    """capacity: sum_i d_i x_ij - u_j y_j <= 0 for every site j."""
    by_site: dict = {j: [] for j in m.y}
    for (i, j), var in m.x.items():
        by_site[j].append((var, demand[i]))
    for j, terms in by_site.items():
        m.prob += pulp.LpAffineExpression(terms + [(m.y[j], -capacity[j])]) <= 0, f"capacity_{site_index[j]}"


def _add_link_rows(m: LocationModel, point_index: dict, site_index: dict) -> None:
    """link: x_ij - y_j <= 0 for every allowed pair (i, j)."""
    for (i, j), var in m.x.items():
        m.prob += pulp.LpAffineExpression([(var, 1), (m.y[j], -1)]) <= 0, f"link_{point_index[i]}_{site_index[j]}"


def _add_cover_row(m: LocationModel, demand: dict, capacity: dict) -> None:
    """cover: sum_j u_j y_j >= sum_i d_i (implied by the integers, not by the LP: it cuts fractional y)."""
    need = sum(demand.values())
    m.prob += pulp.LpAffineExpression([(var, capacity[j]) for j, var in m.y.items()]) >= need, "cover"
