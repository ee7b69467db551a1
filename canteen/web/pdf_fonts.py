"""Noto CJK fonts for the PDF of a printed document (a bulletin, the kitchen-waste ledger), as TrueType subsets
that Chromium embeds as real fonts.

Chromium's PDF writer (Skia) cannot embed the CFF outlines of Noto CJK: it draws each glyph as a Type 3
procedure instead, and names each glyph by the first code point the font maps to it, so 食 comes out as the
radical ⻝ and a reader searching the PDF for "食堂" finds nothing. Subset to the characters of the document
and converted to TrueType outlines, the fonts are embedded (FontFile2) with a text map of just those
characters. The subsets are handed to the page as `@font-face` rules under the installed families' own
names, which take precedence over the installed fonts.
"""
import base64
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont

from canteen.web.charts import FONT_DIRS

MAX_CURVE_ERROR = 1.0  # font units (of 1000 per em): the cubic-to-quadratic error, far below a pixel


@dataclass(frozen=True)
class Face:
    family: str  # as the document's CSS names it
    style: str  # the font's subfamily name
    weight: int


# The only two faces a printed document uses: body text in serif, headings and emphasis in bold sans.
FACES = (Face("Noto Serif CJK SC", "Regular", 400), Face("Noto Sans CJK SC", "Bold", 700))


@cache
def _locate(face: Face) -> tuple[Path, int]:
    """The file and the index inside a collection (.ttc) that hold the face."""
    for folder in FONT_DIRS:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("Noto*CJK*")):
            suffix = path.suffix.lower()
            if suffix not in (".ttc", ".otf", ".ttf"):
                continue
            fonts = TTCollection(path, lazy=True).fonts if suffix == ".ttc" else [TTFont(path, lazy=True)]
            for index, font in enumerate(fonts):
                name = font["name"]
                if (name.getDebugName(1), name.getDebugName(2)) == (face.family, face.style):
                    return path, index
    raise RuntimeError(f"no {face.family} {face.style} font for PDFs: install Debian's fonts-noto-cjk "
                       "package (`make system-deps` or scripts/install-system-deps.sh)")


def truetype_subset(face: Face, text: str) -> bytes:
    """A TrueType font with the face's glyphs for the characters of `text` (and no layout features: horizontal
    Chinese text needs none, and leaving them out keeps this to about a second for a province's bulletin)."""
    path, index = _locate(face)
    font = TTFont(path, fontNumber=index, lazy=True)
    available = font.getBestCmap()
    cmap = {code: available[code] for code in map(ord, set(text)) if code in available}
    order = [".notdef", *sorted(set(cmap.values()) - {".notdef"})]
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_CURVE_ERROR, reverse_direction=True))
        glyphs[name] = pen.glyph()
    hmtx, hhea, os2, head = font["hmtx"], font["hhea"], font["OS/2"], font["head"]
    builder = FontBuilder(head.unitsPerEm, isTTF=True)
    builder.updateHead(macStyle=head.macStyle)
    builder.setupGlyphOrder(order)
    builder.setupCharacterMap(cmap)
    builder.setupGlyf(glyphs)
    # In TrueType the left side bearing is the outline's xMin (known once setupGlyf computed the bounds).
    builder.setupHorizontalMetrics({name: (hmtx[name][0], getattr(glyphs[name], "xMin", 0)) for name in order})
    builder.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)
    builder.setupNameTable({"familyName": face.family, "styleName": face.style,
                            "psName": font["name"].getDebugName(6)})
    builder.setupOS2(usWeightClass=os2.usWeightClass, fsSelection=os2.fsSelection, achVendID=os2.achVendID,
                     sTypoAscender=os2.sTypoAscender, sTypoDescender=os2.sTypoDescender,
                     sTypoLineGap=os2.sTypoLineGap, usWinAscent=os2.usWinAscent, usWinDescent=os2.usWinDescent,
                     sxHeight=os2.sxHeight, sCapHeight=os2.sCapHeight)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def font_face_css(text: str) -> str:
    """`@font-face` rules for FACES, each holding just the glyphs `text` needs."""
    rules = []
    for face in FACES:
        data = base64.b64encode(truetype_subset(face, text)).decode("ascii")
        rules.append(f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; '
                     f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}')
    return "\n".join(rules)
