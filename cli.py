"""The `fupin` command: parsing and messages only; the work is in procure/, planning/, reports/."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
from pathlib import Path

import click
from sqlalchemy import select

import db
from procure import audit, ledger, masterdata, formats, quota
from common.errors import FupinError
from commands.messages import MessageGroup
from db.models import Canteen, Category, Institution, PackagingWeight, Supplier
from procure.rules import DEFAULT_RULE, Basis, Scope
from procure.template import write_template
from common.cells import fen_to_yuan, mg_to_kg, parse_date


class App:
    """What every command needs: the database (opened on first use) and who is acting."""

    def __init__(self, url: str | None, user: str | None):
        self.url = db.database_url(url)
        self.user = audit.current_user(user)
        self._engine = None

    def engine(self, check_schema: bool = True):
        if self._engine is None:
            self._engine = db.make_engine(self.url)
            if check_schema:
                db.ensure_schema(self._engine)
        return self._engine


class FupinGroup(MessageGroup):
    """Errors become messages (MessageGroup); `lazy` subcommands ("module:attribute", short help)
    are imported only when used: the planning and report stacks (PuLP, pandas, WeasyPrint,
    matplotlib) take seconds to import, which a canteen manager logging one purchase, or anyone
    asking for `--help`, should not wait for.
    """

    def __init__(self, *args, lazy: dict[str, tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            module, attribute = self.lazy[name][0].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        commands = []
        for name in self.list_commands(ctx):
            if name in self.lazy and name not in self.commands:
                commands.append((name, click.Command(name, help=self.lazy[name][1])))  # stands in; nothing imported
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)  # as click's own
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])


pass_app = click.make_pass_decorator(App)


@click.group(cls=FupinGroup, lazy={
    # Each command's first docstring line, for `fupin --help` (a test keeps them equal).
    "plan": ("commands.plan:plan",
             "Allocation scenarios: special-post teachers, targeted free-training students, kindergarten sites."),
    "report": ("commands.report:report",
               "PDF and XLSX reports for finance offices, registered with a fingerprint of their ledger rows."),
})
@click.option("--db", "url", metavar="URL", help="Database URL (default: FUPIN_DB, else sqlite:///fupin.db).")
@click.option("--user", help="Who is acting, for the audit trail (default: FUPIN_USER, else the login name).")
@click.version_option(package_name="fupin")
@click.pass_context
def cli(ctx, url, user):
    """fupin (扶贫): Hainan's education poverty-alleviation plan as software.

    \b
    Example:
        fupin --db sqlite:///fupin.db procure compliance --month 2025-03
    """
    ctx.obj = App(url, user)


@cli.group("db", cls=MessageGroup)
def dbcmd():
    """The database schema.

    \b
    Example:
        fupin --db postgresql://postgres@127.0.0.1/fupin db upgrade
    """



@dbcmd.command("upgrade")
@pass_app
def db_upgrade(app: App):
    """Migrate the database to this fupin's schema (a new database is created).

    \b
    Example:
        fupin db upgrade
    """
    before, after = db.upgrade(app.engine(check_schema=False))
    click.echo(f"schema already at {after}" if before == after else f"schema upgraded from {before or 'empty'} to {after}")


@cli.group(cls=MessageGroup)
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
    with db.unit_of_work(app.engine(), write=True) as uow:
        result = masterdata.import_master(uow.session, kind, file, app.user)
        uow.commit()
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
    with db.unit_of_work(app.engine(), write=True) as uow:
        ledger.set_unit_weight(uow.session, product, unit, kg, app.user)
        uow.commit()
    click.echo(f"1 {unit} of {product} = {kg} kg")


def _today(as_of: str | None) -> dt.date:
    if not as_of:
        return dt.date.today()
    try:
        return parse_date(as_of)
    except ValueError as exc:
        raise FupinError(f"--as-of {exc}") from None


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
    with db.unit_of_work(app.engine(), write=True) as uow:
        result = ledger.log_purchase(uow.session, app.user, date=date_, canteen=canteen, supplier=supplier,
                                     category=category, product=product, quantity=quantity, unit=unit,
                                     amount=amount, ref=ref, line=line, note=note)
        uow.commit()
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
    with db.unit_of_work(app.engine(), write=True) as uow:
        result = ledger.import_purchases(uow.session, file, app.user, dry_run=dry_run)
        if not dry_run:
            uow.commit()
    n_new, n_old = len(result.added), len(result.already_present)
    if result.notices:
        click.echo(f"note: {len(result.notices)} line(s) from suppliers whose status did not cover the purchase "
                   "date do not count toward the quota:")
        for notice in result.notices[:20]:
            click.echo(f"  {notice}")
        if len(result.notices) > 20:
            click.echo(f"  ... and {len(result.notices) - 20} more")
    if dry_run:
        click.echo(f"dry run: {n_new} line(s) would be added ({result.added_kg:.3f} kg, ¥{result.added_yuan:.2f}); "
                   f"{n_old} already in the ledger; nothing was written")
    elif n_new:
        click.echo(f"{n_new} line(s) added as entries #{min(result.ids)}-#{max(result.ids)} "
                   f"(batch {result.batch_id}: {result.added_kg:.3f} kg, ¥{result.added_yuan:.2f}); "
                   f"{n_old} already in the ledger")
    else:
        click.echo(f"nothing added: all {n_old} line(s) are already in the ledger")


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
    with db.unit_of_work(app.engine(), write=True) as uow:
        reversal = ledger.void_entry(uow.session, entry_id, reason, app.user)
        uow.commit()
    click.echo(f"entry #{entry_id} voided by entry #{reversal.id}")


@procure.command("close")
@click.option("--month", required=True, help="YYYY-MM")
@pass_app
def close(app: App, month):
    """Lock a month: entries dated in it are refused until it is reopened.

    \b
    Example:
        fupin procure close --month 2025-03
    """
    with db.unit_of_work(app.engine(), write=True) as uow:
        ledger.close_month(uow.session, month, app.user)
        uow.commit()
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
    with db.unit_of_work(app.engine(), write=True) as uow:
        ledger.reopen_month(uow.session, month, reason, app.user)
        uow.commit()
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
    with db.unit_of_work(app.engine()) as uow:
        rows = ledger.entries(uow.session, month, canteen)
        table = [[f"#{p.id}", str(p.purchase_date), p.canteen.code, p.supplier.code, p.category.code, p.product,
                  f"{p.quantity} {p.unit}", f"{mg_to_kg(p.qty_mg):.3f}", f"{fen_to_yuan(p.amount_fen):.2f}",
                  f"{p.ref}/{p.line}", "扶贫" if p.is_pa else "",
                  f"void of #{p.reverses_id}" if p.reverses_id else ""] for p in rows]
    header = ["id", "date", "canteen", "supplier", "category", "product", "quantity", "kg", "yuan", "ref/line",
              "source", ""]
    click.echo(formats.format_table(header, table, right={7, 8}) if table else f"no entries in {month}")


LISTS = {"institutions": (Institution, ["code", "name", "kind"]),
         "canteens": (Canteen, ["code", "name", "operator", "contractor"]),
         "suppliers": (Supplier, ["code", "name", "eligibility", "certificate", "county", "valid_from", "valid_to"]),
         "categories": (Category, ["code", "name", "counts_toward_quota"]),
         "packaging": (PackagingWeight, ["product", "unit", "kg_per_unit"])}


@procure.command("list")
@click.argument("kind", type=click.Choice(list(LISTS)))
@pass_app
def list_(app: App, kind):
    """Show master data.

    \b
    Example:
        fupin procure list suppliers
    """
    model, columns = LISTS[kind]
    with db.unit_of_work(app.engine()) as uow:
        rows = [["" if getattr(o, c) is None else str(getattr(o, c)) for c in columns]
                for o in uow.session.scalars(select(model).order_by(getattr(model, columns[0])))]
    click.echo(formats.format_table(columns, rows, right=set()) if rows else f"no {kind} yet: "
               f"fupin procure import-master --kind {kind} FILE")


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
    with db.unit_of_work(app.engine()) as uow:
        rows = [[str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action, e.entity, e.entity_key,
                 e.reason or "", e.detail if len(e.detail) < 80 else e.detail[:77] + "..."]
                for e in audit.trail(uow.session, limit, entity, key)]
    click.echo(formats.format_table(["#", "at (UTC)", "who", "action", "entity", "key", "reason", "detail"], rows,
                                   right=set()) if rows else "no audit events")


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
    with db.unit_of_work(app.engine()) as uow:
        result = quota.month_compliance(uow.session, month, rule, institution, _today(as_of))
    text = {"table": formats.to_table, "csv": formats.to_csv, "json": formats.to_json}[fmt](result)
    if out:
        Path(out).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"wrote {out}")
    else:
        click.echo(text.rstrip("\n"))


def main() -> None:
    cli(prog_name="fupin")


if __name__ == "__main__":
    sys.exit(main())
