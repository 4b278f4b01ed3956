"""PDF transcript of one term: who, which credential, what counted, the totals.

Fonts. The text is set in DejaVu Sans (NotoSans where DejaVu is missing), found by file name in
the directories of settings.PDF_FONT_DIRS (earlier directories win, sub-directories included). A
character DejaVu does not have (Han, kana, hangul, Devanagari, Thai, Bengali, Tamil, Ethiopic,
Khmer...) is drawn from a fallback font that has it: NotoSansCJK (the Simplified Chinese face of
the .ttc collection), then the Noto fonts of other scripts (Debian: fonts-noto-cjk,
fonts-noto-core). A fallback is registered in a document only when its text first needs it, in
the style (regular or bold) of that text, so a Latin-only transcript embeds DejaVu alone, and
fpdf2 embeds only the glyphs used. Which font has which characters is read once per process.

Right-to-left names (Hebrew, Arabic) are drawn by DejaVu as before: in logical order, unshaped,
since no shaping engine (uharfbuzz) is installed; Indic scripts are likewise unshaped.

A visible character that no font has is never dropped silently: it is drawn as U+FFFD, the
replacement character (a "?" in a diamond), and a warning naming the code point, not the text it
came from, is logged once per process and character. Without any Unicode text font, the PDF core
font draws every character outside Latin-1 as "?" (the system check seu_ledger.W002 says so).
"""

import functools
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from fontTools import ttLib
from fpdf import FPDF

from credentials.models import Credential, Membership, Term
from cspo_tracker.links import absolute_url

from .models import Entry, Renewal
from .selectors import fmt_units, group_balance, holder_ledger

logger = logging.getLogger(__name__)

# The text font, (regular, bold) file names, the first found is used; none: the PDF core font.
BODY_FONTS = [
    ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
]

# The face of NotoSansCJK-*.ttc used: 0 JP, 1 KR, 2 SC, 3 TC, 4 HK. Every face has all of Han,
# kana and hangul; they differ only in the regional forms of some Han characters.
CJK_FACE = 2

# Fallback fonts tried first, in this order: (regular file, bold file, face in a collection).
PREFERRED_FALLBACKS = [
    ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf", 0),  # Latin, Greek, Cyrillic beyond DejaVu
    ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", CJK_FACE),  # fonts-noto-cjk
    ("NotoSansCJKsc-Regular.otf", "NotoSansCJKsc-Bold.otf", 0),  # the same, one face per file
    ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", 0),
    ("NotoSansBengali-Regular.ttf", "NotoSansBengali-Bold.ttf", 0),
    ("NotoSansTamil-Regular.ttf", "NotoSansTamil-Bold.ttf", 0),
    ("NotoSansThai-Regular.ttf", "NotoSansThai-Bold.ttf", 0),
    ("NotoSansArabic-Regular.ttf", "NotoSansArabic-Bold.ttf", 0),
    ("NotoSansHebrew-Regular.ttf", "NotoSansHebrew-Bold.ttf", 0),
]
# Then every other Noto font in the directories (NotoSans* first): any script fonts-noto-core has.
OTHER_FALLBACK = re.compile(r"Noto\w*-Regular\.(?:ttf|otf)")

REPLACEMENT = "\ufffd"
# Unicode categories of characters with nothing to draw (controls, joiners, direction marks, line
# separators): left to fpdf2 as before. Variation selectors are likewise invisible.
INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}
CJK_SAMPLE = "\u4e2d"  # 中: the system check's test of a CJK-capable font


@dataclass(frozen=True)
class _Face:
    regular: Path
    bold: Path
    number: int  # the face in a .ttc/.otc collection, 0 otherwise

    def file(self, bold: bool) -> Path:
        return self.bold if bold else self.regular


def font_dirs() -> tuple[Path, ...]:
    return tuple(Path(folder) for folder in settings.PDF_FONT_DIRS)


@functools.cache
def _font_files(dirs: tuple[Path, ...]) -> dict[str, Path]:
    """File name -> path of every file under `dirs`; the first directory listed wins."""
    found: dict[str, Path] = {}
    for top in dirs:
        for root, subdirs, files in os.walk(top):  # a missing directory yields nothing
            subdirs.sort()
            for name in sorted(files):
                found.setdefault(name, Path(root) / name)
    return found


@functools.cache
def body_fonts(dirs: tuple[Path, ...]) -> tuple[Path, Path] | None:
    """(regular, bold) text font files, or None: the PDF core font (Latin-1 only)."""
    files = _font_files(dirs)
    for regular, bold in BODY_FONTS:
        if regular in files:
            return files[regular], files.get(bold, files[regular])
    return None


@functools.cache
def _fallback_faces(dirs: tuple[Path, ...]) -> tuple[_Face, ...]:
    files = _font_files(dirs)
    chosen = [(regular, bold, number) for regular, bold, number in PREFERRED_FALLBACKS]
    names = {regular for regular, _, _ in chosen}
    others = sorted(
        (name for name in files if OTHER_FALLBACK.fullmatch(name) and name not in names),
        key=lambda name: (not name.startswith("NotoSans"), name),
    )
    chosen += [(name, name.replace("-Regular.", "-Bold."), 0) for name in others]
    return tuple(
        _Face(files[regular], files.get(bold, files[regular]), number)
        for regular, bold, number in chosen
        if regular in files
    )


@functools.cache
def _coverage(path: Path, number: int) -> frozenset[int]:
    """The code points a font has glyphs for."""
    try:
        with ttLib.TTFont(path, fontNumber=number, lazy=True) as font:
            return frozenset(font.getBestCmap() or ())
    except Exception:  # an unreadable font covers nothing; the rest still work
        logger.warning("PDF fallback font %s (face %s) cannot be read", path, number)
        return frozenset()


@functools.lru_cache(maxsize=8192)
def fallback_for(codepoint: int, bold: bool, dirs: tuple[Path, ...]) -> int | None:
    """Index in _fallback_faces(dirs) of the first fallback font with `codepoint`, or None."""
    for index, face in enumerate(_fallback_faces(dirs)):
        if codepoint in _coverage(face.file(bold), face.number):
            return index
    return None


def cjk_font(dirs: tuple[Path, ...]) -> Path | None:
    """The font that draws Chinese, Japanese and Korean names, if any."""
    index = fallback_for(ord(CJK_SAMPLE), False, dirs)
    return None if index is None else _fallback_faces(dirs)[index].regular


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in INVISIBLE or unicodedata.name(char, "").startswith(
        "VARIATION SELECTOR"
    )


_warned: set[tuple[tuple[Path, ...], int]] = set()


def _warn_missing(char: str, drawn_as: str, dirs: tuple[Path, ...]) -> None:
    if (dirs, ord(char)) in _warned:
        return
    _warned.add((dirs, ord(char)))
    logger.warning(
        "No font in PDF_FONT_DIRS (%s) has U+%04X %s: PDFs draw it as %r. Install the Debian "
        "packages fonts-noto-core and fonts-noto-cjk, or add a directory with a font that has "
        "it to PDF_FONT_DIRS.",
        ", ".join(str(folder) for folder in dirs),
        ord(char),
        unicodedata.name(char, "(unnamed)"),
        drawn_as,
    )


UNVERIFIED_BANNER = "Self-reported, not verified: staff have not confirmed this credential."


class _Document(FPDF):
    def __init__(self, banner: str = ""):
        self.banner = banner  # printed at the top of every page (header() runs per page)
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.font_dirs = font_dirs()
        self.fallbacks: set[int] = set()  # indexes of the fallback fonts registered so far
        self.unusable: set[str] = set()  # fallback font keys fpdf2 failed to load
        fonts = body_fonts(self.font_dirs)
        if fonts:
            self.add_font("body", "", str(fonts[0]))
            self.add_font("body", "B", str(fonts[1]))
            self.family = "body"
            self.unicode = True
        else:
            self.family = "helvetica"
            self.unicode = False

    def text(self, value) -> str:  # noqa: D102 - keeps core fonts from failing on non-Latin-1
        value = "" if value is None else str(value)
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def normalize_text(self, text: str) -> str:
        """fpdf2 passes every text through here before drawing or measuring it: register the
        fallback fonts its characters need, and replace those no font has."""
        if self.unicode and text and self.current_font is not None:
            text = self._cover(text)
        return super().normalize_text(text)

    def _cover(self, text: str) -> str:
        cmap = self.current_font.cmap
        style = self.font_style
        for char in set(text):
            if ord(char) in cmap or _invisible(char):
                continue
            index = fallback_for(ord(char), "B" in style, self.font_dirs)
            if index is not None and self._use_fallback(index, style):
                continue
            drawn_as = REPLACEMENT if ord(REPLACEMENT) in cmap else "?"
            _warn_missing(char, drawn_as, self.font_dirs)
            text = text.replace(char, drawn_as)
        return text

    def _use_fallback(self, index: int, style: str) -> bool:
        """Register fallback font `index` in `style` unless it is; False if fpdf2 cannot."""
        family = f"fallback{index}"
        if f"{family}{style}" in self.fonts:
            return True
        if f"{family}{style}" in self.unusable:
            return False
        face = _fallback_faces(self.font_dirs)[index]
        path = face.file("B" in style)
        try:
            self.add_font(family, style, str(path), collection_font_number=face.number)
        except Exception:  # the character is then drawn as REPLACEMENT, not the PDF lost
            logger.exception("PDF fallback font %s (face %s) cannot be used", path, face.number)
            self.unusable.add(f"{family}{style}")
            return False
        self.fallbacks.add(index)
        # In the order of preference; fpdf2 draws each character missing from the text font
        # with the first of these that has it in the same style (exact_match: bold with bold).
        self.set_fallback_fonts([f"fallback{i}" for i in sorted(self.fallbacks)], exact_match=True)
        return True

    def header(self):
        if self.banner:
            self.set_font(self.family, "B", 10)
            self.set_text_color(176, 42, 55)
            self.cell(
                0, 7, self.text(self.banner), border=1, align="C", new_x="LMARGIN", new_y="NEXT"
            )
            self.set_text_color(0, 0, 0)
            self.ln(2)

    def footer(self):
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.cell(0, 5, self.text(f"CSPO Tracker transcript, page {self.page_no()}"), align="C")


def _term_entries(credential: Credential, term: Term):
    """Entries that counted toward the term, and (units counted, units required)."""
    if term.ends_on is None:
        return [], Decimal(0), Decimal(0), None  # a lifetime term: nothing to count
    renewal = Renewal.objects.filter(closed_term=term).first()
    if renewal:
        entries = renewal.entries.select_related("category__issuer").order_by("activity_date")
        return list(entries), renewal.units_counted, renewal.units_required, renewal
    ledger = holder_ledger(credential.holder_id)
    balance = group_balance(ledger.group_of(credential.pk), ledger)
    if balance is None:
        return [], Decimal(0), Decimal(0), None
    entries = Entry.objects.filter(pk__in=balance.entry_ids).select_related("category__issuer")
    return list(entries.order_by("activity_date")), balance.counted, balance.required, None


def transcript_pdf(*, credential: Credential, term: Term) -> bytes:
    holder = credential.holder
    program = credential.program
    entries, counted, required, renewal = _term_entries(credential, term)
    member = Membership.objects.filter(holder=holder, issuer=program.issuer).first()
    pdf = _Document(banner="" if credential.verified else UNVERIFIED_BANNER)
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 16)
    pdf.cell(
        0,
        10,
        pdf.text(f"Continuing-education transcript: {program.code}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(pdf.family, "", 10)
    ends = term.ends_on.isoformat() if term.ends_on else "lifetime"
    facts = [
        ("Holder", f"{holder.get_full_name()} <{holder.email}>"),
        ("Member number", member.member_id if member and member.member_id else "-"),
        ("Credential", f"{program.name} ({program.code}), {program.issuer.name}"),
        ("Certificate number", credential.certificate_number or "-"),
        ("Issued", credential.issued_on.isoformat()),
        ("Term", f"{term.sequence}: {term.starts_on.isoformat()} to {ends}"),
        ("Renewed", renewal.renewed_on.isoformat() if renewal else "not yet"),
        (
            "Verify at",
            absolute_url("credentials:verify", credential.verification_code)
            if credential.verified
            else "nowhere yet: a self-reported credential has no public verification page",
        ),
        ("Produced", timezone.localdate().isoformat()),
    ]
    for label, value in facts:
        pdf.set_font(pdf.family, "B", 10)
        pdf.cell(40, 6, pdf.text(label))
        pdf.set_font(pdf.family, "", 10)
        pdf.multi_cell(0, 6, pdf.text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (24, 34, 82, 20, 20)
    pdf.set_font(pdf.family, "B", 9)
    for width, heading in zip(widths, ("Date", "Category", "Activity", "Hours", ""), strict=True):
        pdf.cell(width, 7, pdf.text(heading), border="B")
    pdf.ln()
    pdf.set_font(pdf.family, "", 9)
    total_hours = Decimal(0)
    for entry in entries:
        total_hours += entry.hours
        title = entry.title + (f" ({entry.provider})" if entry.provider else "")
        pdf.cell(widths[0], 6, entry.activity_date.isoformat())
        pdf.cell(widths[1], 6, pdf.text(entry.category.name[:20]))
        pdf.cell(widths[2], 6, pdf.text(title[:60]))
        pdf.cell(widths[3], 6, fmt_units(entry.hours), align="R")
        pdf.ln()
    if not entries:
        pdf.cell(0, 6, "No activities counted toward this term.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(pdf.family, "B", 10)
    unit = program.unit_name
    pdf.cell(
        0,
        6,
        pdf.text(f"Hours logged in the window: {fmt_units(total_hours)}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        6,
        pdf.text(f"{unit} counted: {fmt_units(counted)} of {fmt_units(required)} required"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(pdf.family, "", 8)
    pdf.multi_cell(
        0,
        5,
        pdf.text(
            "Units count inside the look-back window before the term's end, within the issuer's "
            "daily and category limits; units used by a renewal do not count again."
        ),
    )
    return bytes(pdf.output())
