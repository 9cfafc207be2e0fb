"""The ledger's hash chain: tamper evidence for the rows fupin only ever appends.

Every purchase entry, audit event and issued report gets `row_hash`, a SHA-256 of its content.
Each commit that wrote such rows appends one link per table to `chain_links`:

    digest    = sha256("id:row_hash" of each new row, in id order)
    link_hash = sha256([prev link_hash, table, first id, last id, rows, digest])

so every link seals its rows and everything before it, as transparency logs do. `verify` reads
the whole ledger again and names the first row or link that does not match. Writers take turns
(db.engine), so links follow the order of writing and id ranges never interleave.

What it cannot see: someone who rewrites rows, their hashes and every later link with this code in
hand produces a chain that verifies; only a chain head printed earlier (on a report) exposes that,
and `verify --head` checks that an earlier head is still part of the chain.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Callable, Collection, Iterable, Mapping, Sequence

from sqlalchemy import Boolean, Connection, Date, DateTime, String, Table, bindparam, func, select, update

from .models import AuditEvent, ChainLink, Purchase, ReportIssue, as_utc, utcnow

GENESIS = "0" * 64
# The chained tables in the order a commit seals them, with what a message calls one row.
CHAINED: dict[str, tuple[Table, str]] = {
    "purchases": (Purchase.__table__, "ledger entry"),
    "audit_events": (AuditEvent.__table__, "audit event"),
    "report_issues": (ReportIssue.__table__, "report"),
}
# What a row's hash covers, fixed for good: a column added to these tables later is not part of
# the hash (rows hashed before it existed must still verify), unless a new chain version says so.
CONTENT = {
    "purchases": ["purchase_date", "canteen_id", "supplier_id", "category_id", "product", "quantity", "unit",
                  "qty_mg", "amount_fen", "ref", "line", "key_seq", "is_pa", "pa_source", "pa_certificate",
                  "reverses_id", "batch_id", "note", "created_by", "created_at"],
    "audit_events": ["at", "actor", "action", "entity", "entity_key", "detail", "reason"],
    "report_issues": ["report_key", "kind", "scope", "period_from", "period_to", "lang", "file_format", "file_name",
                      "file_sha256", "fingerprint", "issued_by", "issued_at", "previous_id", "amendment", "changes",
                      "snapshot", "entries", "chain_head"],
}
_STREAM = 20_000


@functools.lru_cache(maxsize=4096)
def _moment(value: dt.datetime) -> str:
    return as_utc(value).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


@functools.lru_cache(maxsize=4096)
def _day(value: dt.date) -> str:
    return value.isoformat()


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _encoders(kind: str) -> list[tuple[str, object]]:
    """Per content column, how its value is spelled, whatever the database and driver hand back."""
    out = []
    for name in CONTENT[kind]:
        column = CHAINED[kind][0].c[name]
        kind_of = column.type
        out.append((column.name, _moment if isinstance(kind_of, DateTime) else _day if isinstance(kind_of, Date)
                    else _flag if isinstance(kind_of, Boolean) else str))
    return out


_ENCODERS = {kind: _encoders(kind) for kind in CHAINED}
_CONTENT = {kind: [name for name, _ in _ENCODERS[kind]] for kind in CHAINED}


def row_hash(kind: str, values: Mapping[str, object]) -> str:
    """SHA-256 of a row's content (every column but id and row_hash), each value length-prefixed."""
    parts = [kind]
    for name, spell in _ENCODERS[kind]:
        value = values[name]
        if value is None:
            parts.append("~")
        else:
            text = spell(value)
            parts.append(f"{len(text)}:{text}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def row_hash_if_complete(kind: str, values: Mapping[str, object]) -> str | None:
    """The hash of a row about to be inserted, or None when a column is left to its default (the
    seal then hashes the row as stored)."""
    return row_hash(kind, values) if all(c in values for c in _CONTENT[kind]) else None


class _Pieces(dict):
    """A column's values spelled as row_hash spells them ("len:text", "~" for None), each spelled once."""

    def __init__(self, spell: Callable[[object], str]):
        super().__init__()
        self.spell = spell

    def __missing__(self, value: object) -> str:
        if len(self) > 100_000:
            self.clear()
        piece = self[value] = "~" if value is None else f"{len(text := self.spell(value))}:{text}"
        return piece


def row_hasher(kind: str, names: Sequence[str], constants: Mapping[str, object],
               rarely_repeated: Collection[str] = ()) -> Callable[[Sequence], str]:
    """`row_hash` for many rows at a time: each row a sequence of the columns `names`, as the database
    is handed them (text, integers, booleans as 0/1, dates as ISO text, or None); every other
    content column takes its value from `constants`. The same hash as `row_hash` at a third of the
    cost: the function is generated once, so that a row costs one f-string and one SHA-256, and a
    value that repeats (a date, a supplier) is spelled once, unless its column is `rarely_repeated`."""
    lines, pieces = ["def _hash(r):"], [kind]
    scope: dict = {"_sha256": hashlib.sha256}
    columns = CHAINED[kind][0].columns
    for k, (name, spell) in enumerate(_ENCODERS[kind]):
        if name in constants:
            value = constants[name]
            scope[f"c{k}"] = "~" if value is None else f"{len(spell(value))}:{spell(value)}"
            pieces.append(f"{{c{k}}}")
            continue
        i = names.index(name)
        if name not in rarely_repeated:
            scope[f"m{k}"] = _Pieces(str)
            pieces.append(f"{{m{k}[r[{i}]]}}")
            continue
        # Text columns arrive as text; the others are spelled by str().
        value = f"r[{i}]" if isinstance(columns[name].type, (String, Date)) else f"str(r[{i}])"
        if columns[name].nullable:
            lines.append(f"    p{k} = '~' if r[{i}] is None else f'{{len(s := {value})}}:{{s}}'")
            pieces.append(f"{{p{k}}}")
        else:
            lines.append(f"    s{k} = {value}")
            pieces.append(f"{{len(s{k})}}:{{s{k}}}")
    lines.append(f'    return _sha256(f"{"|".join(pieces)}".encode()).hexdigest()')
    exec(compile("\n".join(lines), f"<row_hasher {kind}>", "exec"), scope)
    return scope["_hash"]


@dataclass
class Sealable:
    """What a writer that inserted a table's rows itself hands the seal (`session.info[HANDED]`), so
    that the seal need not read them back: their ids, first_id..last_id without gaps, and the
    running SHA-256 of "id:row_hash" lines in id order."""

    first_id: int
    last_id: int
    digest: "hashlib._Hash"

    def add(self, pairs: Iterable[tuple[int, str]]) -> None:
        self.digest.update("".join(itertools.starmap("{}:{}\n".format, pairs)).encode())


HANDED = "fupin_chain_handed"


def _digest(pairs: Iterable[tuple[int, str]]) -> str:
    h = hashlib.sha256()
    for row_id, digest in pairs:
        h.update(f"{row_id}:{digest}\n".encode())
    return h.hexdigest()


def link_hash(prev_hash: str, kind: str, first_id: int, last_id: int, rows: int, digest: str) -> str:
    return hashlib.sha256(json.dumps([prev_hash, kind, first_id, last_id, rows, digest]).encode()).hexdigest()


def head(conn: Connection) -> str:
    """The newest link's hash (GENESIS for a ledger without rows)."""
    found = conn.execute(select(ChainLink.link_hash).order_by(ChainLink.id.desc()).limit(1)).scalar()
    return found or GENESIS


def seal(conn: Connection, handed: Mapping[str, Sealable] | None = None) -> None:
    """Append a link for each chained table's rows written since its last link (called before every
    commit of a unit of work; a transaction that wrote nothing chained adds nothing). Rows `handed`
    over by their writer are counted, not read back, when they are exactly the new rows."""
    links = ChainLink.__table__
    for kind, (table, _) in CHAINED.items():
        last = conn.execute(select(func.max(links.c.last_id)).where(links.c.kind == kind)).scalar() or 0
        newest = conn.execute(select(func.max(table.c.id))).scalar()
        if newest is None or newest <= last:
            continue
        mine = (handed or {}).get(kind)
        if mine is not None:
            rows, first = conn.execute(select(func.count(), func.min(table.c.id)).where(table.c.id > last)).one()
            if (first, newest, rows) == (mine.first_id, mine.last_id, mine.last_id - mine.first_id + 1):
                _link(conn, kind, first, newest, rows, mine.digest.hexdigest())
                continue
        pairs: list[tuple[int, str]] = []
        unhashed: list[int] = []
        for row_id, stored in conn.execute(select(table.c.id, table.c.row_hash).where(table.c.id > last)
                                           .order_by(table.c.id)):
            pairs.append((row_id, stored))
            if stored is None:
                unhashed.append(row_id)
        if unhashed:
            computed = _hash_rows(conn, kind, unhashed)
            conn.execute(update(table).where(table.c.id == bindparam("b_id")).values(row_hash=bindparam("b_hash")),
                         [{"b_id": i, "b_hash": h} for i, h in computed.items()])
            pairs = [(i, computed.get(i, h)) for i, h in pairs]
        _link(conn, kind, pairs[0][0], pairs[-1][0], len(pairs), _digest(pairs))


def _link(conn: Connection, kind: str, first: int, last_id: int, rows: int, digest: str) -> None:
    previous = head(conn)
    conn.execute(ChainLink.__table__.insert().values(
        kind=kind, first_id=first, last_id=last_id, rows=rows, digest=digest, prev_hash=previous,
        link_hash=link_hash(previous, kind, first, last_id, rows, digest), sealed_at=utcnow()))


def _read(kind: str) -> list:
    """The columns a check reads: only those the hash covers (a later column may not exist yet, as
    during migration 0003)."""
    table = CHAINED[kind][0]
    return [table.c.id, table.c.row_hash, *(table.c[name] for name in CONTENT[kind])]


def _hash_rows(conn: Connection, kind: str, ids: list[int]) -> dict[int, str]:
    table = CHAINED[kind][0]
    out = {}
    for i in range(0, len(ids), 900):
        for row in conn.execute(select(*_read(kind)).where(table.c.id.in_(ids[i:i + 900]))).mappings():
            out[row["id"]] = row_hash(kind, row)
    return out


@dataclass
class Verification:
    ok: bool
    rows: int
    links: int
    head: str
    problem: str = ""
    head_found: bool | None = None  # for verify(earlier_head=...): is that head part of the chain
    counts: dict[str, int] | None = None  # rows checked per chained table


@dataclass
class _LinkCheck:
    """What the rows in one link's id range turn out to be."""

    count: int = 0
    hasher: object = None
    first_bad: tuple[int, str] | None = None  # (row id, what is wrong)

    def add(self, row_id: int, digest: str) -> None:
        self.count += 1
        self.hasher.update(f"{row_id}:{digest}\n".encode())


def verify(conn: Connection, earlier_head: str | None = None) -> Verification:
    """Recompute every row's hash and every link; the first thing that does not match is named."""
    links = list(conn.execute(select(ChainLink.__table__).order_by(ChainLink.id)))
    result = Verification(True, 0, len(links), links[-1].link_hash if links else GENESIS)
    if earlier_head:
        wanted = earlier_head.strip().lower()
        result.head_found = len(wanted) >= 8 and any(ln.link_hash.startswith(wanted) for ln in links)
    problem = _check_links(links)
    checks: dict[int, _LinkCheck] = {ln.id: _LinkCheck(hasher=hashlib.sha256()) for ln in links}
    outside: list[tuple[str, int]] = []
    for kind, (table, _) in CHAINED.items():
        mine = sorted((ln for ln in links if ln.kind == kind), key=lambda ln: ln.first_id)
        n = _check_rows(conn, kind, table, mine, checks, outside)
        result.counts = {**(result.counts or {}), kind: n}
        result.rows += n
    problem = problem or _first_row_problem(links, checks) or _outside_problem(outside)
    if problem:
        result.ok, result.problem = False, problem
    return result


def _check_links(links: list) -> str:
    previous = GENESIS
    for ln in links:
        if ln.prev_hash != previous:
            return (f"chain link #{ln.id} does not follow the link before it: a link was removed or changed "
                    "(the ledger rows it sealed may be gone)")
        if link_hash(ln.prev_hash, ln.kind, ln.first_id, ln.last_id, ln.rows, ln.digest) != ln.link_hash:
            return f"chain link #{ln.id} ({_what(ln.kind)}s #{ln.first_id}-#{ln.last_id}) was changed"
        previous = ln.link_hash
    return ""


def _check_rows(conn: Connection, kind: str, table: Table, mine: list, checks: dict, outside: list) -> int:
    """Stream the table in id order, hash each row, and hand it to the link whose range holds it."""
    n, k = 0, 0
    # yield_per on the statement, not the connection: a connection keeps its options for later statements.
    result = conn.execute(select(*_read(kind)).order_by(table.c.id).execution_options(yield_per=_STREAM)).mappings()
    for row in result:
        n += 1
        row_id = row["id"]
        while k < len(mine) and mine[k].last_id < row_id:
            k += 1
        if k == len(mine) or row_id < mine[k].first_id:
            outside.append((kind, row_id))
            continue
        check = checks[mine[k].id]
        computed = row_hash(kind, row)
        check.add(row_id, computed)
        if check.first_bad is None and computed != row["row_hash"]:
            check.first_bad = (row_id, "changed after it was written")
    return n


def _first_row_problem(links: list, checks: dict) -> str:
    for ln in links:  # in the order written
        check = checks[ln.id]
        sealed = f"sealed {ln.sealed_at:%Y-%m-%d %H:%M} UTC" if ln.sealed_at else "sealed"
        if check.first_bad is not None:
            row_id, what = check.first_bad
            return f"{_what(ln.kind)} #{row_id} does not match the chain: it was {what} (link #{ln.id}, {sealed})"
        if check.count != ln.rows:
            change = "deleted" if check.count < ln.rows else "added"
            return (f"chain link #{ln.id} ({_what(ln.kind)}s #{ln.first_id}-#{ln.last_id}, {sealed}) sealed "
                    f"{ln.rows:,} rows, {check.count:,} are there: rows were {change}")
        if check.hasher.hexdigest() != ln.digest:
            return (f"chain link #{ln.id} ({_what(ln.kind)}s #{ln.first_id}-#{ln.last_id}, {sealed}): its rows "
                    "do not match what was sealed")
    return ""


def _outside_problem(outside: list[tuple[str, int]]) -> str:
    if not outside:
        return ""
    kind, row_id = outside[0]
    more = f" (and {len(outside) - 1:,} more rows)" if len(outside) > 1 else ""
    return f"{_what(kind)} #{row_id} is not in the chain: it was written outside fupin{more}"


def _what(kind: str) -> str:
    return CHAINED[kind][1]
