"""Report wording in Chinese (default) and English; the ledger's own words (status, rule) come from
procure.wording and the figures are formatted by procure.units either way."""

from __future__ import annotations

from common import languages
from procure import wording

LANGS = languages.LANGS

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title_institution": "食堂扶贫农产品采购比例报告",
        "title_province": "全省院校食堂扶贫农产品采购比例汇总报告",
        "institution": "院校", "period": "统计期间", "rule": "考核规则", "data_taken": "数据截取时间",
        "issue_no": "报告编号", "fingerprint": "数据指纹", "entries": "所据台账分录",
        "chain_head": "台账链头",
        "summary": "各食堂汇总", "province_summary": "各院校排名汇总", "categories": "分品类明细",
        "chart": "近12个月扶贫采购占比", "chart_title": "扶贫采购占比（近12个月）", "threshold": "考核线",
        "share": "占比", "province": "全省",
        "exceptions": "例外事项", "short": "未达标食堂", "certificates": "扶贫认定证书已过期或30天内到期的采购",
        "no_exceptions": "无", "appendix": "附录：扶贫采购明细（凭证）",
        "appendix_province": "扶贫采购明细见各院校报告附录。", "appendix_total": "合计",
        "preparer": "编制人", "reviewer": "审核人", "sign_date": "日期", "signature": "签字",
        "amendment": "更正报告", "amends": "本报告更正第 {n} 号报告。变更内容：",
        "reissue": "与第 {n} 号报告所据数据相同，数字一致。",
        "rank": "排名", "code": "代码", "canteen": "食堂", "category": "品类", "counts": "计入比例",
        "yes": "是", "no": "否",
        "total_kg": "总量(kg)", "pa_kg": "扶贫(kg)", "share_qty": "数量占比", "total_yuan": "总金额(元)",
        "pa_yuan": "扶贫金额(元)", "share_amount": "金额占比", "status": "状态", "shortfall_kg": "缺口(kg)",
        "shortfall_yuan": "缺口(元)", "month": "月份", "months_ok": "达标月数",
        "canteens_ok": "达标食堂(月)", "total": "合计",
        "date": "日期", "supplier": "供应商", "product": "品名", "source": "来源", "certificate": "证书编号",
        "ref": "单号/行", "valid_to": "有效期至", "issue": "问题",
        "expired": "采购日证书已过期", "expiring": "证书 {days} 天后到期", "not_yet": "采购日证书尚未生效",
        "source_certified": "认定产品", "source_mall": "爱心扶贫网", "source_village": "帮扶村",
        "footer": "第 {page} 页",
        "entries_added": "新增分录", "entries_gone": "不再计入的分录", "void_of": "冲销 #{n}",
        "reopened": "{month} 月于 {at} 由 {who} 重新打开，原因：{reason}",
        "other_change": "所据台账行的主数据（供应商、品类）有变更",
    },
    "en": {
        "title_institution": "Canteen poverty-alleviation purchasing report",
        "title_province": "Province summary of canteen poverty-alleviation purchasing",
        "institution": "Institution", "period": "Period", "rule": "Rule", "data_taken": "Data taken at",
        "issue_no": "Report no.", "fingerprint": "Data fingerprint", "entries": "Ledger entries used",
        "chain_head": "Ledger chain head",
        "summary": "Canteens", "province_summary": "Institutions, ranked",
        "categories": "By category", "chart": "Share over the last 12 months",
        "chart_title": "Poverty-alleviation share (last 12 months)", "threshold": "threshold",
        "share": "share", "province": "Province",
        "exceptions": "Exceptions", "short": "Canteens below the threshold",
        "certificates": "Purchases whose supplier certificate had expired or expired within 30 days",
        "no_exceptions": "none", "appendix": "Appendix: poverty-alleviation purchases (evidence)",
        "appendix_province": "The evidence lines are in each institution's report.", "appendix_total": "Total",
        "preparer": "Prepared by", "reviewer": "Reviewed by", "sign_date": "Date", "signature": "Signature",
        "amendment": "AMENDMENT", "amends": "This report amends report no. {n}. What changed:",
        "reissue": "Built from the same ledger rows as report no. {n}; the figures are unchanged.",
        "rank": "Rank", "code": "Code", "canteen": "Canteen", "category": "Category", "counts": "Counts",
        "yes": "yes", "no": "no",
        "total_kg": "Total kg", "pa_kg": "PA kg", "share_qty": "Share (qty)", "total_yuan": "Total yuan",
        "pa_yuan": "PA yuan", "share_amount": "Share (yuan)", "status": "Status", "shortfall_kg": "Shortfall kg",
        "shortfall_yuan": "Shortfall yuan", "month": "Month", "months_ok": "Months compliant",
        "canteens_ok": "Compliant canteen-months", "total": "Total",
        "date": "Date", "supplier": "Supplier", "product": "Product", "source": "Source",
        "certificate": "Certificate", "ref": "Ref/line", "valid_to": "Valid to", "issue": "Issue",
        "expired": "certificate expired before the purchase", "expiring": "certificate expires {days} days later",
        "not_yet": "certificate not yet valid on the purchase date",
        "source_certified": "certified", "source_mall": "mall", "source_village": "village",
        "footer": "Page {page}",
        "entries_added": "Entries added", "entries_gone": "Entries no longer counted", "void_of": "void of #{n}",
        "reopened": "{month} reopened at {at} by {who}: {reason}",
        "other_change": "master data (supplier, category) of the ledger rows changed",
    },
}

STATUS_TEXT = wording.STATUS
