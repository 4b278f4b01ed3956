"""Translations are complete and nothing a reader sees escapes them.

- Every language's .po file: no entry untranslated or fuzzy, every placeholder kept, and no
  msgid missing or left over against what `makemessages` extracts from the code today.
- Every template: no text outside {% translate %} / {% blocktranslate %} (a static read of
  each template's text and its user-visible attributes).
- Rendered pages, emails, the PDF transcript and the calendar feed in a pseudo-locale whose
  every translation is the English with accented letters: any plain English left in them is
  text that never went through a translation.
"""

import datetime
import html.parser
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core import mail
from django.template import engines
from django.template.base import Lexer, TokenType
from django.urls import reverse
from pypdf import PdfReader

from credentials.models import Term
from credentials.selectors import today
from credentials.services import calendar_token_for, credential_issue
from cspo_tracker.emails import email_render
from seu_ledger.reminders.services import reminders_record, reminders_send
from tests.factories import UserFactory, learning_entry, program, staff_in

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != "en"]
LOCALE_DIRS = {"de": "de", "es": "es", "pt-br": "pt_BR", "zh-hans": "zh_Hans"}
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdf]|%[sd]|\{[a-z_0-9]*\}")


def catalog(language: str):
    path = PROJECT_ROOT / "locale" / LOCALE_DIRS[language] / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"{path.relative_to(PROJECT_ROOT)} is missing"
    with path.open("rb") as source:
        return read_po(source, locale=LOCALE_DIRS[language])


def entries(language: str):
    return [message for message in catalog(language) if message.id]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    problems = []
    for message in entries(language):
        strings = message.string if message.pluralizable else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif not all(s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
    assert not problems, f"{len(problems)} entries in {language}:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_keeps_the_placeholders(language):
    problems = []
    for message in entries(language):
        ids = message.id if message.pluralizable else (message.id,)
        strings = message.string if message.pluralizable else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            found = set(PLACEHOLDER.findall(string))
            # A singular may leave out the count ("one day" for "{n} day").
            if (
                not found <= wanted
                or not (set(PLACEHOLDER.findall(ids[0])) - {"%(counter)s", "{count}", "{n}"})
                <= found
            ):
                problems.append(f"{message.id!r}: {string!r}")
    assert not problems, f"{language}:\n" + "\n".join(problems[:40])


def test_the_catalogs_hold_exactly_what_the_code_marks(tmp_path):
    """`make messages` was run after the last change of text: extracting again finds no new
    msgid and none that went away."""
    if not shutil.which("xgettext"):
        pytest.skip("GNU gettext (xgettext) is not installed: needed to extract messages")
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns(
        ".venv", "node_modules", "__pycache__", "*.mo", "var", "staticfiles"
    )
    for name in ("credentials", "seu_ledger", "badges", "api", "cspo_tracker", "templates"):
        shutil.copytree(PROJECT_ROOT / name, copy / name, ignore=ignore)
    shutil.copytree(PROJECT_ROOT / "locale", copy / "locale", ignore=ignore)
    shutil.copy(PROJECT_ROOT / "manage.py", copy / "manage.py")
    subprocess.run(
        [
            str(Path(settings.BASE_DIR) / ".venv" / "bin" / "python")
            if (Path(settings.BASE_DIR) / ".venv" / "bin" / "python").exists()
            else "python3",
            "manage.py",
            "makemessages",
            "--no-obsolete",
            "--no-location",
            "-l",
            "de",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"},
    )
    with (copy / "locale" / "de" / "LC_MESSAGES" / "django.po").open("rb") as source:
        fresh = {
            (m.id if isinstance(m.id, str) else m.id[0], m.context) for m in read_po(source) if m.id
        }
    stored = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in entries("de")}
    missing = sorted(fresh - stored, key=str)
    gone = sorted(stored - fresh, key=str)
    assert not missing, f"run `make messages` and translate: not in the catalogs: {missing[:20]}"
    assert not gone, f"run `make messages`: no longer in the code: {gone[:20]}"


# --- Templates: no text outside the translation tags --------------------------------------

VISIBLE_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label", "aria-description")
# Text that reads the same in every language: the product's name, the issuers' units and
# codes, file formats, addresses and paths.
SAME_IN_EVERY_LANGUAGE = re.compile(
    r"CSPO Tracker|\b(SEU|PDU|CSV|XLSX|PDF|JSON|PNG|API|QR|ID|DID|OpenID Connect|Open Badges|"
    r"LinkedIn|Excel)\b|"
    r"https?://\S+|\S*/\S*"
)


class _TextFinder(html.parser.HTMLParser):
    """Collects the text a reader sees in an HTML fragment: text outside script, style and
    code examples, the visible attributes, button captions and the meta descriptions."""

    HIDDEN = ("script", "style", "code", "pre")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # Code examples, and what the page marks as not for translation (HTML's translate="no":
        # time zone names, addresses).
        if tag in self.HIDDEN or attrs.get("translate") == "no":
            self._skip += 1
            self._open.append(tag)
        for name in VISIBLE_ATTRIBUTES:
            if attrs.get(name):
                self.found.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset"):
            self.found.append(attrs.get("value") or "")
        described = (attrs.get("name") or attrs.get("property") or "").lower()
        if tag == "meta" and ("description" in described or "title" in described):
            self.found.append(attrs.get("content") or "")

    def handle_endtag(self, tag):
        if self._open and tag == self._open[-1]:
            self._open.pop()
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.found.append(data)


def template_files():
    roots = [
        PROJECT_ROOT / "templates",
        *(
            PROJECT_ROOT / app / "templates"
            for app in ("credentials", "seu_ledger", "badges", "api")
        ),
    ]
    return sorted(
        path
        for root in roots
        if root.exists()
        for path in root.rglob("*")
        if path.suffix in (".html", ".txt")
    )


def untranslated_template_text(source: str) -> list[str]:
    """Words of a template outside the translation tags, comments and variables."""
    outside = []
    depth = 0  # inside blocktranslate ... endblocktranslate
    skipping = 0  # inside comment ... endcomment
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("blocktranslate", "blocktrans"):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans"):
                depth -= 1
            elif name == "comment":
                skipping += 1
            elif name == "endcomment":
                skipping -= 1
            elif name in ("plural",):
                pass
            # Text inside a tag's own arguments (translate "...", url names) is not page text.
            outside.append(" ")
        elif token.token_type == TokenType.TEXT and not depth and not skipping:
            outside.append(token.contents)
        else:
            outside.append(" ")
    finder = _TextFinder()
    finder.feed("".join(outside))
    words = []
    for text in finder.found:
        piece = " ".join(text.split())
        if re.search(r"[^\W\d_]", SAME_IN_EVERY_LANGUAGE.sub("", piece)):
            words.append(piece)
    return words


def test_no_template_has_text_outside_the_translation_tags():
    problems = {}
    for path in template_files():
        if path.is_relative_to(PROJECT_ROOT / "tests"):
            continue
        found = untranslated_template_text(path.read_text())
        if found:
            problems[str(path.relative_to(PROJECT_ROOT))] = found[:5]
    assert not problems, "\n".join(f"{name}: {found}" for name, found in problems.items())


def test_the_template_check_finds_text_outside_the_tags():
    assert untranslated_template_text('<p>Hello {{ name }}</p><a title="Open it">→</a>') == [
        "Hello",
        "Open it",
    ]
    assert (
        untranslated_template_text(
            '<p>{% translate "Hello" %} {{ name }}</p>'
            "{% blocktranslate %}Dear {{ name }}{% endblocktranslate %}"
            '<a title="{% translate "Open" %}">…</a>'
        )
        == []
    )


# --- Pseudo-locale: everything rendered goes through a translation --------------------------

PSEUDO_LANGUAGE = "eo"  # Esperanto: Django's own texts have a catalog; ours get the pseudo one
ACCENTS = str.maketrans("AEIOUYaeiouycnsztCNSZT", "ÀÉÎÖÛÝàéîöûýçñšžţÇÑŠŽŢ")
_KEEP = re.compile(r"(%\([a-z_0-9]+\)[sdf]|%[sd]|\{[a-z_0-9]*\}|<[^>]*>|&[a-z#0-9]+;)")


def pseudo(text: str) -> str:
    """English with every vowel and some consonants accented, placeholders and markup kept."""
    parts = _KEEP.split(text)
    return "".join(part if i % 2 else part.translate(ACCENTS) for i, part in enumerate(parts))


@pytest.fixture
def pseudo_locale(settings, tmp_path):
    """A catalog for PSEUDO_LANGUAGE made from the German one's msgids, put first in
    LOCALE_PATHS, active for the test."""
    from django.utils import translation

    fake = Catalog(locale=PSEUDO_LANGUAGE)
    for message in entries("de"):
        if message.pluralizable:
            fake.add(message.id, tuple(pseudo(i) for i in message.id), context=message.context)
        else:
            fake.add(message.id, pseudo(message.id), context=message.context)
    folder = tmp_path / "locale" / PSEUDO_LANGUAGE / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "django.mo").open("wb") as target:
        write_mo(target, fake)
    settings.LOCALE_PATHS = [tmp_path / "locale", *settings.LOCALE_PATHS]
    settings.LANGUAGES = [*settings.LANGUAGES, (PSEUDO_LANGUAGE, "Pseudo")]
    with translation.override(PSEUDO_LANGUAGE):
        yield PSEUDO_LANGUAGE


# English words no name, code or date in the test data contains: in pseudo-locale output,
# any of them is English that was not translated.
ENGLISH = re.compile(
    r"\b(the|and|your|you|of|to|is|are|for|with|this|that|not|no|on|in|at|by|from|has|have|"
    r"will|can|an|or|it|be|was|all|any|here|there|yet|when|what|who|how|days?|left|"
    r"valid|renew|renewal|credentials?|activity|activities|hours?|sign|save|log|add)\b",
    re.IGNORECASE,
)


ADDRESS = re.compile(r"https?://\S+")


def english_in(text: str) -> list[str]:
    """The lines of what a reader sees that hold an English word, each cut around it."""
    finder = _TextFinder()
    finder.feed(text)
    hits = []
    for piece in finder.found:
        for line in piece.splitlines():
            line = " ".join(ADDRESS.sub(" ", line).split())
            found = ENGLISH.search(line)
            if found:
                hits.append(line[max(0, found.start() - 40) : found.end() + 40])
    return hits


def test_the_pseudo_locale_check_catches_english(pseudo_locale):
    from django.utils.translation import gettext

    assert gettext("Saved.") == pseudo("Saved.") != "Saved."
    assert english_in(f"<p>{gettext('Saved.')}</p><p>Your certifications</p>") == [
        "Your certifications"
    ]


def test_template_engine_renders_translation_tags_without_loading_them(pseudo_locale):
    template = engines["django"].from_string('{% translate "Saved." %}')
    assert template.render({}) == pseudo("Saved.")


# --- Pages, emails, the PDF transcript and the calendar feed in the pseudo-locale -----------

HOLDER_PAGES = [
    ("ledger:dashboard", {}),
    ("ledger:history", {}),
    ("ledger:entry_create", {}),
    ("ledger:renewal", {"pk": "cspo"}),
    ("credentials:calendar", {}),
    ("credentials:claim", {}),
    ("account_profile", {}),
    ("account_preferences", {}),
    ("api_tokens", {}),
    ("password_change", {}),
]
VISITOR_PAGES = [
    ("home", {}),
    ("login", {}),
    ("sign_up", {}),
    ("password_reset", {}),
    ("service_status", {}),
    ("credentials:verify", {"code": "verification"}),
    ("badges:check", {}),
]
STAFF_PAGES = [
    ("staff:queue", {}),
    ("staff:dashboard", {}),
    ("roster:history", {}),
    ("roster:upload", {}),
    ("organisations:list", {}),
]


@pytest.fixture
def pseudo_world(db):
    """A CSPO holder with a course-free term and two activities, a staff registrar: data
    whose every name and title is free of the English words the check looks for."""
    holder = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    cspo = credential_issue(
        holder=holder,
        program=program("CSPO"),
        issued_on=today() - datetime.timedelta(days=600),
    )
    learning_entry(holder, today() - datetime.timedelta(days=20), "8", "Kanban")
    learning_entry(holder, today() - datetime.timedelta(days=10), "4", "Backlog")
    staff = staff_in("registrar")
    return {"holder": holder, "cspo": cspo, "staff": staff}


def _url(name, kwargs, world):
    values = {
        key: world["cspo"].pk
        if value == "cspo"
        else world["cspo"].verification_code
        if value == "verification"
        else value
        for key, value in kwargs.items()
    }
    return reverse(name, kwargs=values)


def _english_on(client, pages, world) -> dict[str, list[str]]:
    found = {}
    for name, kwargs in pages:
        response = client.get(_url(name, kwargs, world), HTTP_ACCEPT_LANGUAGE=PSEUDO_LANGUAGE)
        assert response.status_code == 200, (name, response.status_code)
        assert f'lang="{PSEUDO_LANGUAGE}"' in response.content.decode(), name
        hits = english_in(response.content.decode())
        if hits:
            found[name] = hits[:6]
    return found


def test_every_page_is_translated(pseudo_locale, pseudo_world, client):
    found = _english_on(client, VISITOR_PAGES, pseudo_world)
    client.force_login(pseudo_world["holder"])
    found |= _english_on(client, HOLDER_PAGES, pseudo_world)
    client.force_login(pseudo_world["staff"])
    found |= _english_on(client, STAFF_PAGES, pseudo_world)
    assert not found, "\n".join(f"{name}: {hits}" for name, hits in found.items())


def test_the_emails_are_translated(pseudo_locale, pseudo_world):
    """Every email template, rendered for the holder in the pseudo-locale: subject, text and
    HTML."""
    holder = pseudo_world["holder"]
    holder.language = PSEUDO_LANGUAGE
    found = {}
    folder = PROJECT_ROOT / "templates" / "emails"
    for subject in sorted(folder.glob("*_subject.txt")):
        name = subject.name.removesuffix("_subject.txt")
        rendered = email_render(
            template=name,
            context={
                "user": holder,
                "holder": holder,
                "link": "https://example.com/l",
                "entries": 2,
            },
        )
        text = "\n".join([rendered.subject, rendered.text])
        hits = english_in(f"<pre-text>{text}</pre-text>") + english_in(rendered.html)
        if hits:
            found[name] = hits[:6]
    assert not found, "\n".join(f"{name}: {hits}" for name, hits in found.items())


def test_the_reminder_email_is_translated(pseudo_locale, pseudo_world, settings):
    holder = pseudo_world["holder"]
    holder.language = PSEUDO_LANGUAGE
    holder.save(update_fields=["language"])
    ends_on = today() + datetime.timedelta(days=7)
    Term.objects.filter(credential=pseudo_world["cspo"]).update(ends_on=ends_on)
    reminders_record(on=today())
    reminders_send(holder_ids=[holder.pk], on=today())
    (message,) = mail.outbox
    hits = english_in(f"<p>{message.subject}</p><p>{message.body}</p>") + english_in(
        message.alternatives[0][0]
    )
    assert not hits, hits


def test_the_transcript_and_the_calendar_feed_are_translated(pseudo_locale, pseudo_world, client):
    holder = pseudo_world["holder"]
    holder.language = PSEUDO_LANGUAGE
    holder.save(update_fields=["language"])
    client.force_login(holder)
    term = pseudo_world["cspo"].terms.get()
    pdf = client.get(
        reverse("ledger:transcript", kwargs={"pk": pseudo_world["cspo"].pk, "term_pk": term.pk})
    )
    assert pdf.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    pdf_hits = [line for line in text.splitlines() if ENGLISH.search(ADDRESS.sub(" ", line))]

    feed = client.get(reverse("credentials:calendar_feed", args=[calendar_token_for(holder)]))
    lines = [
        line.split(":", 1)[1]
        for line in feed.content.decode().replace("\r\n ", "").splitlines()
        if line.startswith(("SUMMARY", "DESCRIPTION"))
    ]
    feed_hits = [line for line in lines if ENGLISH.search(ADDRESS.sub(" ", line))]
    assert lines
    assert not pdf_hits, pdf_hits
    assert not feed_hits, feed_hits
