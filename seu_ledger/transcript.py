"""PDF transcript of one term: who, which credential, what counted, the totals."""

from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from fpdf import FPDF

from credentials.models import Credential, Membership, Term

from .models import Entry, Renewal
from .selectors import fmt_units, group_balance, holder_ledger

# A Unicode font where the system has one (names are not all Latin-1); else the PDF core font.
UNICODE_FONTS = [
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
]


UNVERIFIED_BANNER = "Self-reported, not verified: staff have not confirmed this credential."


class _Document(FPDF):
    def __init__(self, banner: str = ""):
        self.banner = banner  # printed at the top of every page (header() runs per page)
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        font = next((path for path in UNICODE_FONTS if path.exists()), None)
        if font:
            self.add_font("body", "", str(font))
            bold = font.with_name("DejaVuSans-Bold.ttf")
            self.add_font("body", "B", str(bold if bold.exists() else font))
            self.family = "body"
            self.unicode = True
        else:
            self.family = "helvetica"
            self.unicode = False

    def text(self, value) -> str:  # noqa: D102 - keeps core fonts from failing on non-Latin-1
        value = "" if value is None else str(value)
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

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
            settings.SITE_URL + reverse("credentials:verify", args=[credential.verification_code])
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
