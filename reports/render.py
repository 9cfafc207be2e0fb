"""HTML templates to PDF: escaped templates, a fetcher that serves only our assets, one CJK font.

Speed: WeasyPrint subsets every embedded font per document. With libharfbuzz-subset installed
that takes milliseconds, and the installed font is served whole through @font-face. Without it,
WeasyPrint falls back to pure-Python fontTools, which takes seconds on a CJK font (tens of
thousands of glyphs); we then subset once per batch to the characters the batch uses and embed
that small font as is. The stylesheet and font configuration are shared by the batch.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import mimetypes
import os
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from fontTools import subset as ft_subset
from fontTools.ttLib import TTCollection, TTFont, TTLibError
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import CSS, HTML
from weasyprint.text import ffi
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from procure.errors import FupinError

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
    """The shape templates/table.html renders."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)
    totals: list[list[str]] = field(default_factory=list)
    empty: str = ""


def _text_width(text: object) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


# What fits across an A4 page at the reports' 8.5 pt, in half-em units (a Latin digit is about
# one, a Chinese character two), less the cells' padding.
PAGE_UNITS = 108
_WRAP_MIN = 10


def column_widths(columns: list[str], rows: list[list[str]], numeric: set[int] | frozenset = frozenset()) -> list[float]:
    """Column shares (percent): short and numeric columns get their widest cell, long text wraps.

    Tables are laid out with `table-layout: fixed` and these widths: WeasyPrint's automatic
    table layout measures every cell twice and was half of a report's rendering time.
    """
    widest = [max([_text_width(r[i]) for r in rows if i < len(r)] + [min(_text_width(c), 8), 3]) + 3
              for i, c in enumerate(columns)]
    if sum(widest) > PAGE_UNITS:
        wrapping = [i for i, w in enumerate(widest) if i not in numeric and w > _WRAP_MIN + 2]
        room = PAGE_UNITS - sum(w for i, w in enumerate(widest) if i not in wrapping)
        want = sum(widest[i] for i in wrapping)
        for i in wrapping:
            widest[i] = max(_WRAP_MIN, room * widest[i] / want) if want else widest[i]
    total = sum(widest)
    return [round(100 * w / total, 2) for w in widest]


def jinja_env() -> Environment:
    # autoescape=True, not select_autoescape(): names from the ledger are never markup.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["column_widths"] = column_widths
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


class Renderer:
    """Renders a batch of HTML documents to PDF with one font, stylesheet and font configuration."""

    def __init__(self, htmls: list[str], font: CjkFont | None = None):
        font = font or find_cjk_font()
        css_text = (STATIC / "report.css").read_text(encoding="utf-8")
        self.font = font
        # With HarfBuzz, WeasyPrint cuts the whole font down per document faster than fontTools
        # can once per batch; only the first face of a collection can be served whole.
        self.full_fonts = not (harfbuzz_subsets() and font.index == 0)
        font_bytes = (subset_font(font, "".join(htmls) + css_text) if self.full_fonts
                      else font.path.read_bytes())
        self.fetcher = StaticFetcher({FONT_ASSET: font_bytes})
        self.font_config = FontConfiguration()
        self.css = CSS(url=SCHEME + "report.css", url_fetcher=self.fetcher, font_config=self.font_config)

    def pdf(self, html: str, assets: dict[str, bytes] | None = None) -> bytes:
        self.fetcher.assets.update(assets or {})
        doc = HTML(string=html, base_url=BASE_URL, url_fetcher=self.fetcher)
        # full_fonts when the font is already our batch subset: WeasyPrint's pure-Python
        # fallback subsetting would only repeat the work.
        return doc.write_pdf(stylesheets=[self.css], font_config=self.font_config, full_fonts=self.full_fonts)


def atomic_write(target: Path | str, data: bytes) -> str:
    """Write `data` to a temp file beside `target`, then move it into place; returns its sha256."""
    target = Path(target)
    if not target.parent.is_dir():
        raise FupinError(f"{target}: the folder {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()
