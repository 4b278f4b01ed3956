"""One person, one account: the one canonical spelling of an email address, and what a
person's name may contain.

Every path that takes an address from outside (sign-in and its throttling, sign-up,
invitations, password reset, roster import, the admin's forms, the API) goes through
`canonical_email`, so two spellings of one mailbox can never be two accounts, two throttling
counters or two roster holders. Decision record 0008 says why the rules are these.
"""

import contextlib
import functools
import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email
from django.utils.encoding import punycode
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

EMAIL_MAX_LENGTH = 254
EMAIL_REQUIRED = _("Enter an email address.")
EMAIL_INVALID = _("Enter a valid email address.")
EMAIL_TOO_LONG = format_lazy(
    _("An email address has at most {count} characters."), count=EMAIL_MAX_LENGTH
)
EMAIL_INVISIBLE = _(
    # Translators: {codepoint} names a Unicode character, such as U+200B.
    "The email address contains an invisible or control character ({codepoint}); "
    "type the address again rather than pasting it."
)
EMAIL_SPACE = _("The email address contains a space.")
EMAIL_STRAY_MARK = _(
    # Translators: {codepoint} names a Unicode character, such as U+0301.
    "The email address contains an accent or mark that is not part of a letter ({codepoint})."
)
EMAIL_QUOTED = _(
    "The email address has quotes or a backslash; enter it without them, as name@example.com."
)
EMAIL_DOMAIN = _("The part after @ is not a domain that mail can be sent to.")

# Translators: {codepoint} names a Unicode character, such as U+202E.
NAME_CONTROL = _("The name contains an invisible or control character ({codepoint}).")
# Joiners that some scripts (Persian, Indic) need inside names.
_NAME_JOINERS = {"\u200c", "\u200d"}
# Full stops of other scripts that mail clients and browsers read as a dot.
_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\uff0e": "."})
NAME_ADDRESS = _(
    "A name cannot contain a web or email address (such as example.com); "
    "write it as it is printed on your certificate."
)

# Unicode categories refused in an address: controls (Cc), format characters such as the
# zero-width space, joiners, the word joiner, the byte-order mark and the soft hyphen (Cf),
# surrogates, private-use and unassigned code points.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}
# Combining marks that NFKC could not join to a letter.
_MARKS = {"Mn", "Me"}
# Letters and symbols that show as blank space (Hangul fillers, the braille blank).
_BLANKS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
# Text an email client would turn into a link: a scheme, "www.", an address, or a domain-like
# "word.word" with no space after the dot.
_LINK_LIKE = re.compile(r"://|\bwww\.|@|[^\W_]\.[^\W\d_]{2,}", re.IGNORECASE)
# Controls that reorder text (bidirectional overrides and isolates): used to disguise text.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def canonical_email(value: str | None) -> str:
    """Reduce an email address to the one spelling we store, look up, count and compare.

    Unicode NFKC (fullwidth letters and other compatibility forms become plain ones, a letter
    and its combining accent become one letter), surrounding whitespace removed, lower-case,
    and the domain in the ASCII form mail is sent to (IDNA: "exämple.com" is
    "xn--exmple-cua.com", "straße" is "strasse"). An address that still holds an invisible,
    control or format character (categories Cc and Cf: zero-width space and joiners
    U+200B-U+200D, word joiner U+2060, byte-order mark U+FEFF, soft hyphen U+00AD...), a
    blank-looking letter, a space, a combining mark on no letter, quotes or a backslash (a
    quoted local part reaches the same mailbox), or a domain ending with a dot, is refused
    rather than cleaned, because a cleaned copy would silently become someone else's address.
    The result is a valid address by Django's validator, at most 254 characters, and its own
    canonical form.

    Raises ValidationError (code "required", "invisible", "space", "mark", "quoted",
    "domain", "too_long" or "invalid") whose message names the email address; callers attach
    it to their email field or row.
    """
    text = unicodedata.normalize("NFKC", value or "").strip()
    if not text:
        raise ValidationError(EMAIL_REQUIRED, code="required")
    # Lower-casing can produce a decomposed form (U+0130 gives "i" + U+0307): normalise again,
    # and check what is left, so the canonical form of a canonical form is itself.
    text = unicodedata.normalize("NFKC", text.lower())
    # Printable ASCII holds none of the characters refused here but the space: the walk is
    # for other text (most addresses skip it; a roster has tens of thousands).
    if not (text.isascii() and text.isprintable() and " " not in text):
        _refuse_hidden_characters(text)
    if '"' in text or "\\" in text:
        raise ValidationError(EMAIL_QUOTED, code="quoted")
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError(EMAIL_INVALID, code="invalid")
    try:
        domain = _mail_domain(domain)
    except UnicodeError:
        raise ValidationError(EMAIL_DOMAIN, code="domain") from None
    if domain.startswith(".") or domain.endswith("."):
        raise ValidationError(EMAIL_DOMAIN, code="domain")
    text = f"{local}@{domain}"
    if len(text) > EMAIL_MAX_LENGTH:
        raise ValidationError(EMAIL_TOO_LONG, code="too_long")
    try:
        _validate_email(text)
    except ValidationError:
        raise ValidationError(EMAIL_INVALID, code="invalid") from None
    return text


def _refuse_hidden_characters(text: str) -> None:
    for char in text:
        category = unicodedata.category(char)
        if category in _INVISIBLE or char in _BLANKS:
            raise ValidationError(
                EMAIL_INVISIBLE.format(codepoint=_codepoint(char)), code="invisible"
            )
        if char.isspace() or category.startswith("Z"):
            raise ValidationError(EMAIL_SPACE, code="space")
        if category in _MARKS:
            raise ValidationError(EMAIL_STRAY_MARK.format(codepoint=_codepoint(char)), code="mark")


class _EmailValidator(EmailValidator):
    """Django's email validator, remembering its verdict on each domain: its pattern is the
    costly part, and the addresses of a roster share a few domains."""

    def validate_domain_part(self, domain_part):
        return _valid_domain(domain_part)


_validate_email = _EmailValidator()


@functools.lru_cache(maxsize=1024)
def _valid_domain(domain_part: str) -> bool:
    return validate_email.validate_domain_part(domain_part)


@functools.lru_cache(maxsize=1024)
def _mail_domain(domain: str) -> str:
    """A domain in the ASCII form mail is sent to (IDNA); raises UnicodeError for one that
    has none. Cached: the addresses of a roster share a few domains."""
    return punycode(domain).lower()


def email_throttle_key(value: str | None) -> str:
    """The key sign-in throttling counts an attempt under: the canonical form with every
    refused character dropped (invisible, blank, space, stray mark, quote, backslash), so that
    no spelling of an address, refused or not, has a counter of its own. Never raises; ""
    for nothing usable."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value or "").lower())
    kept = "".join(
        char
        for char in text
        if unicodedata.category(char) not in _INVISIBLE | _MARKS
        and char not in _BLANKS
        and char not in '"\\'
        and not char.isspace()
        and not unicodedata.category(char).startswith("Z")
    )
    local, at, domain = kept.rpartition("@")
    if at:
        with contextlib.suppress(UnicodeError):  # an unusable domain is counted as typed
            domain = punycode(domain).lower().strip(".")
        return f"{local}@{domain}"
    return kept


def email_or_none(value: str | None) -> str | None:
    """`canonical_email`, or None for an address it refuses (for look-ups that must simply
    find nobody)."""
    try:
        return canonical_email(value)
    except ValidationError:
        return None


def validate_person_name(value: str | None) -> None:
    """A first or last name is plain text: no control or text-reordering characters (which
    disguise what an email says), and nothing an email client would turn into a link (a
    scheme, "www.", an "@", or a "word.word" domain), because names are quoted in emails sent
    to addresses nobody has confirmed yet. Raises ValidationError naming the name."""
    if value and value.isascii() and value.isprintable():
        # No control, reordering or blank character, and NFKC and _DOTS change nothing.
        if _LINK_LIKE.search(value):
            raise ValidationError(NAME_ADDRESS, code="address")
        return
    for char in value or "":
        category = unicodedata.category(char)
        hidden = category in ("Cf", "Zl", "Zp") and char not in _NAME_JOINERS
        if category == "Cc" or hidden or char in _BIDI_CONTROLS or char in _BLANKS:
            raise ValidationError(NAME_CONTROL.format(codepoint=_codepoint(char)), code="control")
    if _LINK_LIKE.search(unicodedata.normalize("NFKC", value or "").translate(_DOTS)):
        raise ValidationError(NAME_ADDRESS, code="address")


def clean_person_name(value: str | None) -> str:
    """A name as a file from elsewhere gives it (a roster), cleaned rather than refused: in
    composed form (NFC), line breaks and tabs as spaces, control and format characters
    (zero-width spaces, bidirectional marks and overrides, soft hyphens, blank-looking
    letters) removed, except the joiners some scripts need between two letters, and runs of
    spaces as one. What is left still goes through `validate_person_name`."""
    if value and value.isascii() and value.isprintable():
        return " ".join(value.split())  # nothing to compose or remove but repeated spaces
    text = unicodedata.normalize("NFC", value or "")
    kept = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if char in "\t\n\r\v\f" or category in ("Zl", "Zp"):
            kept.append(" ")
        elif char in _NAME_JOINERS:
            before = text[index - 1] if index else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            if before.isalpha() and after.isalpha():
                kept.append(char)
        elif category not in ("Cc", "Cf") and char not in _BLANKS:
            kept.append(char)
    return " ".join("".join(kept).split())
