"""A county map of a kindergarten run as SVG text, for the planners' web pages.

`county_map_svg(county, sites, assignments, lang, width)` draws, with nothing fetched from anywhere:
the villages (dots sized by children), the township seats (rings, with the township's name), the
kindergarten sites of the run by action (existing, expanded, attached class, new), a line from
every village to the site it is assigned to, a legend in zh or en and a scale bar in km.

Made for a page under a strict Content-Security-Policy: no `style` attribute, no `on*` attribute, no
<script>, no link to anything; colours are presentation attributes (fill=, stroke=) and every
element has a class the page's CSS may restyle. Every text from the data is XML-escaped; the same
input gives the same bytes; positions are rounded to 0.1 px.

CSS classes (root <svg class="fupin-map">):
  map-title                   the county's name and code above the map
  map-area                    the map's background rectangle
  assignments / assignment    the lines, village to site (one per assignment row)
  villages / village          one dot per village; `village-assigned` when it is in an assignment
  seats / seat                a ring round each township seat
  sites / site                one marker per site village, `site-new`, `site-attached`,
                              `site-expand` or `site-existing` by its main action (new before
                              attached before expand before existing; every action is in its title)
  labels / township-label     the townships' names beside their seats
  scale-bar                   the scale bar (line `scale-line`, text `scale-text`)
  legend / legend-item        the legend, one group per entry (`legend-text` for its words)
  map-note                    a line naming rows of the run whose village is not in the county data
Villages' markers and lines carry data-village (and data-site), seats data-township: the codes.
"""

from __future__ import annotations

import html
import math
import re

from common.languages import LANGS
from planning.kindergartens import EARTH_RADIUS_KM, KindergartenCounty

from .figures import grouped

MAP_TEXT = {
    "zh": {"village": "村（点大小＝幼儿数）", "village_other": "未分配的村", "seat": "乡镇驻地",
           "existing": "现有幼儿园", "expand": "扩建", "attached": "附设幼儿班", "new": "新建幼儿园",
           "assignment": "就读分配", "km": "公里", "children": "幼儿", "places": "新增学位",
           "capacity": "学位容量", "cost": "费用", "yuan": "元", "central": "中心园", "served_at": "就读于",
           "township": "乡镇", "no_kindergarten": "无幼儿园", "unknown": "未画出：{n} 行的村代码不在本县数据中",
           "sep": "：", "list": "，"},
    "en": {"village": "village (dot size = children)", "village_other": "village not assigned",
           "seat": "township seat", "existing": "existing kindergarten", "expand": "expanded",
           "attached": "attached class", "new": "new kindergarten", "assignment": "assignment",
           "km": "km", "children": "children", "places": "places added", "capacity": "capacity",
           "cost": "cost", "yuan": "yuan", "central": "central", "served_at": "served at",
           "township": "township", "no_kindergarten": "no kindergarten",
           "unknown": "not drawn: {n} row(s) whose village code is not in this county's data",
           "sep": ": ", "list": ", "},
}

# Main action first: the marker of a site village is that of its first action here.
ACTION_ORDER = ("new", "attached", "expand", "existing")
COLOURS = {"new": "#c0392b", "attached": "#1e8449", "expand": "#2471a3", "existing": "#5d6d7e"}
VILLAGE_FILL, VILLAGE_STROKE = "#f5b041", "#9c640c"
OTHER_FILL, OTHER_STROKE = "#ffffff", "#a6acaf"
LINE_COLOUR, SEAT_COLOUR, TEXT_COLOUR, AREA_FILL, AREA_STROKE = "#85929e", "#1b2631", "#1b2631", "#fbfcfc", "#d5d8dc"
FONT = "Noto Sans CJK SC, WenQuanYi Zen Hei, Microsoft YaHei, PingFang SC, sans-serif"

MARGIN = 16  # px round the map area
PAD = 14  # px inside the map area, so markers at the edge stay whole
TITLE_H = 28
FONT_SIZE = 12
LEGEND_ROW = 22
MAX_ASPECT = 1.1  # the map is at most this many times as high as wide
MIN_AREA_H = 120  # px
SITE_SIZE = 6.5  # px: half the size of a site marker
LABEL_SIZE = 11
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NARROW = {**dict.fromkeys(" .,:;'!|()[]ilj", 0.28), **dict.fromkeys("frt-", 0.36)}
# Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def county_map_svg(county: KindergartenCounty, sites: list[dict], assignments: list[dict], lang: str = "zh",
                   width: int = 720) -> str:
    """The county's map as SVG text (an <svg> element, UTF-8 when encoded).

    `sites` and `assignments` are rows of the run's sites.csv and assignments.csv as csv.DictReader
    gives them (text values); rows of other counties are left out, so a whole file may be given.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language '{lang}': use one of {', '.join(LANGS)}")
    if width < 240:
        raise ValueError(f"width {width} px is too small for a map: give 240 or more")
    return _Map(county, sites, assignments, MAP_TEXT[lang], int(width)).svg()


class _Map:
    def __init__(self, county: KindergartenCounty, sites: list[dict], assignments: list[dict], t: dict, width: int):
        self.county, self.t, self.width = county, t, width
        self.villages = {v.code: v for v in county.villages}
        self.unknown = 0  # rows of this county whose village (or site) the county data lack
        self.actions: dict[str, list[dict]] = {}  # village code -> its site rows
        for row in sites:
            codes = self._codes(row, "village")
            if codes:
                self.actions.setdefault(codes[0], []).append(row)
        self.assigned: dict[str, tuple[str, dict]] = {}  # village code -> (site code, row)
        self.lines: list[tuple[str, str, dict]] = []
        for row in assignments:
            codes = self._codes(row, "village", "site")
            if codes:
                self.lines.append((codes[0], codes[1], row))
                self.assigned[codes[0]] = (codes[1], row)
        self.seats = {t.seat for t in county.townships}
        self.most_children = max((v.children for v in county.villages), default=0)
        self._project()

    # input ------------------------------------------------------------------------------------
    def _codes(self, row: dict, *columns: str) -> list[str] | None:
        """The village codes in `row`'s `columns`; None for a row of another county, and None
        (counted as unknown) when the county has no such village."""
        county = _plain(row.get("county"))
        if county is not None and county != self.county.code:
            return None
        codes = [_text(row.get(c)) for c in columns]
        if all(c in self.villages for c in codes):
            return codes
        self.unknown += 1
        return None

    # geometry ---------------------------------------------------------------------------------
    def _project(self) -> None:
        """Village positions in km (equirectangular about the mean latitude for lon/lat), then px."""
        vs = self.county.villages
        if self.county.geographic and vs:
            lat0 = sum(v.y for v in vs) / len(vs)
            k = EARTH_RADIUS_KM * math.pi / 180
            kx = k * math.cos(math.radians(lat0))
            km = {v.code: (v.x * kx, v.y * k) for v in vs}
        else:
            km = {v.code: (v.x, v.y) for v in vs}
        xs = [p[0] for p in km.values()] or [0.0]
        ys = [p[1] for p in km.values()] or [0.0]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        inner_w = self.width - 2 * MARGIN - 2 * PAD
        # At least 1 km each way, so that one village (or a few very close) is not blown up.
        self.scale = scale = min(inner_w / max(x1 - x0, 1.0), inner_w * MAX_ASPECT / max(y1 - y0, 1.0))  # px per km
        draw_w, draw_h = (x1 - x0) * scale, (y1 - y0) * scale
        area_h = max(draw_h + 2 * PAD, MIN_AREA_H)
        self.area = (MARGIN, TITLE_H, self.width - 2 * MARGIN, area_h)
        left = MARGIN + PAD + (inner_w - draw_w) / 2  # centred
        top = TITLE_H + (area_h - draw_h) / 2
        self.pos = {c: (left + (x - x0) * scale, top + (y1 - y) * scale) for c, (x, y) in km.items()}

    # drawing ----------------------------------------------------------------------------------
    def svg(self) -> str:
        t, county = self.t, self.county
        ax, ay, aw, ah = self.area
        legend, legend_h = self._legend(ay + ah + 10)
        note = []
        bottom = ay + ah + 10 + legend_h
        if self.unknown:
            note = [f'<text class="map-note" x="{_n(MARGIN)}" y="{_n(bottom + 12)}" font-size="{FONT_SIZE}" '
                    f'fill="{COLOURS["new"]}">{_esc(t["unknown"].format(n=self.unknown))}</text>']
            bottom += 20
        height = math.ceil(bottom + 6)
        name = f"{county.name} ({county.code})" if county.name != county.code else county.code
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="fupin-map" width="{self.width}" height="{height}" '
               f'viewBox="0 0 {self.width} {height}" font-family="{FONT}" font-size="{FONT_SIZE}" role="img">',
               f"<title>{_esc(name)}</title>",
               f'<text class="map-title" x="{MARGIN}" y="{TITLE_H - 9}" font-size="15" font-weight="bold" '
               f'fill="{TEXT_COLOUR}">{_esc(name)}</text>',
               f'<rect class="map-area" x="{_n(ax)}" y="{_n(ay)}" width="{_n(aw)}" height="{_n(ah)}" '
               f'fill="{AREA_FILL}" stroke="{AREA_STROKE}"/>']
        out += self._assignments()
        out += self._villages()
        out += self._seats()
        out += self._sites()
        out += self._labels()
        out += legend + note
        out.append("</svg>")
        return "\n".join(out) + "\n"

    def _radius(self, children: int) -> float:
        """A village dot's radius: its area grows with the children, the most populous 5.5 px."""
        most = self.most_children
        return 1.8 + (3.7 * math.sqrt(children / most) if most > 0 else 0.0)

    def _assignments(self) -> list[str]:
        out = [f'<g class="assignments" stroke="{LINE_COLOUR}" stroke-width="0.9" stroke-opacity="0.85">']
        for village, site, row in self.lines:
            (x1, y1), (x2, y2) = self.pos[village], self.pos[site]
            tip = self._line_title(village, site, row)
            out.append(f'<line class="assignment" data-village="{_esc(village)}" data-site="{_esc(site)}" '
                       f'x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}"><title>{_esc(tip)}</title></line>')
        out.append("</g>")
        return out

    def _villages(self) -> list[str]:
        out = ['<g class="villages" stroke-width="0.7">']
        for v in self.county.villages:
            x, y = self.pos[v.code]
            assigned = v.code in self.assigned
            cls = "village village-assigned" if assigned else "village"
            fill, stroke = (VILLAGE_FILL, VILLAGE_STROKE) if assigned else (OTHER_FILL, OTHER_STROKE)
            out.append(f'<circle class="{cls}" data-village="{_esc(v.code)}" cx="{_n(x)}" cy="{_n(y)}" r="{_n(self._radius(v.children))}" '
                       f'fill="{fill}" stroke="{stroke}"><title>{_esc(self._title(v.code))}</title></circle>')
        out.append("</g>")
        return out

    def _seats(self) -> list[str]:
        out = [f'<g class="seats" fill="none" stroke="{SEAT_COLOUR}" stroke-width="1.4">']
        for township in self.county.townships:
            if township.seat in self.pos:
                x, y = self.pos[township.seat]
                r = max(self._radius(self.villages[township.seat].children), SITE_SIZE) + 3.5
                tip = f"{self.t['seat']}{self.t['sep']}{township.name} ({township.code})\n{self._title(township.seat)}"
                out.append(f'<circle class="seat" data-township="{_esc(township.code)}" cx="{_n(x)}" cy="{_n(y)}" r="{_n(r)}">'
                           f"<title>{_esc(tip)}</title></circle>")
        out.append("</g>")
        return out

    def _sites(self) -> list[str]:
        out = ['<g class="sites" stroke="#ffffff" stroke-width="1">']
        for v in self.county.villages:  # in the county's order, whatever the rows' order
            rows = self.actions.get(v.code)
            if not rows:
                continue
            actions = [a for a in ACTION_ORDER if any(_plain(r.get("action")) == a for r in rows)]
            main = actions[0] if actions else "existing"
            x, y = self.pos[v.code]
            cls = "site " + " ".join(f"site-{a}" for a in (actions or [main]))
            out.append(_marker(main, x, y, SITE_SIZE, f'class="{cls}" data-village="{_esc(v.code)}" fill="{COLOURS[main]}"',
                               f"<title>{_esc(self._title(v.code))}</title>"))
        out.append("</g>")
        return out

    def _labels(self) -> list[str]:
        """Each township's name beside its seat, at the first of six places round it that stays in
        the map area and covers the fewest names placed before, then the fewest sites and seats."""
        out = [f'<g class="labels" fill="{TEXT_COLOUR}" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" '
               f'paint-order="stroke" font-size="{LABEL_SIZE}">']
        ax, ay, aw, ah = self.area
        r = SITE_SIZE + 2
        markers = [(x - r, y - r, x + r, y + r) for code, (x, y) in self.pos.items()
                   if code in self.actions or code in self.seats]
        placed: list[tuple[float, float, float, float]] = []
        for township in self.county.townships:
            if township.seat not in self.pos:
                continue
            x, y = self.pos[township.seat]
            w, h, gap = _text_width(township.name, LABEL_SIZE), LABEL_SIZE, SITE_SIZE + 8
            # (left, top, right, bottom) of each place: right, left, above and below on either side
            boxes = [(x + gap, y - h, x + gap + w, y + 1), (x - gap - w, y - h, x - gap, y + 1),
                     (x + gap - 4, y - gap - h, x + gap - 4 + w, y - gap + 1),
                     (x + gap - 4, y + gap - 1, x + gap - 4 + w, y + gap + h),
                     (x - gap - w + 4, y - gap - h, x - gap + 4, y - gap + 1),
                     (x - gap - w + 4, y + gap - 1, x - gap + 4, y + gap + h)]
            own = (x - r, y - r, x + r, y + r)

            def cost(box, k):
                outside = not (box[0] >= ax + 2 and box[2] <= ax + aw - 2 and box[1] >= ay + 2 and box[3] <= ay + ah - 2)
                return (outside, sum(_overlap(box, p) for p in placed),
                        sum(_overlap(box, m) for m in markers if m != own), k)

            box = min((cost(b, k), b) for k, b in enumerate(boxes))[1]
            placed.append(box)
            out.append(f'<text class="township-label" x="{_n(box[0])}" y="{_n(box[3] - 2)}">{_esc(township.name)}</text>')
        out.append("</g>")
        return out

    def _legend(self, top: float) -> tuple[list[str], float]:
        """The scale bar, then the legend's entries, in rows below the map; and the height they take."""
        t = self.t
        entries = [("village", t["village"]), ("village_other", t["village_other"]), ("seat", t["seat"]),
                   ("assignment", t["assignment"])]
        entries += [(a, t[a]) for a in ("existing", "expand", "attached", "new")]  # on a row of their own
        out = ['<g class="legend" font-size="12">']
        scale = self._scale_bar(MARGIN, top + LEGEND_ROW / 2)
        x, y = MARGIN + scale[1] + 18, top + LEGEND_ROW / 2
        right = self.width - MARGIN
        for key, words in entries:
            w = 21 + _text_width(words, FONT_SIZE) + 14
            if (x + w > right or key == "existing") and x > MARGIN:
                x, y = MARGIN, y + LEGEND_ROW
            out.append(f'<g class="legend-item legend-{key}">{_legend_symbol(key, x + 8, y)}'
                       f'<text class="legend-text" x="{_n(x + 21)}" y="{_n(y + 4)}" fill="{TEXT_COLOUR}">'
                       f"{_esc(words)}</text></g>")
            x += w
        out.append("</g>")
        return scale[0] + out, y + LEGEND_ROW / 2 - top

    def _scale_bar(self, x: float, y: float) -> tuple[list[str], float]:
        """A bar of a round number of km, about a fifth of the map wide; (elements, width in px)."""
        target = (self.area[2] - 2 * PAD) / 5 / self.scale
        step = 10 ** math.floor(math.log10(target)) if target > 0 else 1
        km = max((m * step for m in (1, 2, 5, 10) if m * step <= target), default=step)
        px = km * self.scale
        label = f"{km:g} {self.t['km']}"
        parts = [f'<g class="scale-bar" stroke="{TEXT_COLOUR}" stroke-width="1.5" fill="none">',
                 f'<path class="scale-line" d="M{_n(x)} {_n(y - 4)}V{_n(y + 3)}H{_n(x + px)}V{_n(y - 4)}"/>',
                 f'<text class="scale-text" x="{_n(x + px + 6)}" y="{_n(y + 4)}" fill="{TEXT_COLOUR}" stroke="none">'
                 f"{_esc(label)}</text>", "</g>"]
        return parts, px + 6 + _text_width(label, FONT_SIZE)

    # titles -----------------------------------------------------------------------------------
    def _title(self, code: str) -> str:
        """A village's tooltip: name and code, children, its site rows, where its children go."""
        t, v = self.t, self.villages[code]
        lines = [f"{v.name} ({v.code})", f"{t['children']}{t['sep']}{v.children}"]
        for row in self.actions.get(code, []):
            action = _plain(row.get("action")) or ""
            words = [t.get(action, action)]
            if action != "existing":
                words.append(f"{t['places']} {_text(row.get('places_added'))}")
            words.append(f"{t['capacity']} {_text(row.get('capacity'))}")
            if _plain(row.get("central")) == "yes":
                words.append(t["central"])
            words.append(f"{t['cost']} {grouped(_text(row.get('cost')))} {t['yuan']}")
            lines.append(t["list"].join(words))
        if code in self.assigned:
            site, row = self.assigned[code]
            lines.append(f"{t['served_at']} {self.villages[site].name} ({site}), "
                         f"{_text(row.get('distance_km'))} {t['km']}")
        return "\n".join(lines)

    def _line_title(self, village: str, site: str, row: dict) -> str:
        v, s = self.villages[village], self.villages[site]
        t = self.t
        return (f"{v.name} ({v.code}) → {s.name} ({s.code}), {_text(row.get('distance_km'))} {t['km']}, "
                f"{t['children']} {_text(row.get('children'))}")


# ---------------------------------------------------------------------------------------------
# Helpers


def _marker(action: str, x: float, y: float, size: float, attrs: str, inner: str = "") -> str:
    """The marker of `action` centred at (x, y), `size` px from centre to edge."""
    if action == "existing":
        s = size * 0.85
        return (f'<rect {attrs} x="{_n(x - s)}" y="{_n(y - s)}" width="{_n(2 * s)}" height="{_n(2 * s)}">'
                f"{inner}</rect>")
    if action == "expand":
        pts = [(x, y - size * 1.15), (x + size * 1.15, y), (x, y + size * 1.15), (x - size * 1.15, y)]
    elif action == "attached":
        r = size * 1.2
        pts = [(x, y - r), (x + r * 0.866, y + r * 0.5), (x - r * 0.866, y + r * 0.5)]
    else:  # new: a five-pointed star
        r, q = size * 1.45, size * 0.6
        pts = [(x + (r if i % 2 == 0 else q) * math.sin(i * math.pi / 5),
                y - (r if i % 2 == 0 else q) * math.cos(i * math.pi / 5)) for i in range(10)]
    points = " ".join(f"{_n(px)},{_n(py)}" for px, py in pts)
    return f'<polygon {attrs} points="{points}">{inner}</polygon>'


def _legend_symbol(key: str, x: float, y: float) -> str:
    if key == "village":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4.5" fill="{VILLAGE_FILL}" stroke="{VILLAGE_STROKE}"/>'
    if key == "village_other":
        return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="4.5" fill="{OTHER_FILL}" stroke="{OTHER_STROKE}"/>'
    if key == "seat":
        return (f'<circle cx="{_n(x)}" cy="{_n(y)}" r="6.5" fill="none" stroke="{SEAT_COLOUR}" '
                f'stroke-width="1.4"/>')
    if key == "assignment":
        return (f'<line x1="{_n(x - 8)}" y1="{_n(y + 4)}" x2="{_n(x + 8)}" y2="{_n(y - 4)}" '
                f'stroke="{LINE_COLOUR}" stroke-width="1.2"/>')
    return _marker(key, x, y, 5.5, f'fill="{COLOURS[key]}" stroke="#ffffff" stroke-width="1"')


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _plain(value: object) -> str | None:
    """A CSV cell as written before csv_text neutralised it ('=A1 -> =A1); None when missing."""
    if value is None:
        return None
    text = str(value)
    if text.startswith("'") and text[1:].startswith(_FORMULA):
        return text[1:]
    return text


def _text(value: object) -> str:
    return _plain(value) or ""


def _esc(text: str) -> str:
    """Text for XML content or a quoted attribute: & < > " ' escaped, characters XML cannot hold replaced."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def _n(value: float) -> str:
    """A coordinate rounded to 0.1 ("-0.0" written 0)."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _text_width(text: str, size: float) -> float:
    """About how wide `text` is drawn at `size` px: wide (CJK) characters a full em, Latin ones by shape."""
    return size * sum(1.0 if ord(ch) > 0x2E7F else _NARROW.get(ch, 0.75 if ch in "mwMW" else
                                                               0.62 if ch.isupper() else 0.52) for ch in text)
