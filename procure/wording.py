"""What the ledger says to people, in Chinese (the default) and English: one table per idea.

The terminal table, the reports (PDF, XLSX) and the web pages take their words from here.
"""

from __future__ import annotations

from .quota import Status
from .rules import Basis, QuotaRule, Scope
from .units import percent

STATUS: dict[str, dict[Status, str]] = {
    "zh": {Status.COMPLIANT: "达标", Status.SHORT: "未达标", Status.NO_PURCHASES: "无采购"},
    "en": {Status.COMPLIANT: "compliant", Status.SHORT: "short", Status.NO_PURCHASES: "no purchases"},
}
BASIS: dict[str, dict[Basis, str]] = {
    "zh": {Basis.QUANTITY: "数量", Basis.AMOUNT: "金额"},
    "en": {Basis.QUANTITY: "quantity", Basis.AMOUNT: "amount"},
}
SCOPE: dict[str, dict[Scope, str]] = {
    "zh": {Scope.POOLED: "合并计算", Scope.PER_CATEGORY: "分品类计算"},
    "en": {Scope.POOLED: "pooled", Scope.PER_CATEGORY: "each category"},
}


def rule_text(rule: QuotaRule, lang: str = "zh") -> str:
    """The rule in words: '数量 ≥ 20.00%, 合并计算'."""
    return f"{BASIS[lang][rule.basis]} ≥ {percent(rule.threshold)}, {SCOPE[lang][rule.scope]}"
