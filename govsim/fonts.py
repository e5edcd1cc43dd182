"""Fonts for Chinese figure text (matplotlib), offline.

Matplotlib's bundled DejaVu Sans has no Chinese glyphs: Chinese labels come out as empty
boxes ("tofu"). govsim uses a free CJK font installed on the machine; on Debian/Ubuntu::

    apt-get install fonts-wqy-microhei      # WenQuanYi Micro Hei, Apache-2.0 / GPL + font exception
    # or fonts-noto-cjk                     # Noto Sans CJK, SIL Open Font Licence

(``.ci/run`` installs the first). :func:`cjk_font` finds one by checking that a font file
really covers the characters; :func:`apply_fonts` gives every text of a figure a family list
with that font first, so the figure renders the same whenever and wherever it is drawn.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

__all__ = ["CJK_CANDIDATES", "SAMPLE", "apply_fonts", "cjk_font", "covers", "families"]

#: Free CJK fonts, in order of preference (family names as matplotlib sees them).
CJK_CANDIDATES = (
    "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
    "Source Han Sans SC", "Source Han Sans CN", "Droid Sans Fallback", "AR PL UMing CN",
)
#: Characters a usable font must have (the field reports' key terms).
SAMPLE = "居委会网格化管理社区协商参与式预算自治型政府主导型混合型业主委员会社会组织街道办事处区"


def covers(path: str | Path, text: str) -> bool:
    """Whether the font file at ``path`` has a glyph for every character of ``text``."""
    from matplotlib.ft2font import FT2Font

    try:
        cmap = FT2Font(str(path)).get_charmap()
    except (OSError, RuntimeError):
        return False
    return all(ord(ch) in cmap for ch in text if not ch.isspace())


@functools.cache
def cjk_font() -> tuple[str, str] | None:
    """(family name, file path) of an installed font that covers :data:`SAMPLE`, or ``None``."""
    from matplotlib import font_manager as fm

    by_name: dict[str, str] = {}
    for entry in fm.fontManager.ttflist:
        by_name.setdefault(entry.name, entry.fname)
    if not any(n in by_name for n in CJK_CANDIDATES):
        # Fonts installed after matplotlib built its cache: look again.
        for path in fm.findSystemFonts():
            if any(k in Path(path).name.lower() for k in ("wqy", "noto", "cjk", "droid", "han")):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        fm.fontManager.addfont(path)
                    except Exception:
                        continue
        by_name = {}
        for entry in fm.fontManager.ttflist:
            by_name.setdefault(entry.name, entry.fname)
    for name in CJK_CANDIDATES:
        if name in by_name and covers(by_name[name], SAMPLE):
            return name, by_name[name]
    return None


def families(lang: str = "zh") -> list[str]:
    """The font family list for figure text in ``lang`` (CJK font first, then the default)."""
    import matplotlib as mpl
    from matplotlib import font_manager as fm

    installed = {entry.name for entry in fm.fontManager.ttflist}
    base = [f for f in mpl.rcParams["font.sans-serif"] if f in installed] or ["DejaVu Sans"]
    if lang != "zh":
        return base
    found = cjk_font()
    return ([found[0]] if found else []) + base


def apply_fonts(fig, lang: str | None = None):
    """Give every text in ``fig`` the family list for ``lang`` (default: the current language,
    ``--lang``); warn once if Chinese text would have no font. Returns ``fig``."""
    if lang is None:
        from govsim.outcomes import get_language

        lang = get_language()
    if lang != "zh":
        return fig
    from matplotlib.text import Text

    if cjk_font() is None:
        warnings.warn("no CJK font found: Chinese labels will show as boxes; install "
                      "fonts-wqy-microhei or fonts-noto-cjk (Debian/Ubuntu)", stacklevel=2)
        return fig
    fam = families("zh")
    for t in fig.findobj(Text):
        t.set_fontfamily(fam)
    return fig
