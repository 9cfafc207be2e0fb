"""HTML templates to PDF: escaped templates, a fetcher that serves only our assets, one CJK font.

Speed: a batch of documents is served one small font, the installed CJK font cut down once to
the characters the batch uses (HarfBuzz's subsetter: milliseconds; without it fontTools, a few
tenths of a second). WeasyPrint otherwise copies and subsets the whole 17 MB font for every font
size and weight of every document. The stylesheet and font configuration are shared by the
batch, and `render_batch` spreads a batch over several processes (forked on Linux, each with the
same prepared font); pictures given as callables are drawn there too.
"""

from __future__ import annotations

import functools
import io
import logging
import mimetypes
import multiprocessing
import multiprocessing.util
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import cffi
from fontTools.ttLib import TTCollection, TTFont, TTLibError
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text import ffi
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from common.cells import inert
from common.errors import FupinError

from .figures import grouped, share_percent

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SCHEME = "fupin-static:"
# Fixed: documents never resolve against a file or web location, whatever they contain.
BASE_URL = SCHEME
FONT_ASSET = "fonts/report-cjk.ttf"

CJK_FONT_PACKAGES = "fonts-wqy-zenhei fonts-noto-cjk"
INSTALL_HINT = (
    "no Chinese (CJK) font is installed, and report PDFs must embed one. Install one and run again:\n"
    "  sudo apt-get install fonts-wqy-zenhei    (preferred: fastest to embed; or fonts-noto-cjk)\n"
    "or point FUPIN_CJK_FONT at a .ttf/.ttc/.otf file that has Chinese glyphs."
)
# Zen Hei first: a TrueType font that subsets several times faster than the CFF-based Noto CJK.
FONT_CANDIDATES = [
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "WenQuanYi Micro Hei"),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "Noto Sans CJK SC"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "Noto Serif CJK SC"),
]
_PROBE = "扶贫食堂"
# WeasyPrint warns once per SVG style property of every chart; refused URLs are in StaticFetcher.refused.
logging.getLogger("weasyprint").setLevel(logging.ERROR)


@dataclass
class Table:
    """The shape templates/table.html renders (through `lay_out`); the XLSX takes the values as they are."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)  # right-aligned, never wrapped, thousands separators
    totals: list[list[str]] = field(default_factory=list)
    empty: str = ""
    shares: set[int] = field(default_factory=set)  # shares ('0.2914') printed as percentages
    plain: set[int] = field(default_factory=set)  # numbers printed as they are (years)
    names: set[int] = field(default_factory=set)  # names that wrap to at most two lines
    keys: int = 0  # leading columns that name a row: repeated in every part of a split table
    groups: list[list[int]] = field(default_factory=list)  # columns kept together when split

    def shown(self, i: int, value: object) -> object:
        if i in self.shares:
            return share_percent(value)
        if i in self.numeric and i not in self.plain:
            return grouped(value)
        return value


def text_width(text: object) -> float:
    # Capitals are about a third wider than digits: "HNFP-2025-LG-0003" must not break at a hyphen.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else _WIDE.get(ch, 1.35 if ch.isupper() else 1)
               for ch in str(text))


_WIDE = {"M": 1.65, "W": 1.65, "m": 1.65, "%": 1.4}
# What fits across an A4 page at the reports' 8.5 pt, in half-em units (a Latin digit is about
# one, a Chinese character two), less the cells' padding.
PAGE_UNITS = 108
# Printed tables are measured in the report font's own advance widths (printed_width): 182 mm of
# portrait page or 269 mm of landscape page in half-ems of 8.5 pt, and per cell its 2.4 mm of
# padding and its border (1.7 half-ems) with half a half-em to spare.
PRINT_UNITS = 121
LANDSCAPE_UNITS = 179
PRINT_PAD = 2.2


@functools.lru_cache(maxsize=1)
def _font_metrics() -> tuple[dict[int, str], dict[str, tuple[int, int]], int] | None:
    try:
        font = find_cjk_font()
        face = TTFont(str(font.path), fontNumber=font.index, lazy=True)
        return face.getBestCmap() or {}, face["hmtx"].metrics, face["head"].unitsPerEm
    except (FupinError, OSError, TTLibError, KeyError):
        return None


@functools.lru_cache(maxsize=4096)
def _advance(ch: str) -> float:
    metrics = _font_metrics()
    name = metrics[0].get(ord(ch)) if metrics else None
    if name is None or name not in metrics[1]:
        # A character the font lacks is drawn by a fallback font: assume it wide.
        return 2 if unicodedata.east_asian_width(ch) in "WFA" else 1.3
    return metrics[1][name][0] * 2 / metrics[2]


def printed_width(text: object) -> float:
    """The width of `text` in the report font, in half-ems (a digit of WenQuanYi Zen Hei is 1.2)."""
    return sum(_advance(ch) for ch in str(text))
_WRAP_MIN = 10
_CODE_MIN = 16  # a date with its padding is 13
# A code keeps its longest unbreakable piece whole up to this width: a 16-character code
# ("CANTEEN-00-0001", "HNFP-2025-LG-0003") or a web shop's 20-digit order number. Longer pieces
# break inside rather than squeeze the Chinese text to a few characters a line.
_PIECE_MAX = 27
# The 3 units of padding counted in each width leave a unit and a half to spare: a table squeezed
# by 5% wraps no date or figure.
_SQUEEZE = 1.05


def _breakable(text: object) -> bool:
    return any(ch.isspace() or unicodedata.east_asian_width(ch) in "WF" for ch in str(text))


# Where a code may break without `overflow-wrap` cutting it: after a hyphen that a letter follows
# ("INV-" / "C02-20250313/2"); line breaking keeps a hyphen or slash with the digits after it.
_CODE_BREAK = re.compile(r"(?<=-)(?=[^\d-])|\s+")
# Runs of a heading that cannot break (Latin words; Chinese breaks between any two characters).
_WORD = re.compile(r"[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")


def _longest_piece(text: object, width=text_width) -> float:
    return max(width(piece) for piece in _CODE_BREAK.split(str(text)))


def _share_room(room: float, want: dict[int, float], least: dict[int, float]) -> dict[int, float]:
    """`room` shared in proportion to `want`, but no column below its `least` (water-filling)."""
    fixed: dict[int, float] = {}
    while True:
        free = room - sum(fixed.values())
        rest = {i: w for i, w in want.items() if i not in fixed}
        total = sum(rest.values())
        share = {i: free * w / total if total else w for i, w in rest.items()}
        short = {i: least[i] for i, w in share.items() if w < least[i]}
        if not short:
            return fixed | share
        fixed |= short


@dataclass
class _Measure:
    widest: list[float]
    breakable: list[int]
    codes: list[int]
    loose: dict[int, float]  # wrapping columns at their narrowest
    whole: dict[int, float]  # the same, codes keeping their pieces whole

    @property
    def least(self) -> float:
        """The narrowest the table can be with figures, dates and codes' pieces whole."""
        wrapping = set(self.breakable + self.codes)
        return (sum(w for i, w in enumerate(self.widest) if i not in wrapping)
                + sum(self.whole[i] for i in wrapping))


def _measure(columns: list[str], rows: list[list[str]], numeric, names=frozenset(), width=text_width,
             pad: float = 3) -> _Measure:
    widest = [max([width(r[i]) for r in rows if i < len(r)] + [min(width(c), 8), 3]
                  + [width(w) for w in _WORD.findall(str(c))]) + pad
              for i, c in enumerate(columns)]
    # Text that can break (spaces, Chinese) wraps first; long codes and refs only when that is
    # not enough, and then only where they may break; dates and figures never: "2025-03-" / "13" misleads.
    text = [i for i, w in enumerate(widest) if i not in numeric and w > _WRAP_MIN + 2]
    breakable = [i for i in text if any(_breakable(r[i]) for r in rows if i < len(r))]
    codes = [i for i in text if i not in breakable and widest[i] > _CODE_MIN]
    # A name wraps to two lines at most (half its width, and a unit to spare for uneven breaks).
    loose = {i: max(_WRAP_MIN, (widest[i] - pad) / 2 + pad + 1) if i in names else _WRAP_MIN
             for i in breakable + codes}
    whole = loose | {i: min(widest[i], _PIECE_MAX, max(_WRAP_MIN, max(_longest_piece(r[i], width) for r in rows
                                                                      if i < len(r)) + pad)) for i in codes}
    return _Measure(widest, breakable, codes, loose, whole)


def column_widths(columns: list[str], rows: list[list[str]], numeric: set[int] | frozenset = frozenset(),
                  units: float = PAGE_UNITS, names: set[int] | frozenset = frozenset(), width=text_width,
                  pad: float = 3) -> list[float]:
    """Column shares (percent) of a table `units` wide: short and numeric columns get their widest
    cell, long text wraps. `width` measures text, `pad` is a cell's padding, in the units of `units`.

    Tables are laid out with `table-layout: fixed` and these widths: WeasyPrint's automatic
    table layout measures every cell twice and was half of a report's rendering time.
    """
    m = _measure(columns, rows, numeric, names, width, pad)
    widest = list(m.widest)
    if sum(widest) > units:
        breakable, codes, loose, whole = m.breakable, m.codes, m.loose, m.whole
        # Codes keep their pieces whole even if that squeezes the table by up to _SQUEEZE (which
        # the padding counted in every width absorbs); past that they break inside them, before
        # every column, dates and figures too, would have to shrink.
        for wrapping, least, squeeze in ((breakable, loose, 1), (breakable + codes, whole, _SQUEEZE),
                                         (breakable + codes, loose, 1)):
            room = units - sum(w for i, w in enumerate(widest) if i not in wrapping)
            if room + units * (squeeze - 1) >= sum(least[i] for i in wrapping):
                break
        for i, w in _share_room(room, {i: widest[i] for i in wrapping}, least).items():
            widest[i] = w
    total = sum(widest)
    return [round(100 * w / total, 2) for w in widest]


@dataclass
class Part:
    """One printed table: some columns of a Table (all of them unless it had to be split)."""

    columns: list[str]
    rows: list[list[object]]
    totals: list[list[object]]
    numeric: list[bool]
    widths: list[float]


@dataclass
class Layout:
    title: str
    key: str
    empty: str
    parts: list[Part]
    landscape: bool


def lay_out(tb: Table) -> Layout:
    """How a table is printed, chosen from its data: on the portrait page when everything fits
    with figures, dates and codes whole; else on a landscape page; else split into parts that
    each fit one, every part repeating the row's names (`keys`) and keeping `groups` together."""
    # Measured as printed: direction controls written out (<U+202E>) are eight characters wide.
    rows = [[_shown_inertly(tb.shown(i, v)) for i, v in enumerate(r)] for r in tb.rows]
    totals = [[_shown_inertly(tb.shown(i, v)) for i, v in enumerate(r)] for r in tb.totals]
    body = rows + totals

    def least(cols: list[int]) -> float:
        return _measure([tb.columns[i] for i in cols], [[r[i] for i in cols] for r in body],
                        {k for k, i in enumerate(cols) if i in tb.numeric},
                        {k for k, i in enumerate(cols) if i in tb.names}, printed_width, PRINT_PAD).least

    def part(cols: list[int], units: float) -> Part:
        numeric = {k for k, i in enumerate(cols) if i in tb.numeric}
        names = {k for k, i in enumerate(cols) if i in tb.names}
        picked = [[r[i] for i in cols] for r in rows]
        picked_totals = [[r[i] for i in cols] for r in totals]
        widths = column_widths([tb.columns[i] for i in cols], picked + picked_totals, numeric, units, names,
                               printed_width, PRINT_PAD)
        return Part([tb.columns[i] for i in cols], picked, picked_totals, [i in tb.numeric for i in cols], widths)

    everything = list(range(len(tb.columns)))
    if not rows:
        return Layout(tb.title, tb.key, tb.empty, [], False)
    need = least(everything)
    if need <= PRINT_UNITS:
        return Layout(tb.title, tb.key, tb.empty, [part(everything, PRINT_UNITS)], False)
    if need <= LANDSCAPE_UNITS:
        return Layout(tb.title, tb.key, tb.empty, [part(everything, LANDSCAPE_UNITS)], True)
    keys = everything[:tb.keys]
    grouped_cols = {i for g in tb.groups for i in g}
    groups = [list(g) for g in tb.groups] + [[i] for i in everything[tb.keys:] if i not in grouped_cols]
    groups.sort(key=min)
    parts: list[list[int]] = []
    for group in groups:
        pieces = [group] if least(keys + group) <= LANDSCAPE_UNITS else [[i] for i in group]
        for piece in pieces:
            if parts and least(keys + parts[-1] + piece) <= LANDSCAPE_UNITS:
                parts[-1] += piece
            else:
                parts.append(list(piece))
    return Layout(tb.title, tb.key, tb.empty, [part(keys + cols, LANDSCAPE_UNITS) for cols in parts], True)


@functools.lru_cache(maxsize=None)
def _shown_inertly(value: object) -> object:
    """Every printed value: direction controls written out (U+202E shown as <U+202E>), so a name
    in the ledger never displays in another order than it is stored; markup we made is left alone."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return inert(value)
    return value


def jinja_env() -> Environment:
    """One environment per process: templates are compiled once, not once per report."""
    # autoescape=True, not select_autoescape(): names from the ledger are never markup.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, finalize=_shown_inertly)
    env.globals["column_widths"] = column_widths
    env.globals["lay_out"] = lay_out
    return env


@dataclass(frozen=True)
class CjkFont:
    path: Path
    index: int
    family: str


def _face(path: Path, family: str | None) -> CjkFont | None:
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            faces = TTCollection(str(path), lazy=True).fonts
        else:
            faces = [TTFont(str(path), lazy=True)]
    except (OSError, TTLibError):
        return None
    for index, face in enumerate(faces):
        name = face["name"].getDebugName(1) or ""
        cmap = face.getBestCmap() or {}
        if (family is None or name == family) and all(ord(ch) in cmap for ch in _PROBE):
            return CjkFont(path, index, name)
    return None


def _fc_list_fonts() -> list[Path]:
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(Path(line.split(":")[0].strip()) for line in out.splitlines() if line.strip())


@functools.lru_cache(maxsize=None)
def find_cjk_font(candidates: tuple[tuple[str, str | None], ...] | None = None) -> CjkFont:
    """The installed CJK font reports use; FupinError with install instructions when there is none."""
    if candidates is None:
        explicit = os.environ.get("FUPIN_CJK_FONT")
        if explicit:
            found = _face(Path(explicit), None)
            if found is None:
                raise FupinError(f"FUPIN_CJK_FONT={explicit} is not a readable font with Chinese glyphs.\n{INSTALL_HINT}")
            return found
        candidates = tuple(FONT_CANDIDATES) + tuple((str(p), None) for p in _fc_list_fonts())
    for path, family in candidates:
        if Path(path).is_file() and (found := _face(Path(path), family)):
            return found
    raise FupinError(INSTALL_HINT)


def subset_font(font: CjkFont, text: str) -> bytes:
    """A TrueType/OpenType font holding only the glyphs `text` needs (plus ASCII)."""
    from fontTools import (
        subset as ft_subset,  # only without HarfBuzz; a tenth of a second to import
    )

    chars = set(text) | {chr(c) for c in range(0x20, 0x7F)}
    face = TTFont(str(font.path), fontNumber=font.index, lazy=True)
    options = ft_subset.Options()
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = ["*"]
    options.desubroutinize = True
    options.drop_tables += ["BDF ", "EBDT", "EBLC", "EBSC", "FFTM"]  # bitmaps and tool stamps
    # The bitmap tables are dropped on purpose; fontTools would still warn about them on every run.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)))
    subsetter.subset(face)
    out = io.BytesIO()
    face.save(out)
    return out.getvalue()


class StaticFetcher(URLFetcher):
    """Serves `fupin-static:NAME` from reports/static (or in-memory assets); refuses every other URL.

    `served` and `refused` record each call, so tests can prove nothing else was fetched.
    """

    def __init__(self, assets: dict[str, bytes] | None = None):
        super().__init__(allowed_protocols=())
        self.assets = dict(assets or {})
        self.served: list[str] = []
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        body = self._lookup(url)
        if body is None:
            self.refused.append(url)
            raise ValueError(f"fupin reports fetch only their own assets; refused {url[:200]!r}")
        self.served.append(url)
        kind = mimetypes.guess_type(url[len(SCHEME):])[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": kind})

    def _lookup(self, url: str) -> bytes | None:
        if not url.startswith(SCHEME):
            return None
        name = url[len(SCHEME):]
        if name in self.assets:
            return self.assets[name]
        root = STATIC.resolve()
        path = (root / name).resolve()
        if root not in path.parents or not path.is_file():
            return None
        return path.read_bytes()


def harfbuzz_subsets() -> bool:
    """WeasyPrint subsets fonts with HarfBuzz (C, milliseconds) when libharfbuzz-subset is installed."""
    return bool(ffi.harfbuzz_subset) and bool(ffi.harfbuzz.hb_version_atleast(4, 1, 0))


_HB_CDEF = """
    typedef ... hb_blob_t;
    typedef ... hb_face_t;
    typedef ... hb_set_t;
    typedef ... hb_subset_input_t;
    hb_blob_t * hb_blob_create_from_file (const char *file_name);
    const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
    void hb_blob_destroy (hb_blob_t *blob);
    hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
    hb_blob_t * hb_face_reference_blob (hb_face_t *face);
    void hb_face_destroy (hb_face_t *face);
    void hb_set_add (hb_set_t *set, uint32_t codepoint);
    uint32_t hb_tag_from_string (const char *str, int len);
    hb_subset_input_t * hb_subset_input_create_or_fail (void);
    void hb_subset_input_destroy (hb_subset_input_t *input);
    hb_set_t * hb_subset_input_set (hb_subset_input_t *input, int set_type);
    void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
    hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_HB_SETS_UNICODE, _HB_SETS_DROP_TABLE_TAG = 1, 3
_HB_FLAGS_NO_HINTING, _HB_FLAGS_NOTDEF_OUTLINE = 0x01, 0x40
_DROPPED_TABLES = [b"EBDT", b"EBLC", b"EBSC", b"FFTM", b"DSIG"]  # bitmaps and tool stamps


@functools.lru_cache(maxsize=1)
def _hb():
    hb_ffi = cffi.FFI()
    hb_ffi.cdef(_HB_CDEF)
    # The same libraries WeasyPrint loaded; the subsetter links the core library.
    for name in ("harfbuzz-subset", "libharfbuzz-subset.so.0", "libharfbuzz-subset.0.dylib", "libharfbuzz-subset-0.dll"):
        try:
            return hb_ffi, hb_ffi.dlopen(name)
        except OSError:
            continue
    return hb_ffi, None


def harfbuzz_subset_font(font: CjkFont, text: str) -> bytes | None:
    """`font` cut down to the characters of `text` (plus ASCII) by HarfBuzz; None when it cannot."""
    if not harfbuzz_subsets():
        return None
    hb_ffi, hb = _hb()
    if hb is None:
        return None
    blob = hb.hb_blob_create_from_file(str(font.path).encode())
    face = hb.hb_face_create(blob, font.index)
    hb.hb_blob_destroy(blob)
    plan = hb.hb_subset_input_create_or_fail()
    if plan == hb_ffi.NULL:
        hb.hb_face_destroy(face)
        return None
    try:
        unicodes = hb.hb_subset_input_set(plan, _HB_SETS_UNICODE)
        for code in sorted({ord(ch) for ch in text} | set(range(0x20, 0x7F))):
            hb.hb_set_add(unicodes, code)
        dropped = hb.hb_subset_input_set(plan, _HB_SETS_DROP_TABLE_TAG)
        for tag in _DROPPED_TABLES:
            hb.hb_set_add(dropped, hb.hb_tag_from_string(tag, -1))
        hb.hb_subset_input_set_flags(plan, _HB_FLAGS_NO_HINTING | _HB_FLAGS_NOTDEF_OUTLINE)
        subset = hb.hb_subset_or_fail(face, plan)
        if subset == hb_ffi.NULL:
            return None
        out = hb.hb_face_reference_blob(subset)
        length = hb_ffi.new("unsigned int *")
        data = bytes(hb_ffi.buffer(hb.hb_blob_get_data(out, length), length[0])) if out != hb_ffi.NULL else b""
        hb.hb_blob_destroy(out)
        hb.hb_face_destroy(subset)
        return data or None
    finally:
        hb.hb_subset_input_destroy(plan)
        hb.hb_face_destroy(face)


@dataclass(frozen=True)
class BatchFont:
    """The font bytes a batch serves as FupinCJK, and whether WeasyPrint may cut them down further."""

    data: bytes
    full_fonts: bool


def batch_font(font: CjkFont, htmls: list[str]) -> BatchFont:
    """One small font for every document of a batch: the characters of its HTML and stylesheet."""
    text = "".join(htmls) + (STATIC / "report.css").read_text(encoding="utf-8")
    small = harfbuzz_subset_font(font, text)
    if small is not None:
        # WeasyPrint's own per-document HarfBuzz subsetting of this small font is cheap and
        # leaves each PDF only the glyphs it shows.
        return BatchFont(small, full_fonts=False)
    # Without HarfBuzz WeasyPrint would subset again in pure Python: embed the batch subset as is.
    return BatchFont(subset_font(font, text), full_fonts=True)


Asset = bytes | Callable[[], bytes]


class Renderer:
    """Renders a batch of HTML documents to PDF with one font, stylesheet and font configuration."""

    def __init__(self, htmls: list[str], font: CjkFont | None = None, prepared: BatchFont | None = None):
        self.font = font = font or find_cjk_font()
        prepared = prepared or batch_font(font, htmls)
        self.full_fonts = prepared.full_fonts
        self.fetcher = StaticFetcher({FONT_ASSET: prepared.data})
        self.font_config = FontConfiguration()
        self.css = CSS(url=SCHEME + "report.css", url_fetcher=self.fetcher, font_config=self.font_config)

    def pdf(self, html: str, assets: dict[str, Asset] | None = None) -> bytes:
        """One document; an asset given as a callable (a chart) is drawn here, where it is used."""
        self.fetcher.assets.update({k: v() if callable(v) else v for k, v in (assets or {}).items()})
        doc = HTML(string=html, base_url=BASE_URL, url_fetcher=self.fetcher)
        # full_fonts when the font is already our batch subset: WeasyPrint's pure-Python
        # fallback subsetting would only repeat the work.
        return doc.write_pdf(stylesheets=[self.css], font_config=self.font_config, full_fonts=self.full_fonts)


_worker: Renderer | None = None
_claims = None  # shared [next from the front, end of what is left], under its lock
_documents: list = []


def _start_worker(font: CjkFont, prepared: BatchFont, claims, documents) -> None:
    global _worker, _claims, _documents
    _worker, _claims, _documents = Renderer([], font, prepared), claims, documents
    # Helpers end with os._exit, which skips the font configuration's own clean-up of its folder.
    multiprocessing.util.Finalize(_worker, _worker.font_config.__del__, exitpriority=0)


def _claim(claims, from_front: bool) -> int | None:
    """The next document nobody has taken yet: helpers take from the front, the caller from the back."""
    with claims.get_lock():
        front, end = claims[0], claims[1]
        if front >= end:
            return None
        if from_front:
            claims[0] = front + 1
            return front
        claims[1] = end - 1
        return end - 1


def _drain() -> list[tuple[int, bytes]]:
    assert _worker is not None
    done = []
    while (i := _claim(_claims, from_front=True)) is not None:
        done.append((i, _worker.pdf(*_documents[i])))
    return done


def default_processes() -> int:
    return os.cpu_count() or 1


def _helper_context():
    """Forked helpers on Linux: they start in milliseconds with WeasyPrint, matplotlib and the font
    already loaded. A spawned helper first spends 0.6-1 s of CPU importing them, which on a
    two-core machine took a third of an eight-report batch. Elsewhere fork is unsafe (macOS) or
    missing (Windows), so spawn; so too in a process that has loaded HiGHS, whose worker threads
    (and any lock they hold) a fork would not copy (planning.kindergartens spawns for the same reason).

    A forked helper inherits the caller's open database connection (a batch is rendered inside
    its write transaction): helpers must never touch the database, and they end with os._exit,
    so nothing of the connection is closed or rolled back from there. Documents and their
    pictures arrive with everything they need."""
    if sys.platform == "linux" and "highspy" not in sys.modules:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def render_batch(documents: list[tuple[str, dict[str, Asset]]], font: CjkFont | None = None,
                 processes: int = 1) -> list[bytes]:
    """PDF bytes of every (html, assets) document, in order, rendered by up to `processes` processes.

    The font is prepared once, here. This process renders too, from the end of the list, while
    helpers take documents from the front. Where helpers are spawned (not Linux), assets given as
    callables must be picklable (a functools.partial of a module-level function).
    """
    font = font or find_cjk_font()
    prepared = batch_font(font, [html for html, _ in documents])
    local = Renderer([], font, prepared)
    helpers = min(processes, len(documents)) - 1
    if helpers <= 0:
        return [local.pdf(*doc) for doc in documents]
    context = _helper_context()
    claims = context.Array("i", [0, len(documents)])
    results: list[bytes | None] = [None] * len(documents)
    pool = ProcessPoolExecutor(max_workers=helpers, mp_context=context, initializer=_start_worker,
                               initargs=(font, prepared, claims, documents))
    try:
        tasks = [pool.submit(_drain) for _ in range(helpers)]
        while (i := _claim(claims, from_front=False)) is not None:
            results[i] = local.pdf(*documents[i])
        for task in tasks:
            for i, pdf in task.result():
                results[i] = pdf
    except BrokenProcessPool:
        raise FupinError("a report-rendering process stopped unexpectedly (out of memory?); nothing was "
                         "written. Run again with --jobs 1 to render in one process.") from None
    finally:
        with claims.get_lock():  # on any failure, helpers stop after the document in hand
            claims[0] = claims[1]
        pool.shutdown(wait=True)
    return results  # type: ignore[return-value]
