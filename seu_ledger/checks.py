"""System checks of the ledger's surroundings: the fonts its PDF transcripts need."""

from django.core import checks

PACKAGES = "Debian/Ubuntu: apt-get install fonts-dejavu-core fonts-noto-core fonts-noto-cjk"


def pdf_fonts_check(app_configs, **kwargs):
    """W001: no font in PDF_FONT_DIRS draws Chinese, Japanese or Korean, so such names print as
    replacement characters in transcripts. W002: no DejaVu Sans (or Noto Sans) for the text."""
    from .transcript import body_fonts, cjk_font, font_dirs

    dirs = font_dirs()
    searched = ", ".join(str(folder) for folder in dirs) or "(none)"
    messages = []
    if cjk_font(dirs) is None:
        messages.append(
            checks.Warning(
                "No CJK font found: Chinese, Japanese and Korean names and titles print as "
                "replacement characters in PDF transcripts.",
                hint=f"{PACKAGES}, or add a folder with NotoSansCJK-Regular.ttc to "
                f"PDF_FONT_DIRS (searched: {searched}).",
                id="seu_ledger.W001",
            )
        )
    if body_fonts(dirs) is None:
        messages.append(
            checks.Warning(
                "No DejaVuSans.ttf or NotoSans-Regular.ttf found: PDF transcripts use the PDF "
                "core font and print every character outside Latin-1 as '?'.",
                hint=f"{PACKAGES}, or add a folder with DejaVuSans.ttf to PDF_FONT_DIRS "
                f"(searched: {searched}).",
                id="seu_ledger.W002",
            )
        )
    return messages
