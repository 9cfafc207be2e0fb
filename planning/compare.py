"""Two run folders side by side, county by county."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from common.errors import FupinError
from common.tables import csv_text
from common.terminal import format_table

FIGURES = {"special_post_teachers": ("shortage", "allocated", "unmet"),
           "targeted_students": ("vacancies", "intake", "unmet", "surplus"),
           "kindergartens": ("cost", "children_km", "new", "attached", "expanded", "places_added")}
KIND = {"special_post_teachers": "teachers", "targeted_students": "graduates", "kindergartens": "kindergartens"}


def load_run(run_dir: str | Path) -> dict:
    """summary.json and per-county totals of one run folder (from allocation.csv, or for a
    kindergarten run from the counties planned in summary.json)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FupinError(f"{run_dir}: no such run folder")
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FupinError(f"{run_dir}: not a planning run folder: {Path(exc.filename).name} is missing") from None
    except (OSError, ValueError) as exc:
        raise FupinError(f"{run_dir}: cannot read the run: {exc}") from None
    model = (summary.get("model") or summary.get("kind")) if isinstance(summary, dict) else None
    if model not in FIGURES:
        raise FupinError(f"{run_dir}/summary.json: not a planning summary (no known 'model')")
    if model == "kindergartens":
        return _kindergarten_run(run_dir, summary)
    try:
        text = (run_dir / "allocation.csv").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FupinError(f"{run_dir}: not a planning run folder: {Path(exc.filename).name} is missing") from None
    except OSError as exc:
        raise FupinError(f"{run_dir}: cannot read the run: {exc}") from None
    totals: dict[str, dict[str, int]] = {}
    try:
        for row in csv.DictReader(io.StringIO(text)):
            county = totals.setdefault(row["county"], dict.fromkeys(FIGURES[model], 0))
            for key in FIGURES[model]:
                county[key] += int(row[key])
    except (KeyError, ValueError, TypeError) as exc:
        raise FupinError(f"{run_dir}/allocation.csv: unexpected content ({exc})") from None
    names = {c: v.get("name", "") for c, v in summary.get("counties", {}).items()}
    return {"path": str(run_dir), "model": model, "summary": summary, "totals": totals, "names": names}


def _kindergarten_run(run_dir: Path, summary: dict) -> dict:
    """A county without a plan in the run has no figures (it compares as zeros, and says so by name)."""
    figures = FIGURES["kindergartens"]
    try:
        counties = summary["counties"]
        totals = {code: {k: c[k] for k in figures} for code, c in counties.items() if c.get("cost") is not None}
        names = {code: c.get("name", "") for code, c in counties.items()}
    except (KeyError, TypeError, AttributeError) as exc:
        raise FupinError(f"{run_dir}/summary.json: unexpected content ({exc})") from None
    return {"path": str(run_dir), "model": "kindergartens", "summary": summary, "totals": totals, "names": names}


def _head(run: dict) -> dict:
    s = run["summary"]
    if run["model"] == "kindergartens":
        return {"path": run["path"], "status": s["total"]["status"], "objective": s["total"]["cost"],
                "solver": s.get("solver"), "scenario": (s.get("scenario") or {}).get("name")}
    return {"path": run["path"], "status": s.get("status"), "objective": s.get("objective"),
            "solver": s.get("solver"), "scenario": (s.get("scenario") or {}).get("name")}


def _difference(a: int | float, b: int | float) -> int | float:
    # children-km are floats kept to 3 decimals: their difference is too, so 0.1 + 0.2 never "changes".
    return round(b - a, 3) if isinstance(a, float) or isinstance(b, float) else b - a


def compare_runs(run_a: str | Path, run_b: str | Path) -> dict:
    """The view model of a comparison: one row per county with A, B and B - A of each figure."""
    a, b = load_run(run_a), load_run(run_b)
    if a["model"] != b["model"]:
        raise FupinError(f"cannot compare a {KIND[a['model']]} run with a {KIND[b['model']]} run")
    figures = FIGURES[a["model"]]
    rows = []
    for county in sorted(set(a["totals"]) | set(b["totals"])):
        ta = a["totals"].get(county, dict.fromkeys(figures, 0))
        tb = b["totals"].get(county, dict.fromkeys(figures, 0))
        change = {k: _difference(ta[k], tb[k]) for k in figures}
        rows.append({"county": county, "name": b["names"].get(county) or a["names"].get(county, ""),
                     "a": ta, "b": tb, "change": change, "changed": any(change.values())})

    return {"kind": KIND[a["model"]], "figures": list(figures), "a": _head(a), "b": _head(b), "rows": rows,
            "changed": sum(r["changed"] for r in rows)}


def _signed(n: int | float) -> str:
    if not n:
        return "0"
    return f"{n:+.1f}" if isinstance(n, float) else f"{n:+d}"


def to_table(view: dict, changed_only: bool = False) -> str:
    figures = view["figures"]
    header = ["county", "name"] + [f"{f} {side}" for f in figures for side in ("A", "B", "B-A")]
    rows = [[r["county"], r["name"]] + [v for f in figures for v in (str(r["a"][f]), str(r["b"][f]),
                                                                    _signed(r["change"][f]))]
            for r in view["rows"] if r["changed"] or not changed_only]
    lines = [f"A: {view['a']['path']} (scenario {view['a']['scenario']}, {view['a']['status']}, "
             f"objective {view['a']['objective']})",
             f"B: {view['b']['path']} (scenario {view['b']['scenario']}, {view['b']['status']}, "
             f"objective {view['b']['objective']})", ""]
    if rows:
        lines.append(format_table(header, rows, right=set(range(2, len(header)))))
    lines.append(f"\n{view['changed']} of {len(view['rows'])} counties changed.")
    return "\n".join(lines)


def to_csv(view: dict) -> str:
    figures = view["figures"]
    columns = ["county", "name"] + [f"{f}_{side}" for f in figures for side in ("a", "b", "change")]
    return csv_text(columns, [{"county": r["county"], "name": r["name"],
                               **{f"{f}_{side}": r[key][f] for f in figures
                                  for side, key in (("a", "a"), ("b", "b"), ("change", "change"))}}
                              for r in view["rows"]])
