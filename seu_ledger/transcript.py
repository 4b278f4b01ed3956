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
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from fontTools import ttLib
from fpdf import FPDF

from credentials.models import Credential, Membership, Term
from credentials.selectors import credential_current_term
from cspo_tracker import formats
from cspo_tracker.links import absolute_url

from .models import Entry, Renewal
from .selectors import fmt_units, renewal_plan, renewal_siblings

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


UNVERIFIED_BANNER = _("Self-reported, not verified: staff have not confirmed this credential.")


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

    def multi_row(self, widths, cells, aligns: str) -> None:
        """One table row whose cells wrap within their widths, all as tall as the tallest."""
        line = 4.5
        heights = [
            len(self.multi_cell(w, line, c, dry_run=True, output="LINES")) or 1
            for w, c in zip(widths, cells, strict=True)
        ]
        height = max(heights) * line
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
        top, left = self.get_y(), self.get_x()
        x = left
        for width, cell, align in zip(widths, cells, aligns, strict=True):
            self.set_xy(x, top)
            self.multi_cell(width, line, cell, align=align)
            x += width
        self.set_xy(left, top + height)

    def _set_font_anew(self, style: str, size: float) -> None:
        """set_font that always writes the font into the page: header and footer run when a
        page opens or closes, after text drawn with a fallback font (CJK) may have left that
        font selected in the page while fpdf2 still counts the text font as current, and
        set_font skips a font it thinks is set (the footer's Latin letters came out as boxes)."""
        self.font_family = ""
        self.set_font(self.family, style, size)

    def header(self):
        if self.banner:
            self._set_font_anew("B", 10)
            self.set_text_color(176, 42, 55)
            self.cell(
                0, 7, self.text(self.banner), border=1, align="C", new_x="LMARGIN", new_y="NEXT"
            )
            self.set_text_color(0, 0, 0)
            self.ln(2)

    def footer(self):
        self.set_y(-12)
        self._set_font_anew("", 8)
        footer = gettext("CSPO Tracker transcript, page {page}").format(page=self.page_no())
        self.cell(0, 5, self.text(footer), align="C")


@dataclass
class _Lines:
    """What a transcript lists: (entry, counted units or None, why the rest does not count),
    the units counted and required, the renewal that closed the term (if any), and the
    category totals with their limits (PMI's Education and skill areas)."""

    rows: list
    counted: Decimal
    required: Decimal
    renewal: Renewal | None
    label: str
    categories: list
    members: list = None  # the credentials of the group, highest first


def _term_lines(credential: Credential, term: Term) -> _Lines:
    """The transcript of one term covers its whole renewal group (CSM + CSPO renew together
    and get one transcript). A renewed term lists the activities its renewal used, with the
    totals recorded then; a running term lists every activity inside the renewal window with
    the units counted today and why any did not count."""
    if term.ends_on is None:  # a lifetime term: nothing to count
        return _Lines([], Decimal(0), Decimal(0), None, credential.program.code, [])
    renewal = (
        Renewal.objects.filter(closed_term=term)
        .select_related("closed_term__credential__program__issuer")
        .first()
    )
    if renewal:
        siblings = renewal_siblings(renewal)
        codes = [r.closed_term.credential.program.code for r in siblings]
        entries = (
            renewal.entries.select_related("category__issuer", "source_course__organisation")
            .defer("source_course__organisation__logo")
            .order_by("activity_date")
        )
        return _Lines(
            [(entry, None, "") for entry in entries],
            renewal.units_counted,
            renewal.units_required,
            renewal,
            " + ".join(codes),
            [],
            [r.closed_term.credential for r in siblings],
        )
    plan = renewal_plan(credential.holder_id, credential.pk)
    if plan.card.balance is None or credential_current_term(credential).pk != term.pk:
        return _Lines([], Decimal(0), Decimal(0), None, credential.program.code, [])
    by_id = (
        Entry.objects.select_related("category__issuer", "source_course__organisation")
        .defer("source_course__organisation__logo")
        .in_bulk([row.pk for row, _ in plan.entries])
    )
    rows = [
        (by_id[row.pk], outcome.counted, "; ".join(outcome.reasons))
        for row, outcome in plan.entries
    ]
    balance = plan.card.balance
    return _Lines(
        rows,
        balance.counted,
        balance.required,
        None,
        plan.group.label,
        plan.card.categories,
        list(plan.group.credentials),
    )


def _provider(entry: Entry) -> str:
    """Who gave the activity: as the holder wrote it, and for a course's lines the training
    organisation that ran the course ("Dana Trainer, trained by Agile Academy")."""
    course = entry.source_course if entry.source_course_id else None
    organisation = course.organisation if course is not None else None
    parts = [entry.provider] if entry.provider else []
    if organisation is not None:
        # Translators: the training organisation that ran a course ("trained by Agile Academy").
        parts.append(gettext("trained by {organisation}").format(organisation=organisation.name))
    return ", ".join(parts)


def _category_line(category) -> str:
    """A category's units counted, with its limits: "Education: 20 (at least 18)"."""
    values = {
        "category": category.name,
        "counted": fmt_units(category.counted),
        "minimum": fmt_units(category.minimum),
        "maximum": fmt_units(category.maximum),
    }
    if category.minimum is not None and category.maximum is not None:
        text = gettext("{category}: {counted} (at least {minimum}, at most {maximum} count)")
    elif category.minimum is not None:
        text = gettext("{category}: {counted} (at least {minimum})")
    elif category.maximum is not None:
        text = gettext("{category}: {counted} (at most {maximum} count)")
    else:
        text = "{category}: {counted}"
    return text.format(**values)


def transcript_pdf(*, credential: Credential, term: Term) -> bytes:
    """The PDF transcript of one term of a credential (with the credentials that renew
    together with it): the holder, the term, each activity with the units counted and why the
    rest did not count, totals per category with their limits, and the units counted against
    those required."""
    holder = credential.holder
    program = credential.program
    lines = _term_lines(credential, term)
    renewal = lines.renewal
    member = Membership.objects.filter(holder=holder, issuer=program.issuer).first()
    pdf = _Document(banner="" if credential.verified else str(UNVERIFIED_BANNER))
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 16)
    pdf.cell(
        0,
        10,
        pdf.text(gettext("Continuing-education transcript: {label}").format(label=lines.label)),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(pdf.family, "", 10)
    ends = formats.day(term.ends_on) if term.ends_on else gettext("lifetime")
    facts = [
        (gettext("Holder"), f"{holder.get_full_name()} <{holder.email}>"),
        (gettext("Member number"), member.member_id if member and member.member_id else "-"),
        (gettext("Credential"), f"{program.name} ({program.code}), {program.issuer.name}"),
        (gettext("Certificate number"), credential.certificate_number or "-"),
        (gettext("Issued"), formats.day(credential.issued_on)),
        (
            gettext("Term"),
            # Translators: a term: its number, first and last day ("2: 14 May 2024 to 14 May
            # 2026"); {ends_on} may be "lifetime".
            gettext("{sequence}: {starts_on} to {ends_on}").format(
                sequence=term.sequence, starts_on=formats.day(term.starts_on), ends_on=ends
            ),
        ),
        (
            gettext("Renewed"),
            formats.day(renewal.renewed_on) if renewal else gettext("not yet"),
        ),
        (
            gettext("Verify at"),
            absolute_url("credentials:verify", credential.verification_code)
            if credential.verified
            else gettext("nowhere yet: a self-reported credential has no public verification page"),
        ),
        (gettext("Produced"), formats.day(timezone.localdate())),
    ]
    if lines.members and len(lines.members) > 1:
        # Each credential of the group, with its own certificate and issue date.
        # Translators: a credential of a group renewing together: its name, issuer,
        # certificate number and issue date.
        each = gettext("{name}, {issuer}; certificate {certificate}; issued {day}")
        facts[2:5] = [
            (
                member.program.code,
                each.format(
                    name=member.program.name,
                    issuer=member.program.issuer.name,
                    certificate=member.certificate_number or "-",
                    day=formats.day(member.issued_on),
                ),
            )
            for member in lines.members
        ]
        facts.insert(2, (gettext("Renews together"), lines.label))
    for label, value in facts:
        pdf.set_font(pdf.family, "B", 10)
        pdf.cell(40, 6, pdf.text(label))
        pdf.set_font(pdf.family, "", 10)
        pdf.multi_cell(0, 6, pdf.text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (22, 30, 66, 14, 18, 40)
    headings = (
        gettext("Date"),
        gettext("Category"),
        gettext("Activity"),
        gettext("Hours"),
        gettext("Counted"),
        gettext("Why not all"),
    )
    if renewal:
        widths, headings = (24, 34, 100, 16), headings[:4]
    for width, heading in zip(widths, headings, strict=True):
        # A longer translation ("Angerechnet", "Warum nicht alle") gets a smaller type rather
        # than running into the next column.
        size = 9.0
        pdf.set_font(pdf.family, "B", size)
        while size > 5.5 and pdf.get_string_width(pdf.text(heading)) > width - 1.5:
            size -= 0.5
            pdf.set_font(pdf.family, "B", size)
        pdf.cell(width, 7, pdf.text(heading), border="B")
    pdf.ln()
    pdf.set_font(pdf.family, "", 8)
    total_hours = Decimal(0)
    for entry, counted, why in lines.rows:
        total_hours += entry.hours
        provider = _provider(entry)
        title = entry.title + (f" ({provider})" if provider else "")
        cells = [
            formats.day(entry.activity_date),
            entry.category.name,
            title,
            fmt_units(entry.hours),
        ]
        if not renewal:
            cells += [fmt_units(counted), why or "-"]
        pdf.multi_row(widths, [pdf.text(cell) for cell in cells], aligns="LLLRRL"[: len(cells)])
    if not lines.rows:
        pdf.cell(
            0,
            6,
            pdf.text(gettext("No activities counted toward this term.")),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(3)
    unit = program.unit_name
    if lines.categories:
        pdf.set_font(pdf.family, "B", 10)
        # Translators: a heading: {unit} is SEU, PDU or hours.
        heading = gettext("{unit} by category").format(unit=unit)
        pdf.cell(0, 6, pdf.text(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.family, "", 9)
        for category in lines.categories:
            pdf.cell(
                0,
                5,
                pdf.text("    " * category.depth + _category_line(category)),
                new_x="LMARGIN",
                new_y="NEXT",
            )
        pdf.ln(2)
    pdf.set_font(pdf.family, "B", 10)
    pdf.cell(
        0,
        6,
        pdf.text(
            gettext("Hours logged in the window: {hours}").format(hours=fmt_units(total_hours))
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.cell(
        0,
        6,
        pdf.text(
            gettext("{unit} counted: {counted} of {required} required").format(
                unit=unit, counted=fmt_units(lines.counted), required=fmt_units(lines.required)
            )
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font(pdf.family, "", 8)
    pdf.multi_cell(
        0,
        5,
        pdf.text(
            gettext(
                "Units count inside the look-back window before the term's end, within the "
                "issuer's daily and category limits; units used by a renewal do not count again."
            )
        ),
    )
    return bytes(pdf.output())
