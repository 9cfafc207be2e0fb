"""Compliance results as CSV, JSON and a terminal table (kg 3 decimals, yuan 2, shares 4)."""

from __future__ import annotations

import json

from common.tables import csv_text
from common.terminal import format_table

from .quota import MonthCompliance, Rollup, Tally
from .units import kg, percent, share, yuan
from .wording import STATUS, rule_text

CSV_COLUMNS = ["institution", "canteen", "month", "total_kg", "pa_kg", "share_qty", "total_amount", "pa_amount",
               "share_amount", "threshold", "status", "shortfall_kg"]


def tally_figures(t: Tally) -> dict:
    """The figure set of every output: exact sums shown as kg, yuan and shares."""
    return {"total_kg": kg(t.total_mg), "pa_kg": kg(t.pa_mg), "share_qty": share(t.share_qty),
            "total_amount": yuan(t.total_fen), "pa_amount": yuan(t.pa_fen), "share_amount": share(t.share_amount)}


def csv_rows(result: MonthCompliance) -> list[dict]:
    threshold = share(result.rule.threshold)
    return [{"institution": c.institution, "canteen": c.canteen, "month": c.month, **tally_figures(c.tally),
             "threshold": threshold, "status": c.status.value, "shortfall_kg": kg(c.shortfall_mg)}
            for c in result.canteens]


def to_csv(result: MonthCompliance) -> str:
    return csv_text(CSV_COLUMNS, csv_rows(result))


def _rollup(r: Rollup) -> dict:
    return {"code": r.code, "name": r.name, **tally_figures(r.tally), "shortfall_kg": kg(r.shortfall_mg),
            "shortfall_amount": yuan(r.shortfall_fen), "canteens": r.canteens, "compliant": r.compliant,
            "short": r.short, "no_purchases": r.no_purchases}


def to_json(result: MonthCompliance) -> str:
    canteens = []
    for row, c in zip(csv_rows(result), result.canteens):
        item = {**row, "institution_name": c.institution_name, "canteen_name": c.canteen_name,
                "shortfall_amount": yuan(c.shortfall_fen),
                "categories": [{"code": k.code, "name": k.name, "counts_toward_quota": k.counts_toward_quota,
                                **tally_figures(k.tally)} for k in c.categories]}
        if c.projection:
            p = c.projection
            item["projection"] = {"days_elapsed": p.days_elapsed, "days_in_month": p.days_in_month,
                                  "projected_total_kg": kg(p.projected_total_mg),
                                  "projected_pa_kg": kg(p.projected_pa_mg),
                                  "pa_kg_still_needed": kg(p.pa_mg_still_needed)}
        canteens.append(item)
    doc = {"month": result.month, "as_of": result.as_of.isoformat(),
           "rule": {"threshold": str(result.rule.threshold), "basis": result.rule.basis.value,
                    "scope": result.rule.scope.value},
           "canteens": canteens, "institutions": [_rollup(r) for r in result.institutions],
           "province": _rollup(result.province)}
    return json.dumps(doc, ensure_ascii=False, indent=2)


def to_table(result: MonthCompliance) -> str:
    head = f"{result.month} 食堂扶贫农产品采购比例 (规则: {rule_text(result.rule, 'zh')})"
    header = ["院校", "食堂", "总量kg", "扶贫kg", "数量占比", "总金额", "扶贫金额", "金额占比", "状态", "缺口kg"]
    rows = []
    for c in result.canteens:
        t = tally_figures(c.tally)
        rows.append([c.institution, f"{c.canteen} {c.canteen_name}", t["total_kg"], t["pa_kg"], percent(c.tally.share_qty),
                     t["total_amount"], t["pa_amount"], percent(c.tally.share_amount), STATUS["zh"][c.status],
                     kg(c.shortfall_mg)])
    for r in [*result.institutions, result.province]:
        t = tally_figures(r.tally)
        rows.append([r.code, f"合计 {r.name} ({r.compliant}/{r.canteens} 达标)", t["total_kg"], t["pa_kg"],
                     percent(r.tally.share_qty), t["total_amount"], t["pa_amount"], percent(r.tally.share_amount), "",
                     kg(r.shortfall_mg)])
    out = [head, format_table(header, rows, right={2, 3, 4, 5, 6, 7, 9})]
    projected = [c for c in result.canteens if c.projection]
    if projected:
        out.append(f"\n本月按目前进度预测 (截至 {result.as_of}):")
        for c in projected:
            p = c.projection
            out.append(f"  {c.canteen} {c.canteen_name}: 月末预计总量 {kg(p.projected_total_mg)} kg, "
                       f"扶贫 {kg(p.projected_pa_mg)} kg; 本月还需扶贫采购 {kg(p.pa_mg_still_needed)} kg")
    return "\n".join(out)



def entries_table(month: str, lines: list) -> str:
    """`fupin procure entries`: one line per ledger entry, figures rounded as everywhere (half up)."""
    if not lines:
        return f"no entries in {month}"
    header = ["id", "date", "canteen", "supplier", "category", "product", "quantity", "kg", "yuan", "ref/line",
              "source", ""]
    rows = [[f"#{e.id}", str(e.date), e.canteen, e.supplier, e.category, e.product, f"{e.quantity} {e.unit}",
             kg(e.qty_mg), yuan(e.amount_fen), f"{e.ref}/{e.line}", "扶贫" if e.is_pa else "",
             f"void of #{e.reverses_id}" if e.reverses_id else ""] for e in lines]
    return format_table(header, rows, right={7, 8})


def audit_table(events: list) -> str:
    if not events:
        return "no audit events"
    rows = [[str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.entity, e.entity_key, e.reason or "",
             e.detail if len(e.detail) < 80 else e.detail[:77] + "..."] for e in events]
    return format_table(["#", "at (UTC)", "who", "action", "entity", "key", "reason", "detail"], rows, right=set())


def master_table(kind: str, columns: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return f"no {kind} yet: fupin procure import-master --kind {kind} FILE"
    return format_table(columns, rows, right=set())
