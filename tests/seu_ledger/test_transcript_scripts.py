"""Names and titles in any script appear in the PDF transcript: DejaVu Sans draws what it can,
fallback fonts (Noto) draw the rest, and a character no font has is drawn visibly, not dropped."""

import datetime
import io
import logging
from decimal import Decimal

import pytest
import time_machine
from django.core.checks import run_checks
from pypdf import PdfReader

from credentials.services import credential_issue
from seu_ledger import transcript
from seu_ledger.services import entry_log
from seu_ledger.transcript import transcript_pdf
from tests.factories import UserFactory, category, program

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2025, 12, 1, 12, tzinfo=datetime.UTC)
DEJAVU_ONLY = ["/usr/share/fonts/truetype/dejavu"]
DEJAVU = {"DejaVuSansBook", "DejaVuSansBold"}  # the text fonts, regular and bold


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def issued_to(first_name: str, last_name: str = "", email: str = "holder@example.com"):
    holder = UserFactory(first_name=first_name, last_name=last_name, email=email)
    credential = credential_issue(
        holder=holder, program=program("CSPO"), issued_on=datetime.date(2024, 3, 15)
    )
    return holder, credential


def pdf_of(credential) -> bytes:
    return transcript_pdf(credential=credential, term=credential.terms.get())


def text_of(pdf: bytes) -> str:
    """The text of every page. fpdf2 encodes text in a CID-keyed CFF font (Noto Sans CJK) through
    an embedded CMap; pypdf reads that CMap as one-byte codes and returns each character (right,
    from the ToUnicode map) after a NUL, which PDF viewers do not. The NULs are dropped here."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return "\n".join(page.extract_text() for page in pages).replace("\x00", "")


def fonts_of(pdf: bytes) -> set[str]:
    """The base names of the fonts the pages use, without the subset prefix ("ABCDEF+")."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).lstrip("/").split("+")[-1])
    return names


def holder_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Holder"))


# Left-to-right scripts: DejaVu lacks CJK, Devanagari, Thai, Bengali, Tamil (these failed before
# the fallback fonts: the holder line showed only the email); Greek and Cyrillic are DejaVu's own.
@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [
        pytest.param("王小明", "", id="chinese"),
        pytest.param("山田太郎", "", id="japanese"),
        pytest.param("김민준", "", id="korean"),
        pytest.param("अनिल", "शर्मा", id="hindi"),
        pytest.param("สมชาย", "ใจดี", id="thai"),
        pytest.param("সুমন", "দাস", id="bengali"),
        pytest.param("முருகன்", "", id="tamil"),
        pytest.param("Γιώργος", "Παπαδόπουλος", id="greek"),
        pytest.param("Иван", "Петров", id="cyrillic"),
    ],
)
def test_the_holder_name_in_any_script_is_in_the_transcript(first_name, last_name):
    holder, credential = issued_to(first_name, last_name)
    line = holder_line(text_of(pdf_of(credential)))
    assert f"{holder.get_full_name()} <holder@example.com>" in line


# Right-to-left scripts are drawn as before: DejaVu has the letters and there is no shaping engine,
# so they are laid out unshaped, in logical order, left to right. pypdf gives them back reordered
# (today "Holder < ןהכ דודholder@example.com>": the name reversed, the "<" moved), so the test
# compares the letters of the name, and how often each occurs, not their order.
@pytest.mark.parametrize(
    ("first_name", "last_name"),
    [pytest.param("דוד", "כהן", id="hebrew"), pytest.param("محمد", "علي", id="arabic")],
)
def test_a_right_to_left_name_keeps_every_letter(first_name, last_name):
    holder, credential = issued_to(first_name, last_name)
    pdf = pdf_of(credential)
    letters = [char for char in holder_line(text_of(pdf)) if not char.isascii()]
    assert sorted(letters) == sorted(holder.get_full_name().replace(" ", ""))
    assert fonts_of(pdf) == DEJAVU  # DejaVu's letters, as before


def test_an_activity_title_in_chinese_is_in_the_transcript():
    holder, credential = issued_to("Pat", "Owner")
    entry_log(
        holder=holder,
        activity_date=datetime.date(2025, 6, 1),
        category=category("scrum-alliance:learning"),
        title="敏捷产品负责人工作坊",
        provider="东京敏捷",
        hours=Decimal(6),
    )
    assert "敏捷产品负责人工作坊 (东京敏捷)" in text_of(pdf_of(credential))


def test_the_footer_after_chinese_text_keeps_its_latin_letters():
    """The Chinese transcript's footer ("CSPO Tracker 成绩单，第 1 页") came out as boxes
    where the page's last line was Chinese in the footer's font and size."""
    pdf = transcript._Document()
    pdf.add_page()
    pdf.set_font(pdf.family, "", 8)
    pdf.multi_cell(0, 4, pdf.text("学分须在有效期结束前的回溯窗口期内"))
    text = PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0].extract_text().replace("\0", "")
    assert text.splitlines()[-1] == "CSPO Tracker transcript, page 1"


def test_only_the_fonts_a_transcript_needs_are_embedded():
    _, latin = issued_to("Pat", "Owner")
    assert fonts_of(pdf_of(latin)) == DEJAVU
    _, chinese = issued_to("王小明", email="wang@example.com")
    assert fonts_of(pdf_of(chinese)) == {*DEJAVU, "NotoSansCJKSC"}


def test_bold_text_falls_back_to_a_bold_face():
    pdf = transcript._Document()
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 10)
    pdf.cell(0, 6, pdf.text("Holder 王小明 अनिल"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family, "", 10)
    pdf.cell(0, 6, pdf.text("Holder 王小明"), new_x="LMARGIN", new_y="NEXT")
    output = bytes(pdf.output())
    assert text_of(output).splitlines()[:2] == ["Holder 王小明 अनिल", "Holder 王小明"]
    assert fonts_of(output) == {
        *DEJAVU,
        "NotoSansCJKSC",
        "NotoSansCJKSCBold",
        "NotoSansDevanagariBold",  # no regular Devanagari: no regular text needed it
    }


def test_a_character_no_font_has_is_drawn_visibly_with_one_warning(settings, caplog, monkeypatch):
    monkeypatch.setattr(transcript, "_warned", set())  # as in a new process
    settings.PDF_FONT_DIRS = DEJAVU_ONLY  # DejaVu alone: no font has 王, 小 or 明
    _, credential = issued_to("王小明", "Smith")
    with caplog.at_level(logging.WARNING, logger="seu_ledger.transcript"):
        first = pdf_of(credential)
        pdf_of(credential)
    assert "\ufffd\ufffd\ufffd Smith <holder@example.com>" in holder_line(text_of(first))
    warnings = [r.getMessage() for r in caplog.records if r.name == "seu_ledger.transcript"]
    assert len(warnings) == 3  # one per missing character, once per process, not per PDF
    assert all("fonts-noto-cjk" in message for message in warnings)


# --- The system check -------------------------------------------------------------------------


def check_ids() -> list[str]:
    return [message.id for message in run_checks() if message.id.startswith("seu_ledger.")]


def test_the_check_warns_when_no_font_draws_chinese(settings, tmp_path):
    from seu_ledger.checks import pdf_fonts_check

    settings.PDF_FONT_DIRS = [str(tmp_path)]
    assert check_ids() == ["seu_ledger.W001", "seu_ledger.W002"]
    cjk, body = pdf_fonts_check(None)
    assert "fonts-noto-cjk" in cjk.hint
    assert "PDF_FONT_DIRS" in cjk.hint
    assert "fonts-dejavu-core" in body.hint
    settings.PDF_FONT_DIRS = DEJAVU_ONLY
    assert check_ids() == ["seu_ledger.W001"]


def test_the_check_is_quiet_with_the_debian_fonts_installed():
    assert check_ids() == []


def test_pdf_font_dirs_may_name_other_folders_searched_with_their_sub_folders(settings, tmp_path):
    nested = tmp_path / "fonts" / "nested"
    nested.mkdir(parents=True)
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        (nested / name).symlink_to(f"/usr/share/fonts/truetype/dejavu/{name}")
    (nested / "NotoSansCJK-Regular.ttc").symlink_to(
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    )
    settings.PDF_FONT_DIRS = [str(tmp_path)]
    assert check_ids() == []
    holder, credential = issued_to("王小明")
    pdf = pdf_of(credential)
    assert f"{holder.get_full_name()} <holder@example.com>" in holder_line(text_of(pdf))
    assert fonts_of(pdf) == {*DEJAVU, "NotoSansCJKSC"}
