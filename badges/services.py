"""Issuing Open Badges credentials and keeping their published status in step with the
credential: revoked by staff, suspended (PMI), in a grace period that is not valid, lapsed."""

import contextlib
import datetime
import logging
import secrets
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from credentials.models import Credential, Program, Term, User
from credentials.selectors import Status, issuer_today, status_for_dates, today
from cspo_tracker.bulk import many

from . import documents, securing
from .keys import signing_key
from .models import STATUS_LIST_SIZE, BadgeSubject, IssuedBadge, validate_did
from .selectors import status_list_cache_keys

logger = logging.getLogger(__name__)

# Issued credentials read at a time by the status refresh.
REFRESH_CHUNK = 5000
# A list takes new credentials until it is this full, so a bit never says much about who
# holds it (the specification's herd privacy); then the next list starts.
LIST_FILL = STATUS_LIST_SIZE // 2
# Translators: {code} is a certification's code, such as CSPO.
NOT_VERIFIED = _("{code} is not verified with its issuer yet: it gets an Open Badge once it is.")
# Each change of DID issues the term's credential again: a bound on the rows (and status
# bits) one holder can make.
MAX_PER_TERM = 10
TOO_MANY = _(
    # Translators: {code} is a certification's code, such as CSPO; {count} is 10 or more.
    "{code} has had {count} credentials issued for this term, one for each DID you gave; "
    "write to us to have another issued."
)
# Translators: {code} is a certification's code, such as CSPO.
REVOKED = _("{code} was revoked: it gets no new Open Badge.")


class NotIssuable(ValueError):
    """The credential cannot get an Open Badge (not verified, revoked); the message says why."""


@dataclass(frozen=True)
class Bits:
    """The two status bits of one issued credential."""

    revoked: bool
    suspended: bool


@dataclass(frozen=True)
class TermDates:
    """A term as the status rule reads it."""

    pk: int
    sequence: int
    starts_on: datetime.date
    ends_on: datetime.date | None


def bits_on(
    *,
    program: Program,
    revoked_at: datetime.datetime | None,
    holder_active: bool,
    terms: list[TermDates],
    badge_term_id: int | None,
    on: datetime.date,
) -> Bits:
    """What the revocation and suspension bits of a credential issued for one term say on a
    day, by the issuer's rules (program data), from plain values:

    - revocation: staff revoked the credential (every term's credential), the credential or
      its term was deleted (no terms, no term id), or the term is the latest and it lapsed
      where the issuer makes lapse final (PMI: only re-examination restores it);
    - suspension: the holder's account is deactivated (every term's credential), or the term
      is the latest and the credential is after its end and not valid
      (PMI's one-year suspension, a grace period that does not count as valid), or lapsed
      where a late renewal can still restore it. Renewal clears it: the term is no longer the
      latest, and the new term gets its own credential.

    An earlier term's credential keeps both bits clear: it was good for its dates, which its
    validUntil states. (A revocation bit once set is never cleared: `status_refresh`.)"""
    if badge_term_id is None or not terms or revoked_at is not None:
        return Bits(revoked=True, suspended=False)
    if not holder_active:
        # A closed account: the site no longer vouches for it (its page answers 404) until
        # the account is reactivated.
        return Bits(revoked=False, suspended=True)
    latest = max(terms, key=lambda term: term.sequence)
    if latest.pk != badge_term_id:
        return Bits(revoked=False, suspended=False)
    status = status_for_dates(
        program=program,
        first_starts_on=min(term.starts_on for term in terms),
        valid_through=latest.ends_on,
        on=on,
    )
    if status == Status.LAPSED:
        return Bits(revoked=program.lapse_is_final, suspended=not program.lapse_is_final)
    if status == Status.IN_GRACE and not program.valid_after_end:
        return Bits(revoked=False, suspended=True)
    return Bits(revoked=False, suspended=False)


def bits_for(credential: Credential | None, badge_term_id: int | None, on: datetime.date) -> Bits:
    """`bits_on` for a credential with its program, holder and terms loaded (None: deleted)."""
    if credential is None:
        return Bits(revoked=True, suspended=False)
    return bits_on(
        program=credential.program,
        revoked_at=credential.revoked_at,
        holder_active=credential.holder.is_active,
        terms=[TermDates(t.pk, t.sequence, t.starts_on, t.ends_on) for t in credential.terms.all()],
        badge_term_id=badge_term_id,
        on=on,
    )


def status_lists_forget(lists) -> None:
    """Drop the cached signed status lists of these list numbers: their bits changed."""
    keys = [key for number in lists for key in status_list_cache_keys(number)]
    if keys:
        cache.delete_many(keys)


def _list_to_fill() -> int:
    """The status list new credentials go in: one list per LIST_FILL credentials issued, read
    from the highest id (an index lookup, where counting a list's rows would read them all on
    every issue). Credentials deleted since leave their list a little emptier, never fuller."""
    last = IssuedBadge.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last // LIST_FILL + 1


def _subject_did(holder: User) -> str:
    return BadgeSubject.objects.filter(holder=holder).values_list("did", flat=True).first() or ""


def term_on(credential: Credential, on: datetime.date) -> Term:
    """The term a credential runs on a day: the one whose dates hold it (the earlier of two
    that share a day), the first before any starts, the latest once all have ended."""
    terms = sorted(credential.terms.all(), key=lambda term: term.sequence)
    for term in terms:
        if term.ends_on is None or on <= term.ends_on:
            return term
    return terms[-1]


def _credential_for_issue(credential_id: int) -> Credential:
    return (
        Credential.objects.select_related("holder", "program__issuer", "source_course")
        .prefetch_related("terms")
        .get(pk=credential_id)
    )


def badge_issue(term: Term, *, on: datetime.date | None = None) -> IssuedBadge:
    """The Open Badges credential of a term for the holder as they are named now (their DID,
    else their email hash): the one issued before, or a new one signed now, at a random free
    bit of the status lists with the bits the credential's status gives today. Safe to call
    twice at once: one of them issues.

    Raises NotIssuable for an unverified or revoked credential, and keys.KeysMissing when the
    deployment has no signing key."""
    credential = _credential_for_issue(term.credential_id)
    if not credential.verified:
        raise NotIssuable(NOT_VERIFIED.format(code=credential.program.code))
    if credential.revoked_at is not None:
        raise NotIssuable(REVOKED.format(code=credential.program.code))
    subject_did = _subject_did(credential.holder)
    current = IssuedBadge.objects.filter(superseded_at__isnull=True)
    issued_for_term = list(IssuedBadge.objects.filter(term=term))
    existing = next(
        (b for b in issued_for_term if b.subject_did == subject_did and not b.superseded_at),
        None,
    )
    if existing:
        return existing
    term = next(t for t in credential.terms.all() if t.pk == term.pk)
    if len(issued_for_term) >= MAX_PER_TERM:
        raise NotIssuable(TOO_MANY.format(code=credential.program.code, count=len(issued_for_term)))
    key = signing_key()
    bits = bits_for(credential, term.pk, on or issuer_today(credential.program))
    for _attempt in range(50):
        badge = IssuedBadge(
            credential=credential,
            term=term,
            subject_did=subject_did,
            valid_from=term.starts_on,
            valid_until=documents.last_valid_day(credential.program, term),
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
            subject_did=subject_did,
            salt=secrets.token_hex(16),
            list_number=badge.status_list,
            index=badge.status_index,
        )
        badge.jwt = securing.sign(document, key)
        try:
            with transaction.atomic():
                badge.save()
            if bits.revoked or bits.suspended:
                status_lists_forget([badge.status_list])
        except IntegrityError:
            # Another process issued this one first, or the random bit was taken: look again.
            existing = current.filter(term=term, subject_did=subject_did).first()
            if existing:
                return existing
            continue
        return badge
    raise RuntimeError("No free status list bit found in 50 tries.")


def badge_current(credential: Credential, on: datetime.date | None = None) -> IssuedBadge:
    """The Open Badges credential of the term the credential runs today (after an early
    renewal, the ending term's until its last day), issued now if need be. Raises
    NotIssuable / keys.KeysMissing as badge_issue."""
    return badge_issue(term_on(credential, on or issuer_today(credential.program)), on=on)


def badges_supersede(*, term_id: int) -> int:
    """Staff corrected a term's dates: each credential issued for it with other dates is
    revoked (its dates are wrong) and marked superseded, and the holder's current one is
    issued anew with the dates as they are. Returns how many were superseded."""
    term = Term.objects.select_related("credential__program").filter(pk=term_id).first()
    if term is None:
        return 0
    valid_until = documents.last_valid_day(term.credential.program, term)
    stale = IssuedBadge.objects.filter(term=term, superseded_at__isnull=True).exclude(
        valid_from=term.starts_on, valid_until=valid_until
    )
    now = timezone.now()
    status_lists_forget(set(stale.values_list("status_list", flat=True)))
    count = stale.update(superseded_at=now, revoked=True, status_changed_at=now)
    if count:
        with contextlib.suppress(NotIssuable):
            badge_issue(term)
    return count


def status_refresh(
    *, on: datetime.date | None = None, credential_ids: list[int] | None = None
) -> int:
    """Set every issued credential's bits to what its credential's status says on `on`
    (today): the daily job for all, and at once for one credential when staff act on it.
    Returns how many credentials changed a bit. Queries: the programs, then two per 5,000
    credentials and an UPDATE per kind of change. Without `on`, each credential is judged on
    its issuer's current date (`issuer_today`), which is why the job runs every hour."""
    programs = {program.pk: program for program in Program.objects.all()}
    day_of = {pk: on or issuer_today(program) for pk, program in programs.items()}
    badges = IssuedBadge.objects.order_by("pk")
    if credential_ids is not None:
        badges = badges.filter(credential_id__in=credential_ids)
    changed = 0
    last_pk = 0
    while True:
        # Plain rows, not model instances: the daily job reads every issued credential.
        chunk = list(
            badges.filter(pk__gt=last_pk).values_list(
                "pk",
                "term_id",
                "revoked",
                "suspended",
                "status_list",
                "credential_id",
                "credential__program_id",
                "credential__revoked_at",
                "credential__holder__is_active",
            )[:REFRESH_CHUNK]
        )
        if not chunk:
            if changed:
                logger.info("Open Badges status: %d credential(s) changed a bit", changed)
            return changed
        last_pk = chunk[-1][0]
        terms_of: dict[int, list[TermDates]] = {}
        for credential_id, *dates in Term.objects.filter(
            credential_id__in=many({row[5] for row in chunk if row[5] is not None})
        ).values_list("credential_id", "pk", "sequence", "starts_on", "ends_on"):
            terms_of.setdefault(credential_id, []).append(TermDates(*dates))
        now = timezone.now()
        # The changed credentials by the bits they get: at most four UPDATEs a chunk.
        by_bits: dict[tuple[bool, bool], list[int]] = {}
        lists = set()
        for pk, term_id, was_revoked, was_suspended, status_list, credential_id, *rest in chunk:
            program_id, revoked_at, holder_active = rest
            bits = (
                Bits(revoked=True, suspended=False)
                if credential_id is None
                else bits_on(
                    program=programs[program_id],
                    revoked_at=revoked_at,
                    holder_active=holder_active,
                    terms=terms_of.get(credential_id, []),
                    badge_term_id=term_id,
                    on=day_of[program_id],
                )
            )
            # Revocation is final (the status list specification): a bit once set stays.
            revoked = was_revoked or bits.revoked
            if (revoked, bits.suspended) != (was_revoked, was_suspended):
                by_bits.setdefault((revoked, bits.suspended), []).append(pk)
                lists.add(status_list)
        for (revoked, suspended), pks in by_bits.items():
            IssuedBadge.objects.filter(pk__in=many(pks)).update(
                revoked=revoked, suspended=suspended, status_changed_at=now
            )
            changed += len(pks)
        status_lists_forget(lists)


# Credentials that ended longer ago than any issuer's days after the end are not issued in
# bulk (a holder who opens their share page still gets theirs).
BACKFILL_AFTER_END = datetime.timedelta(days=400)


def badges_issue_missing(on: datetime.date | None = None) -> int:
    """Issue the credential of every verified, unrevoked credential's latest term that has
    none yet (credentials that rosters created in bulk, renewals whose issue failed), leaving
    out those that ended long ago. Returns how many were issued."""
    on = on or today()
    latest = Term.objects.filter(credential_id=OuterRef("credential_id")).order_by("-sequence")
    terms = (
        Term.objects.filter(
            Q(ends_on__isnull=True) | Q(ends_on__gte=on - BACKFILL_AFTER_END),
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


def badges_revoke_deleted(*, credential_ids=(), term_ids=()) -> int:
    """A credential or term is being deleted: its Open Badges credentials are revoked at once
    (their rows stay, so their bits are never handed to another). Returns how many."""
    now = timezone.now()
    badges = IssuedBadge.objects.filter(
        Q(credential_id__in=credential_ids) | Q(term_id__in=term_ids), revoked=False
    )
    status_lists_forget(set(badges.values_list("status_list", flat=True)))
    return badges.update(revoked=True, suspended=False, status_changed_at=now)


def subject_set(*, holder: User, did: str) -> BadgeSubject:
    """The holder's DID for the credentials issued from now on ("" to be named by email hash).
    Credentials issued before keep the name they were issued with. Raises ValidationError on
    a DID that is not one."""
    did = (did or "").strip()
    limit = BadgeSubject._meta.get_field("did").max_length
    if len(did) > limit:
        raise ValidationError(
            {"did": [gettext("A DID here has at most {limit} characters.").format(limit=limit)]}
        )
    if did:
        try:
            validate_did(did)
        except ValidationError as refused:
            raise ValidationError({"did": refused.messages}) from refused
    subject, _ = BadgeSubject.objects.update_or_create(holder=holder, defaults={"did": did})
    return subject
