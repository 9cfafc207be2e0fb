"""reports.maps: the SVG county map of a kindergarten run, checked on a real run of two sample counties."""

from __future__ import annotations

import csv
import math
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from planning.kindergartens import KindergartenCounty, Township, Village, distance_km, read_province
from planning.services import plan_kindergartens
from reports.maps import MAP_TEXT, county_map_svg

DATA = Path(__file__).resolve().parents[2] / "data" / "kindergartens"
SVG = "{http://www.w3.org/2000/svg}"
CODES = ("YP", "BT")


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real run of two small sample counties, read back as the web pages read it."""
    out = tmp_path_factory.mktemp("maps") / "run"
    outcome = plan_kindergartens(DATA, None, CODES, 1, "highs", 60, "columns", "zh", out, report=False)
    assert outcome.summary["total"]["counties_solved"] == 2
    counties = {c.code: c for c in read_province(DATA)}
    return counties, read_csv(out / "sites.csv"), read_csv(out / "assignments.csv")


def rows_of(rows: list[dict], code: str) -> list[dict]:
    return [r for r in rows if r["county"] == code]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def classed(root: ET.Element, name: str) -> list[ET.Element]:
    return [e for e in root.iter() if name in e.get("class", "").split()]


def centre(e: ET.Element) -> tuple[float, float]:
    return float(e.get("cx")), float(e.get("cy"))


def title(e: ET.Element) -> str:
    return e.find(f"{SVG}title").text


def assert_inert(root: ET.Element) -> None:
    """No style or on* attribute, no script or foreign object, no link to anything, anywhere."""
    for e in root.iter():
        assert e.tag.startswith(SVG), e.tag
        assert e.tag not in (f"{SVG}script", f"{SVG}foreignObject", f"{SVG}a", f"{SVG}image", f"{SVG}use", f"{SVG}style")
        for name in e.attrib:
            local = name.rsplit("}", 1)[-1].lower()
            assert local != "style" and not local.startswith("on") and "href" not in local, (e.tag, name)


@pytest.mark.parametrize("code", CODES)
def test_one_marker_per_village_and_one_line_per_assignment(run, code):
    counties, sites, assignments = run
    county, own_sites, own_assignments = counties[code], rows_of(sites, code), rows_of(assignments, code)
    assert county.geographic and own_assignments
    # The whole files are given: rows of the other county are left out.
    root = parse(county_map_svg(county, sites, assignments))
    assert_inert(root)
    villages = classed(root, "village")
    assert [e.get("data-village") for e in villages] == [v.code for v in county.villages]
    at = {e.get("data-village"): centre(e) for e in villages}
    lines = classed(root, "assignment")
    assert len(lines) == len(own_assignments)
    for line, row in zip(lines, own_assignments):
        assert (line.get("data-village"), line.get("data-site")) == (row["village"], row["site"])
        assert (float(line.get("x1")), float(line.get("y1"))) == at[row["village"]]
        assert (float(line.get("x2")), float(line.get("y2"))) == at[row["site"]]
    assigned = {e.get("data-village") for e in classed(root, "village-assigned")}
    assert assigned == {r["village"] for r in own_assignments}
    # One marker per site village, of its main action, in the same place as the village's dot.
    markers = classed(root, "site")
    assert sorted(e.get("data-village") for e in markers) == sorted({r["village"] for r in own_sites})
    for e in markers:
        actions = {r["action"] for r in own_sites if r["village"] == e.get("data-village")}
        main = next(a for a in ("new", "attached", "expand", "existing") if a in actions)
        assert {c[5:] for c in e.get("class").split() if c.startswith("site-")} == actions
        assert f"site-{main}" in e.get("class")
        assert e.tag == (f"{SVG}rect" if main == "existing" else f"{SVG}polygon")
    assert {e.get("data-township") for e in classed(root, "seat")} == {t.code for t in county.townships}
    assert len(classed(root, "township-label")) == len(county.townships)


@pytest.mark.parametrize("code", CODES)
def test_the_shape_is_right_every_way(run, code):
    # Equirectangular about the mean latitude: px per km is the same north-south and east-west.
    counties, sites, assignments = run
    county = counties[code]
    root = parse(county_map_svg(county, [], []))
    at = {e.get("data-village"): centre(e) for e in classed(root, "village")}
    vs = county.villages
    ratios = []
    for a, b in zip(vs, vs[1:] + vs[:1]):
        km = distance_km(a, b, True)
        if km > 2:
            ratios.append(math.dist(at[a.code], at[b.code]) / km)
    assert len(ratios) > 10
    assert max(ratios) / min(ratios) < 1.01


def village(code, township, name, x, y, children, primary=False, places=0, central=False):
    return Village(code, township, name, x, y, children, primary, places, central)


def km_county() -> KindergartenCounty:
    return KindergartenCounty("K", "公里县", [Township("T1", "K", "一镇", 1000, "S")], [
        village("S", "T1", "驻地村", 0, 0, 100, True, 120, True),
        village("A", "T1", "甲村", 10, 0, 80),
        village("B", "T1", "乙村", 0, 5, 70),
        village("C", "T1", "丙村", 10, 5, 10),
    ])


def test_km_county_keeps_its_aspect_and_the_scale_bar_says_km():
    county = km_county()
    sites = [{"county": "K", "township": "T1", "village": "S", "action": "existing", "places_added": "0",
              "capacity": "120", "central": "yes", "cost": "0"},
             {"county": "K", "township": "T1", "village": "A", "action": "new", "places_added": "180",
              "capacity": "180", "central": "no", "cost": "3000000"}]
    assignments = [{"county": "K", "village": "S", "site": "S", "distance_km": "0.0", "children": "100"},
                   {"county": "K", "village": "A", "site": "A", "distance_km": "0.0", "children": "80"},
                   {"county": "K", "village": "B", "site": "S", "distance_km": "5.0", "children": "70"}]
    svg = county_map_svg(county, sites, assignments, "en")
    root = parse(svg)
    assert_inert(root)
    at = {e.get("data-village"): centre(e) for e in classed(root, "village")}
    (sx, sy), (ax, ay), (bx, by) = at["S"], at["A"], at["B"]
    assert ay == sy and bx == sx and by < sy  # east is right, north is up
    assert (ax - sx) == pytest.approx(2 * (sy - by), abs=0.2)  # 10 km across, 5 km up
    # The new kindergarten's tooltip: name, code, children, action, places, cost.
    star = next(e for e in classed(root, "site-new"))
    assert title(star).splitlines()[:3] == ["甲村 (A)", "children: 80",
                                            "new kindergarten, places added 180, capacity 180, cost 3,000,000 yuan"]
    scale = "".join(classed(root, "scale-text")[0].itertext())
    assert re.fullmatch(r"\d+ km", scale)
    px = 10 / (ax - sx)  # km per px
    path = classed(root, "scale-line")[0].get("d")
    xs = [float(v) for v in re.findall(r"[MH](-?[\d.]+)", path)]
    assert (xs[1] - xs[0]) * px == pytest.approx(int(scale.split()[0]), rel=0.01)
    assert not classed(root, "map-note")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_legend_in_the_chosen_language(run, lang):
    counties, sites, assignments = run
    root = parse(county_map_svg(counties["YP"], sites, assignments, lang))
    words = ["".join(e.itertext()) for e in classed(root, "legend-text")]
    t = MAP_TEXT[lang]
    assert words == [t[k] for k in ("village", "village_other", "seat", "assignment", "existing", "expand",
                                    "attached", "new")]
    assert ("新建幼儿园" in words) == (lang == "zh") and ("new kindergarten" in words) == (lang == "en")
    # The legend lies below the map: it covers no village.
    bottom = max(y for e in classed(root, "village") for _, y in [centre(e)])
    area = classed(root, "map-area")[0]
    assert bottom < float(area.get("y")) + float(area.get("height"))
    for e in root.iter(f"{SVG}text"):
        if "legend-text" in e.get("class", "") or "scale-text" in e.get("class", ""):
            assert float(e.get("y")) > float(area.get("y")) + float(area.get("height"))


def test_unknown_language_is_refused(run):
    counties, _, _ = run
    with pytest.raises(ValueError, match="unknown language"):
        county_map_svg(counties["YP"], [], [], "fr")


HOSTILE = ['<script>alert(1)</script>', '"&\'', "<img src=x onerror=alert(1)>", "]]><svg onload=alert(1)>",
           "a\x01b"]


def test_hostile_names_and_codes_come_out_inert():
    t1, t2 = '<b onmouseover="x">镇</b>', "&amp;"
    county = KindergartenCounty('<script>alert("c")</script>', "</svg><script>alert(2)</script>",
                                [Township(t1, "X", HOSTILE[2], 100, HOSTILE[1]),
                                 Township(t2, "X", HOSTILE[3], 100, "-1+1")],
                                [village(HOSTILE[1], t1, HOSTILE[0], 0, 0, 100, True, 90, True),
                                 village("=cmd|' /C calc'!A0", t1, HOSTILE[1], 3, 0, 80),
                                 village("-1+1", t2, HOSTILE[4], 0, 4, 70, True)])
    code = county.code
    # sites.csv and assignments.csv neutralise text starting like a formula with an apostrophe.
    sites = [{"county": code, "township": t1, "village": HOSTILE[1], "action": "existing", "places_added": "0",
              "capacity": "90", "central": "yes", "cost": "0"},
             {"county": code, "township": t2, "village": "'-1+1", "action": "attached", "places_added": "60",
              "capacity": "60", "central": "no", "cost": "600000"}]
    assignments = [{"county": code, "village": "'=cmd|' /C calc'!A0", "site": HOSTILE[1], "distance_km": "3.2",
                    "children": "80"},
                   {"county": code, "village": "'-1+1", "site": "'-1+1", "distance_km": "0.0", "children": "70"},
                   {"county": code, "village": "<nowhere>", "site": HOSTILE[1], "distance_km": "1",
                    "children": "9"}]
    for lang in ("zh", "en"):
        svg = county_map_svg(county, sites, assignments, lang)
        root = parse(svg)  # well-formed
        assert_inert(root)
        for bad in ("<script", "<img", "<b ", "</svg><", "\x01"):
            assert bad not in svg, bad
        assert svg.count("</svg>") == 1
        # The names come back as they were (control characters replaced): text, never markup.
        names = {title(e).splitlines()[0] for e in classed(root, "village")}
        assert names == {f"{HOSTILE[0]} ({HOSTILE[1]})", f"{HOSTILE[1]} (=cmd|' /C calc'!A0)", "a\ufffdb (-1+1)"}
        assert [e.get("data-village") for e in classed(root, "village")] == [v.code for v in county.villages]
        assert {"".join(e.itertext()) for e in classed(root, "township-label")} == {HOSTILE[2], HOSTILE[3]}
        assert "".join(root.find(f"{SVG}title").itertext()) == f"{county.name} ({code})"
        assert len(classed(root, "assignment")) == 2
        assert len(classed(root, "site")) == 2
        assert classed(root, "map-note")  # the row of an unknown village is named, not drawn


def test_same_input_same_bytes_and_one_decimal(run):
    counties, sites, assignments = run
    first = county_map_svg(counties["BT"], sites, assignments, "zh")
    assert first == county_map_svg(counties["BT"], list(sites), list(assignments), "zh")
    for value in re.findall(r' (?:x|y|x1|y1|x2|y2|cx|cy|r|width|height)="([^"]*)"', first):
        assert re.fullmatch(r"-?\d+(\.\d)?", value), value
    for value in re.findall(r' points="([^"]*)"', first) + re.findall(r' d="([^"]*)"', first):
        assert all(re.fullmatch(r"-?\d+(\.\d)?", v) for v in re.findall(r"-?[\d.]+", value)), value


def test_every_sample_county_is_drawn_fast(run):
    # No run for all 19 counties here (minutes of solving): each village is served at its township's
    # seat, where a kindergarten is expanded, which draws as many lines and markers as a real plan.
    counties = read_province(DATA)
    plans = []
    for c in counties:
        township = {t.code: t for t in c.townships}
        sites = [{"county": c.code, "township": t.code, "village": t.seat, "action": "expand", "places_added": "10",
                  "capacity": "100", "central": "yes", "cost": "200000"} for t in c.townships]
        assignments = [{"county": c.code, "village": v.code, "site": township[v.township].seat,
                        "distance_km": "1.0", "children": str(v.children)} for v in c.villages]
        plans.append((c, sites, assignments))
    start = time.perf_counter()
    slowest = 0.0
    for c, sites, assignments in plans:
        t0 = time.perf_counter()
        svg = county_map_svg(c, sites, assignments)
        slowest = max(slowest, time.perf_counter() - t0)
        assert svg.count('class="assignment"') == len(c.villages)
    total = time.perf_counter() - start
    assert len(plans) == 19
    assert total < 1.0 and slowest < 0.1, (total, slowest)
