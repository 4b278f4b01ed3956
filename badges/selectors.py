"""Reads for Open Badges: the published status lists, a pasted or uploaded credential checked,
the LinkedIn Add-to-Profile link."""

import datetime
import json
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from credentials.models import Credential
from cspo_tracker import formats, zones
from cspo_tracker.links import absolute_url

from . import bitstring, documents, images, securing
from .models import IssuedBadge

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


# The IssuedBadge field behind each status purpose.
FLAGS = {"revocation": "revoked", "suspension": "suspended"}


def status_bits_set(purpose: str, list_number: int) -> list[int]:
    """The indexes whose bit is set in one list (purpose "revocation" or "suspension")."""
    flag = FLAGS[purpose]
    return list(
        IssuedBadge.objects.filter(status_list=list_number, **{flag: True})
        .order_by()  # not the model's ordering: it joins the terms and sorts, for nothing
        .values_list("status_index", flat=True)
    )


# A signed list is kept in the cache until a bit of it changes (every change drops it:
# `services.status_lists_forget`), and at most a minute: with a per-process cache (one machine,
# no CACHE_URL) a change made by a worker reaches the web processes' lists within it.
STATUS_LIST_CACHE_SECONDS = 60


def status_list_cache_keys(list_number: int) -> list[str]:
    return [f"badges:status-list:{purpose}:{list_number}" for purpose in documents.PURPOSES]


def status_list_published(purpose: str, list_number: int) -> str:
    """The signed status list as served: from the shared cache, signed anew after a change.
    Raises as status_list_token."""
    key = f"badges:status-list:{purpose}:{list_number}"
    token = cache.get(key)
    if token is None:
        token = status_list_token(purpose, list_number)
        cache.set(key, token, STATUS_LIST_CACHE_SECONDS)
    return token


def status_list_token(purpose: str, list_number: int, now: datetime.datetime | None = None) -> str:
    """The signed BitstringStatusListCredential (vc+jwt) of one list, signed now from the
    bits as they are. Raises KeyError for an unknown purpose, keys.KeysMissing without a
    signing key."""
    encoded = bitstring.encode(status_bits_set(purpose, list_number))
    document = documents.status_list_credential(
        purpose=purpose,
        list_number=list_number,
        encoded_list=encoded,
        now=now or timezone.now(),
    )
    return securing.sign(document)


def status_lists_in_use() -> int:
    """How many lists have credentials in them (at least 1: an empty list is published)."""
    last = IssuedBadge.objects.order_by("-status_list").values_list("status_list", flat=True)
    return max(1, last.first() or 1)


def linkedin_url(credential: Credential) -> str:
    """LinkedIn's Add-to-Profile link for a certification: name, organisation (by the
    LINKEDIN_ORGANIZATION_ID setting, else by the issuer's name), issue month (the first
    term), expiry month (the end of the latest term; none for life), credential id
    (the issuer's certificate number, else the verification code: both stay the same across
    renewals) and the verification URL."""
    terms = sorted(credential.terms.all(), key=lambda term: term.sequence)
    first, latest = terms[0], terms[-1]
    program = credential.program
    params = {"startTask": "CERTIFICATION_NAME", "name": f"{program.name} ({program.code})"}
    if settings.LINKEDIN_ORGANIZATION_ID:
        params["organizationId"] = settings.LINKEDIN_ORGANIZATION_ID
    else:
        params["organizationName"] = program.issuer.name
    params["issueYear"] = str(first.starts_on.year)
    params["issueMonth"] = str(first.starts_on.month)
    if latest.ends_on is not None:  # the term's end, as the certificate says (not the grace)
        params["expirationYear"] = str(latest.ends_on.year)
        params["expirationMonth"] = str(latest.ends_on.month)
    params["certUrl"] = absolute_url("credentials:verify", credential.verification_code)
    # Stable across renewals: the issuer's certificate number, else the verification code.
    params["certId"] = credential.certificate_number or str(credential.verification_code)
    return f"{LINKEDIN_ADD}?{urlencode(params)}"


# --- Checking a credential someone pasted or uploaded ------------------------------------------

NOT_JSON_NOR_JWT = _(
    "This is neither a signed credential (vc+jwt) nor the JSON of one. Paste the whole "
    "credential you downloaded, or upload the badge image."
)
UNSIGNED_JSON = _(
    "This credential JSON carries no signature, so nothing proves who wrote it. Paste the "
    "signed credential (the download called JSON holds it) or upload the badge image."
)

OTHER_PROOF = _(
    "This credential carries an embedded proof; this site signs its credentials as vc+jwt "
    "instead, so it is not one of ours. Paste the credential you downloaded here."
)


# Characters a copy may carry that nobody sees: byte order mark, zero-width space and joiners.
INVISIBLE = {"\ufeff", "\u200b", "\u200c", "\u200d", "\u2060"}


class Unreadable(ValueError):
    """What was given holds no credential to check; the message says what to give instead."""


def token_from(text: str = "", upload: bytes | None = None) -> str:
    """The vc+jwt in what a verifier gave: an uploaded baked PNG (or a text file), pasted JSON
    of an EnvelopedVerifiableCredential, a data: URL or the compact JWS itself. Raises
    Unreadable or images.NotABadgeImage with what to give instead."""
    if upload is not None:
        if upload.startswith(b"\x89PNG"):
            return images.unbake(upload)
        if len(upload) > images.MAX_BYTES:
            raise Unreadable(
                gettext("The file is larger than 2 MB: it is not one of our credentials.")
            )
        text = upload.decode("utf-8", errors="replace")
    text = (text or "").strip()
    if not text:
        raise Unreadable(gettext("Paste a credential or choose a file."))
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as bad:  # nested past the parser's depth too
            raise Unreadable(NOT_JSON_NOR_JWT) from bad
        if not isinstance(data, dict):
            raise Unreadable(NOT_JSON_NOR_JWT)
        enveloped = str(data.get("id", ""))
        if enveloped.startswith("data:"):
            text = enveloped
        elif "proof" in data:
            raise Unreadable(OTHER_PROOF)
        else:
            raise Unreadable(UNSIGNED_JSON)
    prefix = "data:application/vc+jwt,"
    if text.startswith(prefix):
        text = text[len(prefix) :]
    # A JWT has no spaces: line breaks, quotes (curly ones from a word processor), a byte
    # order mark or zero-width spaces come from copying it out of a mail or a document.
    text = "".join(ch for ch in text if not ch.isspace() and ch not in INVISIBLE)
    text = text.strip("\"'\u201c\u201d\u2018\u2019")
    if text.count(".") != 2:
        raise Unreadable(NOT_JSON_NOR_JWT)
    return text


@dataclass
class Checked:
    """The outcome of checking a credential: each check and what the credential says."""

    signature_ok: bool = False
    problems: list[str] = field(default_factory=list)
    achievement: str = ""
    issuer: str = ""
    subject_name: str = ""
    subject_did: str = ""
    valid_from: str = ""
    valid_until: str = ""
    dates_ok: bool = False
    revoked: bool | None = None
    suspended: bool | None = None
    recorded: bool = False
    verify_url: str = ""
    # The issuer's calendar, for a credential this site issued: its days are read there.
    time_zone: str = ""

    def _day(self, value: str) -> datetime.date | None:
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            return moment.date()
        return moment.astimezone(zones.zone(self.time_zone or "UTC")).date()

    @property
    def valid_from_day(self) -> datetime.date | None:
        return self._day(self.valid_from)

    @property
    def valid_until_day(self) -> datetime.date | None:
        return self._day(self.valid_until)

    @property
    def ok(self) -> bool:
        return (
            self.signature_ok
            and self.recorded
            and self.dates_ok
            and self.revoked is False
            and self.suspended is False
            and not self.problems
        )


def _day_text(checked: "Checked", timestamp: str) -> str:
    day = checked._day(timestamp)
    return formats.day(day) if day else timestamp


def _bit_published(entry: dict) -> bool:
    """The bit a status entry points at, read from our published, signed list."""
    purpose = entry.get("statusPurpose")
    if purpose not in documents.PURPOSES:
        raise ValueError(f"unknown status purpose {purpose!r}")
    url = str(entry.get("statusListCredential", ""))
    number = int(url.rstrip("/").rsplit("/", 1)[-1])
    if url != absolute_url("badges:status_list", purpose, number):
        raise ValueError("the status list is not this site's")
    opened = securing.open_signed(status_list_published(purpose, number))
    encoded = opened.document["credentialSubject"]["encodedList"]
    return bitstring.bit(bitstring.decode(encoded), int(entry["statusListIndex"]))


def _issued(credential_id: str) -> IssuedBadge | None:
    """The issued credential a `urn:uuid:` id names, if this site keeps it."""
    try:
        badge_id = uuid.UUID(credential_id.removeprefix("urn:uuid:"))
    except ValueError:
        return None
    return (
        IssuedBadge.objects.filter(badge_id=badge_id).select_related("credential__program").first()
    )


def credential_check(token: str, now: datetime.datetime | None = None) -> Checked:
    """Check a vc+jwt: our signature (any key we published, rotated ones included), the
    credential being one we issued and kept, its validity dates, and its two status bits read
    from our published status lists. Never raises on bad input: problems are listed."""
    now = now or timezone.now()
    checked = Checked()
    try:
        opened = securing.open_signed(token)
    except securing.NotOurs as refused:
        checked.problems.append(str(refused))
        return checked
    checked.signature_ok = True
    document = opened.document
    if "OpenBadgeCredential" not in (document.get("type") or []):
        checked.problems.append(gettext("The signed content is not an Open Badges credential."))
        return checked
    subject = document.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    checked.achievement = str(achievement.get("name", ""))
    checked.issuer = str((achievement.get("creator") or {}).get("name", ""))
    names = [
        i.get("identityHash")
        for i in subject.get("identifier") or []
        if i.get("identityType") == "name" and not i.get("hashed")
    ]
    checked.subject_name = str(names[0]) if names else ""
    checked.subject_did = str(subject.get("id", ""))
    badge = _issued(str(document.get("id", "")))
    if badge is not None and badge.credential is not None:
        checked.time_zone = badge.credential.program.time_zone
    checked.valid_from = str(document.get("validFrom", ""))
    checked.valid_until = str(document.get("validUntil", ""))
    moment = documents.timestamp(now)
    checked.dates_ok = checked.valid_from <= moment and (
        not checked.valid_until or moment <= checked.valid_until
    )
    if checked.valid_from > moment:
        checked.problems.append(
            gettext("Not valid yet: valid from {day}.").format(
                day=_day_text(checked, checked.valid_from)
            )
        )
    elif not checked.dates_ok:
        checked.problems.append(
            gettext("Expired: it was valid through {day}.").format(
                day=_day_text(checked, checked.valid_until)
            )
        )
    if badge is None or badge.jwt != token:
        checked.problems.append(gettext("This site has no record of issuing this credential."))
    elif badge.credential is None:
        checked.problems.append(gettext("The credential was deleted here: it is revoked."))
    else:
        checked.recorded = True
        checked.verify_url = absolute_url("credentials:verify", badge.credential.verification_code)
    try:
        for entry in document.get("credentialStatus") or []:
            published = _bit_published(entry)
            setattr(checked, FLAGS[entry["statusPurpose"]], published)
    except (ValueError, KeyError, TypeError, securing.NotOurs):
        checked.problems.append(
            gettext("Its status entries do not point at this site's status lists.")
        )
    if checked.revoked:
        checked.problems.append(gettext("Revoked: it is no longer valid."))
    if checked.suspended:
        checked.problems.append(
            gettext(
                "Suspended: it does not count as valid now (a term that ended without renewal, "
                "for one); it can be restored."
            )
        )
    if checked.revoked is None or checked.suspended is None:
        checked.problems.append(gettext("It has no status entry to check."))
    return checked
