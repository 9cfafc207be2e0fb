"""Compliance results as CSV, JSON and a terminal table (kg 3 decimals, yuan 2, shares 4)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from fractions import Fraction

from .quota import MonthCompliance, Rollup, Status, Tally, round_half_up

CSV_COLUMNS = ["institution", "canteen", "month", "total_kg", "pa_kg", "share_qty", "total_amount", "pa_amount",
               "share_amount", "threshold", "status", "shortfall_kg"]
STATUS_ZH = {Status.COMPLIANT: "达标", Status.SHORT: "未达标", Status.NO_PURCHASES: "无采购"}


def kg(mg: int | Fraction) -> str:
    return str(round_half_up(Fraction(mg) / 1_000_000, 3))


def yuan(fen: int | Fraction) -> str:
    return str(round_half_up(Fraction(fen) / 100, 2))


def share(value: Fraction | None) -> str:
    return "" if value is None else str(round_half_up(value, 4))


def _tally(t: Tally) -> dict:
    return {"total_kg": kg(t.total_mg), "pa_kg": kg(t.pa_mg), "share_qty": share(t.share_qty),
            "total_amount": yuan(t.total_fen), "pa_amount": yuan(t.pa_fen), "share_amount": share(t.share_amount)}


def csv_rows(result: MonthCompliance) -> list[dict]:
    threshold = str(round_half_up(Fraction(result.rule.threshold), 4))
    return [{"institution": c.institution, "canteen": c.canteen, "month": c.month, **_tally(c.tally),
             "threshold": threshold, "status": c.status.value, "shortfall_kg": kg(c.shortfall_mg)}
            for c in result.canteens]


def to_csv(result: MonthCompliance) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(result))
    return buf.getvalue()


def _rollup(r: Rollup) -> dict:
    return {"code": r.code, "name": r.name, **_tally(r.tally), "shortfall_kg": kg(r.shortfall_mg),
            "shortfall_amount": yuan(r.shortfall_fen), "canteens": r.canteens, "compliant": r.compliant,
            "short": r.short, "no_purchases": r.no_purchases}


def to_json(result: MonthCompliance) -> str:
    canteens = []
    for row, c in zip(csv_rows(result), result.canteens):
        item = {**row, "institution_name": c.institution_name, "canteen_name": c.canteen_name,
                "shortfall_amount": yuan(c.shortfall_fen),
                "categories": [{"code": k.code, "name": k.name, "counts_toward_quota": k.counts_toward_quota,
                                **_tally(k.tally)} for k in c.categories]}
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


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def format_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(str(v), w, i in right) for i, (v, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_table(result: MonthCompliance) -> str:
    rule = result.rule
    basis = "数量" if rule.basis.value == "quantity" else "金额"
    head = (f"{result.month} 食堂扶贫农产品采购比例 (规则: {basis} ≥ {round_half_up(Fraction(rule.threshold) * 100, 2)}%,"
            f" {'合并计算' if rule.scope.value == 'pooled' else '分品类计算'})")
    header = ["院校", "食堂", "总量kg", "扶贫kg", "数量占比", "总金额", "扶贫金额", "金额占比", "状态", "缺口kg"]
    rows = []
    for c in result.canteens:
        t = _tally(c.tally)
        rows.append([c.institution, f"{c.canteen} {c.canteen_name}", t["total_kg"], t["pa_kg"], _pct(c.tally.share_qty),
                     t["total_amount"], t["pa_amount"], _pct(c.tally.share_amount), STATUS_ZH[c.status],
                     kg(c.shortfall_mg)])
    for r in [*result.institutions, result.province]:
        t = _tally(r.tally)
        rows.append([r.code, f"合计 {r.name} ({r.compliant}/{r.canteens} 达标)", t["total_kg"], t["pa_kg"],
                     _pct(r.tally.share_qty), t["total_amount"], t["pa_amount"], _pct(r.tally.share_amount), "",
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


def _pct(value: Fraction | None) -> str:
    return "—" if value is None else f"{round_half_up(value * 100, 2)}%"
