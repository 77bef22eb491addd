"""A small document model rendered to an A4 PDF with Chinese text.

Shared by the credit report and other signed documents (e.g. the repair decision): callers
build a list of blocks and never touch ReportLab. The font is a TrueType CJK font EMBEDDED in
the file (subset), so the text shows and extracts on machines without CJK fonts — ReportLab's
built-in ``STSong-Light`` is faster but not embedded, and the Noto CJK fonts are CFF-based,
which ReportLab cannot embed (see STACK-NOTES "PDF with Chinese text").
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepTogether, SimpleDocTemplate, Spacer, TableStyle
from reportlab.platypus import Paragraph as RLParagraph
from reportlab.platypus import Table as RLTable

__all__ = [
    "Block",
    "FontMissingError",
    "Heading",
    "KeyValues",
    "Paragraph",
    "QrCode",
    "Table",
    "render",
]

FONT_NAME = "XinyongCJK"
# TrueType-outline CJK fonts only; the first one present wins. XINYONG_PDF_FONT overrides
# ("path" or "path#index" for a collection).
_FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class KeyValues:
    pairs: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    empty: str = "无记录"
    # Relative column widths (e.g. [1, 3, 1]); None: equal columns.
    widths: list[float] | None = None


@dataclass(frozen=True)
class QrCode:
    url: str
    caption: str = ""


Block = Heading | Paragraph | KeyValues | Table | QrCode


class FontMissingError(RuntimeError):
    """No embeddable CJK TrueType font on this machine (install fonts-wqy-zenhei)."""


_font_lock = threading.Lock()
_font_ready = False


def _font_source() -> tuple[str, int]:
    override = os.environ.get("XINYONG_PDF_FONT", "").strip()
    if override:
        path, _, index = override.partition("#")
        return path, int(index or 0)
    for path, index in _FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    raise FontMissingError(
        "no CJK TrueType font found; install fonts-wqy-zenhei (scripts/system-deps.sh)"
    )


def ensure_font() -> str:
    """Register the CJK font once per process (parsing the 16 MB collection takes ~0.3 s)."""
    global _font_ready
    if _font_ready:
        return FONT_NAME
    with _font_lock:
        if not _font_ready:
            path, index = _font_source()
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=index))
            _font_ready = True
    return FONT_NAME


def _styles() -> dict[str, ParagraphStyle]:
    font = ensure_font()
    base = ParagraphStyle(
        "body", fontName=font, fontSize=10, leading=15, wordWrap="CJK", spaceAfter=4
    )
    return {
        "title": ParagraphStyle(
            "title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=10
        ),
        # keepWithNext: a heading never ends a page without what it heads
        "h1": ParagraphStyle(
            "h1", parent=base, fontSize=13, leading=19, spaceBefore=8, spaceAfter=4,
            keepWithNext=1,
        ),
        "h2": ParagraphStyle(
            "h2", parent=base, fontSize=11, leading=16, spaceBefore=6, spaceAfter=3,
            keepWithNext=1,
        ),
        "body": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=12, spaceAfter=0),
        "cellhead": ParagraphStyle(
            "cellhead", parent=base, fontSize=8.5, leading=12, spaceAfter=0,
            textColor=colors.HexColor("#1f2937"),
        ),
        "key": ParagraphStyle(
            "key", parent=base, fontSize=9.5, leading=14, spaceAfter=0,
            textColor=colors.HexColor("#4b5563"),
        ),
        "value": ParagraphStyle("value", parent=base, fontSize=9.5, leading=14, spaceAfter=0),
        "caption": ParagraphStyle(
            "caption", parent=base, fontSize=8, leading=11, alignment=TA_CENTER
        ),
        "empty": ParagraphStyle(
            "empty", parent=base, fontSize=9.5, leading=14, textColor=colors.HexColor("#6b7280")
        ),
    }


def _text(value: object) -> str:
    # Paragraph takes a mini-markup; user data must never be read as tags.
    return escape(str(value)).replace("\n", "<br/>")


class _Qr(Flowable):
    """A QR code drawn as vector squares: crisp at any zoom, no image codec needed."""

    def __init__(self, url: str, size: float) -> None:
        super().__init__()
        self.url = url
        self.size = size
        qr = segno.make(url, error="m", micro=False)
        self.matrix = [list(row) for row in qr.matrix]
        self.width = self.height = size

    def draw(self) -> None:
        n = len(self.matrix)
        border = 2
        cell = self.size / (n + 2 * border)
        c = self.canv
        c.setFillColor(colors.white)
        c.rect(0, 0, self.size, self.size, stroke=0, fill=1)
        c.setFillColor(colors.black)
        path = c.beginPath()
        for y, row in enumerate(self.matrix):
            x = 0
            while x < n:
                if row[x]:
                    start = x
                    while x < n and row[x]:
                        x += 1
                    path.rect(
                        (start + border) * cell,
                        self.size - (y + 1 + border) * cell,
                        (x - start) * cell,
                        cell,
                    )
                else:
                    x += 1
        c.drawPath(path, stroke=0, fill=1)
        c.linkURL(self.url, (0, 0, self.size, self.size), relative=1)


_GRID = colors.HexColor("#9ca3af")
_HEAD_BG = colors.HexColor("#e5e7eb")


# Table cells are plain strings wrapped here, not Paragraphs: a Paragraph per cell is wrapped
# several times while a table lays out, and that was most of a report's rendering time.
_CELL_PAD = 6.0  # ReportLab's default left + right cell padding
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕,.;:?!)]}%")
_widths: dict[tuple[str, float], float] = {}


def _char_width(ch: str, size: float) -> float:
    key = (ch, size)
    w = _widths.get(key)
    if w is None:
        w = _widths[key] = pdfmetrics.stringWidth(ch, FONT_NAME, size)
    return w


def wrap_text(text: str, size: float, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points: anywhere between CJK
    characters, at spaces or inside over-long words for Latin text; closing punctuation never
    starts a line (it hangs into the padding instead)."""
    lines: list[str] = []
    for para in str(text).split("\n"):
        line: list[str] = []
        used = 0.0
        i = 0
        while i < len(para):
            ch = para[i]
            # keep a run of Latin letters and digits together when it fits on a line
            j = i
            while j < len(para) and para[j].isascii() and para[j].isalnum():
                j += 1
            token = para[i:j] if j > i else ch
            w = sum(_char_width(c, size) for c in token)
            if used + w > width and line and not (len(token) == 1 and token in _NO_LINE_START):
                if w <= width or token == ch:
                    lines.append("".join(line).rstrip())
                    line, used = [], 0.0
                    if token == " ":
                        i += 1
                        continue
                else:  # a word longer than a line: split it where the line ends
                    token = ch
                    w = _char_width(ch, size)
                    lines.append("".join(line))
                    line, used = [], 0.0
            line.append(token)
            used += w
            i += len(token)
        lines.append("".join(line))
    return lines


def _cell(text: object, size: float, width: float) -> str:
    return "\n".join(wrap_text(str(text), size, width - _CELL_PAD))


def _flowables(blocks: Sequence[Block], st: dict[str, ParagraphStyle], width: float) -> list:
    out: list = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(RLParagraph(_text(block.text), st["h1" if block.level <= 1 else "h2"]))
        elif isinstance(block, Paragraph):
            out.append(RLParagraph(_text(block.text), st["body"]))
        elif isinstance(block, KeyValues):
            if not block.pairs:
                continue
            cols = [width * 0.28, width * 0.72]
            data = [[_cell(k, 9.5, cols[0]), _cell(v, 9.5, cols[1])] for k, v in block.pairs]
            t = RLTable(data, colWidths=cols)
            t.setStyle(
                TableStyle(
                    [
                        ("FONT", (0, 0), (-1, -1), FONT_NAME, 9.5, 13),
                        ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#4b5563")),
                        ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
                        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f4f6")),
                        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                        ("TOPPADDING", (0, 0), (-1, -1), 3),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ]
                )
            )
            out.append(t)
            out.append(Spacer(1, 4))
        elif isinstance(block, Table):
            if not block.rows:
                out.append(RLParagraph(_text(block.empty), st["empty"]))
                continue
            ncols = len(block.header)
            weights = list(block.widths or [])[:ncols]
            weights += [1.0] * (ncols - len(weights))
            scale = width / sum(weights)
            cols = [w * scale for w in weights]
            data = [[_cell(h, 8.5, cols[i]) for i, h in enumerate(block.header)]]
            for row in block.rows:
                cells = list(row)[:ncols] + [""] * (ncols - len(row))
                data.append([_cell(c, 8.5, cols[i]) for i, c in enumerate(cells)])
            t = RLTable(data, colWidths=cols, repeatRows=1)
            t.setStyle(
                TableStyle(
                    [
                        ("FONT", (0, 0), (-1, -1), FONT_NAME, 8.5, 11.5),
                        ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
                        ("BACKGROUND", (0, 0), (-1, 0), _HEAD_BG),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("TOPPADDING", (0, 0), (-1, -1), 2),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                    ]
                )
            )
            out.append(t)
            out.append(Spacer(1, 4))
        elif isinstance(block, QrCode):
            parts: list = [_Qr(block.url, 32 * mm)]
            if block.caption:
                parts.append(RLParagraph(_text(block.caption), st["caption"]))
            holder = RLTable([[p] for p in parts], colWidths=[width])
            holder.setStyle(
                TableStyle(
                    [
                        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                        ("TOPPADDING", (0, 0), (-1, -1), 1),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                    ]
                )
            )
            out.append(KeepTogether([Spacer(1, 6), holder]))
        else:  # pragma: no cover - the Block union is closed
            raise TypeError(f"unknown block {block!r}")
    return out


def render(
    title: str,
    blocks: Sequence[Block],
    *,
    serial: str | None = None,
    footer: str | None = None,
) -> bytes:
    """Render ``blocks`` under ``title`` to an A4 PDF; ``serial`` and ``footer`` go on every
    page together with the page number."""
    st = _styles()
    buf = io.BytesIO()
    margin = 18 * mm
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin + 4 * mm,
        bottomMargin=margin + 4 * mm,
        title=title,
        author="公共信用信息平台",
        creator="xinyong",
        subject=serial or title,
    )
    width = A4[0] - 2 * margin

    def decorate(canvas, document) -> None:  # type: ignore[no-untyped-def]
        canvas.saveState()
        canvas.setFont(FONT_NAME, 8)
        canvas.setFillColor(colors.HexColor("#4b5563"))
        if serial:
            canvas.drawRightString(A4[0] - margin, A4[1] - margin + 2 * mm, f"编号：{serial}")
        bottom = margin - 2 * mm
        if footer:
            canvas.drawString(margin, bottom, footer)
        canvas.drawRightString(A4[0] - margin, bottom, f"第 {document.page} 页")
        canvas.restoreState()

    story = [RLParagraph(_text(title), st["title"]), *_flowables(blocks, st, width)]
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buf.getvalue()
