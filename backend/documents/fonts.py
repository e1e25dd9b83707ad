"""The CJK font every PDF embeds: WenQuanYi Micro Hei (文泉驿微米黑), shipped by the PyPI package
`paperang-p2-fonts-cjk`.

reportlab embeds TrueType (glyf) outlines only, not CFF: the Noto/Source Han OTF packages are out, this
TrueType collection is in. reportlab writes a subset of the glyphs a document uses (`pdffonts`: emb yes,
sub yes), so a PDF is readable on a machine without any Chinese font installed.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "FieldlogCJK"
PACKAGE = "paperang_p2_fonts_cjk"
FILE = "fonts/wqy-microhei.ttc"
# The collection holds Micro Hei (0) and Micro Hei Mono (1).
SUBFONT = 0


def font_path() -> Path:
    """Where the installed package keeps the font file."""
    path = Path(str(resources.files(PACKAGE).joinpath(FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall the {PACKAGE} package (a fieldlog dependency)")
    return path


@functools.cache
def register() -> str:
    """Register the font with reportlab once per process (not at import) and return its name."""
    pdfmetrics.registerFont(TTFont(FONT, str(font_path()), subfontIndex=SUBFONT))
    # Bold/italic markup maps onto the same face: there is one weight, and no fallback to a base-14 font.
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT, italic=FONT, boldItalic=FONT)
    return FONT
