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
           "targeted_students": ("vacancies", "intake", "unmet", "surplus")}
KIND = {"special_post_teachers": "teachers", "targeted_students": "graduates"}


def load_run(run_dir: str | Path) -> dict:
    """summary.json and per-county totals from allocation.csv of one run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FupinError(f"{run_dir}: no such run folder")
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        text = (run_dir / "allocation.csv").read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FupinError(f"{run_dir}: not a planning run folder: {Path(exc.filename).name} is missing") from None
    except (OSError, ValueError) as exc:
        raise FupinError(f"{run_dir}: cannot read the run: {exc}") from None
    model = summary.get("model") if isinstance(summary, dict) else None
    if model not in FIGURES:
        raise FupinError(f"{run_dir}/summary.json: not a planning summary (no known 'model')")
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
        change = {k: tb[k] - ta[k] for k in figures}
        rows.append({"county": county, "name": b["names"].get(county) or a["names"].get(county, ""),
                     "a": ta, "b": tb, "change": change, "changed": any(change.values())})

    def head(run):
        s = run["summary"]
        return {"path": run["path"], "status": s.get("status"), "objective": s.get("objective"),
                "solver": s.get("solver"), "scenario": (s.get("scenario") or {}).get("name")}

    return {"kind": KIND[a["model"]], "figures": list(figures), "a": head(a), "b": head(b), "rows": rows,
            "changed": sum(r["changed"] for r in rows)}


def _signed(n: int) -> str:
    return f"{n:+d}" if n else "0"


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
