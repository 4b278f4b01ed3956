"""Translations are complete and nothing a reader sees escapes them.

- Every language's .po file: no entry untranslated or fuzzy, every placeholder kept, and no
  msgid missing or left over against what `makemessages` extracts from the code today.
- Every template: no text outside {% translate %} / {% blocktranslate %} (a static read of
  each template's text and its user-visible attributes).
- Rendered pages, emails, the PDF transcript and the calendar feed in a pseudo-locale whose
  every translation is the English with accented letters: any plain English left in them is
  text that never went through a translation.
"""

import html.parser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.template import engines
from django.template.base import Lexer, TokenType

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
    r"CSPO Tracker|\b(SEU|PDU|CSV|XLSX|PDF|JSON|PNG|API|QR|ID|DID|OpenID Connect|Open Badges)\b|"
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

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._skip += 1
        attrs = dict(attrs)
        for name in VISIBLE_ATTRIBUTES:
            if attrs.get(name):
                self.found.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset"):
            self.found.append(attrs.get("value") or "")
        described = (attrs.get("name") or attrs.get("property") or "").lower()
        if tag == "meta" and ("description" in described or "title" in described):
            self.found.append(attrs.get("content") or "")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self._skip:
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
            outside.append("\0")
        elif token.token_type == TokenType.TEXT and not depth and not skipping:
            outside.append(token.contents)
        else:
            outside.append("\0")
    finder = _TextFinder()
    finder.feed("".join(outside))
    words = []
    for text in finder.found:
        for piece in text.split("\0"):
            piece = " ".join(piece.split())
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


def english_in(text: str) -> list[str]:
    finder = _TextFinder()
    finder.feed(text)
    hits = []
    for piece in finder.found:
        piece = " ".join(piece.split())
        if ENGLISH.search(piece):
            hits.append(piece)
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
