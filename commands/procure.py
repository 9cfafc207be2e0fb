"""`fupin procure`: the purchase ledger and the monthly quota. Parsing, one service call, messages."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

import click

from common.errors import FupinError
from common.files import atomic_write
from procure import formats, masterdata, services
from procure.rules import DEFAULT_RULE, Basis, Scope
from procure.template import write_template
from procure.units import fen_to_yuan, kg, mg_to_kg, yuan

from .app import App, pass_app
from .messages import MessageGroup


@click.group("procure", cls=MessageGroup)
def procure():
    """Canteen purchases and the monthly 20% poverty-alleviation quota (plan item 19).

    \b
    Example:
        fupin procure import purchases.xlsx
    """


@procure.command("import-master")
@click.option("--kind", required=True, type=click.Choice(list(masterdata.KINDS)), help="What the file holds.")
@click.argument("file", type=click.Path(dir_okay=False))
@pass_app
def import_master(app: App, kind, file):
    """Load or update institutions, canteens, suppliers, categories or packaging weights (by code).

    \b
    Headers (Chinese aliases accepted):
      institutions  code,name,kind
      canteens      code,institution,name[,operator,contractor]
      suppliers     code,name,eligibility,certificate,county,valid_from,valid_to
      categories    code,name,counts_toward_quota
      packaging     product,unit,kg_per_unit
    \b
    Example:
        fupin procure import-master --kind suppliers data/sample/suppliers.csv
    """
    with app.uow(write=True) as uow:
        result = services.import_master(uow, kind, file, app.user)
    click.echo(f"{kind}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged")
    for change in result.changes:
        click.echo(f"  changed {change}")


@procure.command("unit-weight")
@click.argument("product")
@click.argument("unit")
@click.argument("kg")
@pass_app
def unit_weight(app: App, product, unit, kg):
    """Define how many kg one packaging unit (箱, 袋, 件 ...) of a product weighs.

    \b
    Example:
        fupin procure unit-weight 大米 袋 25
    """
    with app.uow(write=True) as uow:
        services.set_unit_weight(uow, product, unit, kg, app.user)
    click.echo(f"1 {unit} of {product} = {kg} kg")


@procure.command("log")
@click.option("--date", "date_", required=True, help="Purchase date, e.g. 2025-03-05.")
@click.option("--canteen", required=True, help="Canteen code or name.")
@click.option("--supplier", required=True, help="Supplier code or name.")
@click.option("--category", required=True, help="Product category code or name.")
@click.option("--product", required=True, help="Product name, e.g. 大米.")
@click.option("--qty", "--quantity", "quantity", required=True, help="Quantity, e.g. 50.")
@click.option("--unit", required=True, help="kg/公斤, g/克, 斤, 两, t/吨, or a defined packaging unit.")
@click.option("--amount", required=True, help="Amount in yuan, e.g. 230.50.")
@click.option("--ref", required=True, help="Invoice or mall order number (单号).")
@click.option("--line", default="1", show_default=True, help="Line number within the invoice.")
@click.option("--note", default="", help="A remark.")
@pass_app
def log(app: App, date_, canteen, supplier, category, product, quantity, unit, amount, ref, line, note):
    """Record one purchase.

    \b
    Example:
        fupin procure log --date 2025-03-05 --canteen C01 --supplier S03 \\
            --category VEG --product 青菜 --qty 60 --unit 斤 --amount 150 --ref INV-0001
    """
    with app.uow(write=True) as uow:
        result = services.log_purchase(uow, app.user, date=date_, canteen=canteen, supplier=supplier,
                                     category=category, product=product, quantity=quantity, unit=unit,
                                       amount=amount, ref=ref, line=line, note=note)
    if result.already_present:
        click.echo(f"already in the ledger as entry #{result.already_present[0][1]}: nothing added")
        return
    added = result.added[0]
    for notice in result.notices:
        click.echo(f"note: {notice}")
    click.echo(f"entry #{result.ids[0]} added: {mg_to_kg(added['qty_mg'])} kg, ¥{fen_to_yuan(added['amount_fen'])}, "
               f"{'poverty-alleviation source' if added['is_pa'] else 'not a poverty-alleviation source'}")


@procure.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would be added; write nothing.")
@pass_app
def import_(app: App, file, dry_run):
    """Import purchases from CSV (UTF-8 or GBK) or XLSX: all lines or none, never twice.

    Headers in English or Chinese: date/日期, canteen/食堂, supplier/供应商, category/品类,
    product/品名, quantity/数量, unit/单位, amount/金额, ref/单号, and optional line/行号, note/备注.

    \b
    Example:
        fupin procure import --dry-run purchases.xlsx
        fupin procure import purchases.xlsx
    """
    with app.uow(write=True) as uow, _progress_bar() as progress:
        result = services.import_purchases(uow, file, app.user, dry_run=dry_run, progress=progress)
    n_new, n_old = result.lines_added, result.lines_present
    if result.notice_count:
        click.echo(f"note: {result.notice_count} line(s) from suppliers whose status did not cover the purchase "
                   "date do not count toward the quota:")
        for notice in result.notices[:20]:
            click.echo(f"  {notice}")
        if result.notice_count > 20:
            click.echo(f"  ... and {result.notice_count - 20} more")
    if dry_run:
        click.echo(f"dry run: {n_new} line(s) would be added ({kg(result.added_mg)} kg, ¥{yuan(result.added_fen)}); "
                   f"{n_old} already in the ledger; nothing was written")
    elif n_new:
        click.echo(f"{n_new} line(s) added as entries #{min(result.ids)}-#{max(result.ids)} "
                   f"(batch {result.batch_id}: {kg(result.added_mg)} kg, ¥{yuan(result.added_fen)}); "
                   f"{n_old} already in the ledger")
    else:
        click.echo(f"nothing added: all {n_old} line(s) are already in the ledger")


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int | None], None] | None]:
    """A bar on stderr while a long file is read; nothing when stderr is not a terminal (a pipe, a log)."""
    if not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=1, label="reading", file=sys.stderr, show_pos=True) as bar:
        def progress(done: int, expected: int | None) -> None:
            bar.length = max(expected or 0, done, 1)
            bar.update(done - bar.pos)
        yield progress


@procure.command("template")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="The .xlsx to write.")
def template(out):
    """Write an empty purchase workbook with the headers fupin reads.

    \b
    Example:
        fupin procure template -o 采购明细.xlsx
    """
    if not out.lower().endswith(".xlsx"):
        raise FupinError(f"{out}: the template is an Excel workbook; name it .xlsx")
    click.echo(f"wrote {write_template(out)}")


@procure.command("void")
@click.argument("entry_id", type=int)
@click.option("--reason", required=True, help="Why the entry is voided (kept in the audit trail).")
@pass_app
def void(app: App, entry_id, reason):
    """Void a ledger entry by recording a reversing entry (nothing is deleted).

    \b
    Example:
        fupin procure void 1234 --reason "重复录入"
    """
    with app.uow(write=True) as uow:
        reversal = services.void_entry(uow, entry_id, reason, app.user)
    click.echo(f"entry #{entry_id} voided by entry #{reversal}")


@procure.command("close")
@click.option("--month", required=True, help="YYYY-MM")
@pass_app
def close(app: App, month):
    """Lock a month: entries dated in it are refused until it is reopened.

    \b
    Example:
        fupin procure close --month 2025-03
    """
    with app.uow(write=True) as uow:
        services.close_month(uow, month, app.user)
    click.echo(f"month {month} closed")


@procure.command("reopen")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--reason", required=True, help="Why it is reopened (kept in the audit trail).")
@pass_app
def reopen(app: App, month, reason):
    """Reopen a closed month, with a reason.

    \b
    Example:
        fupin procure reopen --month 2025-03 --reason "补录发票 INV-0107"
    """
    with app.uow(write=True) as uow:
        services.reopen_month(uow, month, reason, app.user)
    click.echo(f"month {month} reopened")


@procure.command("entries")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--canteen", help="Only this canteen (code).")
@pass_app
def entries(app: App, month, canteen):
    """List a month's ledger entries with their ids (voids included).

    \b
    Example:
        fupin procure entries --month 2025-03 --canteen C01
    """
    with app.uow() as uow:
        lines = services.month_entries(uow, month, canteen)
    click.echo(formats.entries_table(month, lines))


@procure.command("list")
@click.argument("kind", type=click.Choice(list(services.MASTER_LISTS)))
@pass_app
def list_(app: App, kind):
    """Show master data.

    \b
    Example:
        fupin procure list suppliers
    """
    with app.uow() as uow:
        columns, rows = services.master_list(uow, kind)
    click.echo(formats.master_table(kind, columns, rows))


@procure.command("audit")
@click.option("--limit", default=30, show_default=True, help="How many events, newest first.")
@click.option("--entity", help="Only this kind of record, e.g. purchase, month, suppliers.")
@click.option("--key", help="Only this record, e.g. an entry id or a month.")
@pass_app
def audit_(app: App, limit, entity, key):
    """Show the audit trail: who changed what, when, and why.

    \b
    Example:
        fupin procure audit --entity purchase --key 1234
    """
    with app.uow() as uow:
        events = services.audit_trail(uow, limit, entity, key)
    click.echo(formats.audit_table(events))


@procure.command("compliance")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--institution", help="Only this institution (code).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--threshold", type=str, help=f"Override the share (default {DEFAULT_RULE.threshold}).")
@click.option("--basis", type=click.Choice([b.value for b in Basis]), help="Decide status on quantity or amount.")
@click.option("--scope", type=click.Choice([s.value for s in Scope]), help="Pooled, or each category on its own.")
@click.option("--as-of", help="Today's date for the current month's projection (default: today).")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), help="Write to a file instead of the screen.")
@pass_app
def compliance(app: App, month, institution, fmt, threshold, basis, scope, as_of, out):
    """Each canteen's share of poverty-alleviation produce for a month, against the quota.

    \b
    Example:
        fupin procure compliance --month 2025-03
        fupin procure compliance --month 2025-03 --institution HNU --format csv -o 2025-03.csv
    """
    try:
        rule = DEFAULT_RULE.with_overrides(threshold=threshold, basis=basis, scope=scope)
    except ArithmeticError:
        raise FupinError(f"--threshold '{threshold}' is not a number between 0 and 1, e.g. 0.2") from None
    with app.uow() as uow:
        result = services.month_compliance(uow, month, rule, institution, services.today_or(as_of))
    text = {"table": formats.to_table, "csv": formats.to_csv, "json": formats.to_json}[fmt](result)
    if out:
        atomic_write(out, text if text.endswith("\n") else text + "\n")
        click.echo(f"wrote {out}")
    else:
        click.echo(text.rstrip("\n"))


@procure.command("verify")
@click.option("--head", "earlier_head", metavar="HASH",
              help="A chain head printed earlier (on a report): check that it is still part of the chain.")
@pass_app
def verify(app: App, earlier_head):
    """Recompute the ledger's hash chain: every entry, audit event and issued report.

    Exit 0 with the chain head when everything matches what was written; exit 1 naming the first
    entry or link that does not. Someone who rewrites the whole chain with fupin's code in hand is
    caught only by --head with a head printed on an earlier report.

    \b
    Example:
        fupin procure verify
        fupin procure verify --head 3f2a9c0d1e5b
    """
    with app.uow() as uow:
        result = services.verify_ledger(uow, earlier_head)
    if not result.ok:
        raise FupinError(f"the ledger does not verify: {result.problem}. Restore the database from a backup, "
                         "or ask who changed it outside fupin; reports are not issued until it verifies")
    if earlier_head and not result.head_found:
        raise FupinError(f"chain head {earlier_head} is not part of this ledger's chain: the ledger was rewritten or "
                         "cut short after that head was printed (the chain verifies on its own; give at least 8 "
                         "characters of the head)")
    counts = result.counts or {}
    click.echo(f"ledger verified: {counts.get('purchases', 0):,} ledger entries, {counts.get('audit_events', 0):,} "
               f"audit events, {counts.get('report_issues', 0):,} reports in {result.links:,} links")
    if earlier_head:
        click.echo(f"chain head {earlier_head} printed earlier is part of the chain")
    click.echo(f"chain head: {result.head}")
