"""Issuing Open Badges credentials and keeping their published status in step with the
credential: revoked by staff, suspended (PMI), in a grace period that is not valid, lapsed."""

import datetime
import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone

from credentials.models import Credential, Term, User
from credentials.selectors import Status, credential_status, today

from . import documents, securing
from .keys import signing_key
from .models import STATUS_LIST_SIZE, BadgeSubject, IssuedBadge

logger = logging.getLogger(__name__)

# A list takes new credentials until it is this full, so a bit never says much about who
# holds it (the specification's herd privacy); then the next list starts.
LIST_FILL = STATUS_LIST_SIZE // 2
NOT_VERIFIED = "{code} is not verified with its issuer yet: it gets an Open Badge once it is."
REVOKED = "{code} was revoked: it gets no new Open Badge."


class NotIssuable(ValueError):
    """The credential cannot get an Open Badge (not verified, revoked); the message says why."""


@dataclass(frozen=True)
class Bits:
    """The two status bits of one issued credential."""

    revoked: bool
    suspended: bool


def bits_for(credential: Credential, badge_term_id: int, on: datetime.date) -> Bits:
    """What the revocation and suspension bits of a credential issued for one term say on a
    day, by the issuer's rules (program data):

    - revocation: staff revoked the credential (every term's credential), or the term is the
      latest and it lapsed where the issuer makes lapse final (PMI: only re-examination
      restores it);
    - suspension: the term is the latest and the credential is after its end and not valid
      (PMI's one-year suspension, a grace period that does not count as valid), or lapsed
      where a late renewal can still restore it. Renewal clears it: the term is no longer the
      latest, and the new term gets its own credential.

    An earlier term's credential keeps both bits clear: it was good for its dates, which its
    validUntil states."""
    status = credential_status(credential, on)
    if status == Status.REVOKED:
        return Bits(revoked=True, suspended=False)
    terms = credential.terms.all()
    latest = max(terms, key=lambda term: term.sequence)
    if latest.pk != badge_term_id:
        return Bits(revoked=False, suspended=False)
    program = credential.program
    if status == Status.LAPSED:
        return Bits(revoked=program.lapse_is_final, suspended=not program.lapse_is_final)
    if status == Status.IN_GRACE and not program.valid_after_end:
        return Bits(revoked=False, suspended=True)
    return Bits(revoked=False, suspended=False)


def _list_to_fill() -> int:
    """The status list new credentials go in: one list per LIST_FILL credentials issued, read
    from the highest id (an index lookup, where counting a list's rows would read them all on
    every issue). Credentials deleted since leave their list a little emptier, never fuller."""
    last = IssuedBadge.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last // LIST_FILL + 1


def _subject_did(holder: User) -> str:
    return BadgeSubject.objects.filter(holder=holder).values_list("did", flat=True).first() or ""


def badge_issue(term: Term, *, on: datetime.date | None = None) -> IssuedBadge:
    """The Open Badges credential of a term for the holder as they are named now (their DID,
    else their email hash): the one issued before, or a new one signed now, at a random free
    bit of the status lists with the bits the credential's status gives today. Safe to call
    twice at once: one of them issues.

    Raises NotIssuable for an unverified or revoked credential, and keys.KeysMissing when the
    deployment has no signing key."""
    credential = (
        Credential.objects.select_related("holder", "program__issuer", "source_course")
        .prefetch_related("terms")
        .get(pk=term.credential_id)
    )
    if not credential.verified:
        raise NotIssuable(NOT_VERIFIED.format(code=credential.program.code))
    if credential.revoked_at is not None:
        raise NotIssuable(REVOKED.format(code=credential.program.code))
    subject_did = _subject_did(credential.holder)
    existing = IssuedBadge.objects.filter(term=term, subject_did=subject_did).first()
    if existing:
        return existing
    term = next(t for t in credential.terms.all() if t.pk == term.pk)
    key = signing_key()
    bits = bits_for(credential, term.pk, on or today())
    for _attempt in range(50):
        badge = IssuedBadge(
            credential=credential,
            term=term,
            subject_did=subject_did,
            key_id=key.kid,
            status_list=_list_to_fill(),
            status_index=secrets.randbelow(STATUS_LIST_SIZE),
            revoked=bits.revoked,
            suspended=bits.suspended,
        )
        document = documents.open_badge_credential(
            badge_urn=badge.urn,
            credential=credential,
            term=term,
            issued_at=badge.issued_at,
            subject_did=subject_did,
            salt=secrets.token_hex(16),
            list_number=badge.status_list,
            index=badge.status_index,
        )
        badge.jwt = securing.sign(document)
        try:
            with transaction.atomic():
                badge.save()
        except IntegrityError:
            # Another process issued this one first, or the random bit was taken: look again.
            existing = IssuedBadge.objects.filter(term=term, subject_did=subject_did).first()
            if existing:
                return existing
            continue
        return badge
    raise RuntimeError("No free status list bit found in 50 tries.")


def badge_current(credential: Credential) -> IssuedBadge:
    """The Open Badges credential of the credential's latest term (issued now if need be).
    Raises NotIssuable / keys.KeysMissing as badge_issue."""
    latest = max(credential.terms.all(), key=lambda term: term.sequence)
    return badge_issue(latest)


def status_refresh(
    *, on: datetime.date | None = None, credential_ids: list[int] | None = None
) -> int:
    """Set every issued credential's bits to what its credential's status says on `on`
    (today): the daily job for all, and at once for one credential when staff act on it.
    Returns how many credentials changed a bit. Queries: three per 2,000 credentials."""
    on = on or today()
    badges = IssuedBadge.objects.order_by("pk")
    if credential_ids is not None:
        badges = badges.filter(credential_id__in=credential_ids)
    changed = 0
    last_pk = 0
    while True:
        chunk = list(
            badges.filter(pk__gt=last_pk)
            .select_related("credential__program")
            .prefetch_related(Prefetch("credential__terms", queryset=Term.objects.all()))[:2000]
        )
        if not chunk:
            return changed
        last_pk = chunk[-1].pk
        now = timezone.now()
        updates = []
        for badge in chunk:
            bits = bits_for(badge.credential, badge.term_id, on)
            if (bits.revoked, bits.suspended) != (badge.revoked, badge.suspended):
                badge.revoked, badge.suspended = bits.revoked, bits.suspended
                badge.status_changed_at = now
                updates.append(badge)
        if updates:
            IssuedBadge.objects.bulk_update(
                updates, ["revoked", "suspended", "status_changed_at"], batch_size=500
            )
            changed += len(updates)
            logger.info("Open Badges status: %d credential(s) changed a bit", len(updates))


def badges_issue_missing(on: datetime.date | None = None) -> int:
    """Issue the credential of every verified, unrevoked credential's latest term that has
    none yet (credentials that rosters created in bulk, renewals whose issue failed).
    Returns how many were issued."""
    latest = Term.objects.filter(credential_id=OuterRef("credential_id")).order_by("-sequence")
    terms = (
        Term.objects.filter(
            credential__verified=True,
            credential__revoked_at__isnull=True,
            credential__holder__is_active=True,
            pk=Subquery(latest.values("pk")[:1]),
        )
        .exclude(badges__isnull=False)
        .only("pk", "credential_id")
    )
    issued = 0
    for term in terms.iterator(chunk_size=500):
        try:
            badge_issue(term, on=on)
        except NotIssuable:
            continue
        issued += 1
    return issued


def subject_set(*, holder: User, did: str) -> BadgeSubject:
    """The holder's DID for the credentials issued from now on ("" to be named by email hash).
    Credentials issued before keep the name they were issued with. Raises ValidationError on
    a DID that is not one."""
    subject, _ = BadgeSubject.objects.get_or_create(holder=holder)
    subject.did = (did or "").strip()
    subject.full_clean(exclude=["holder"])
    subject.save()
    return subject
