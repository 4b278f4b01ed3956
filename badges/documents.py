"""The JSON documents of Open Badges 3.0 (on the W3C Verifiable Credentials Data Model 2.0):
the credential for one term, the issuer's profile, an achievement, the did:web document and
the status list credential. Plain functions of the records; signing is `securing`'s."""

import datetime
import hashlib

from django.conf import settings

from credentials.models import Credential, Program, Term
from cspo_tracker import formats, zones
from cspo_tracker.links import absolute_url
from seu_ledger.selectors import units_required_on

from .securing import issuer_did, verification_method

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_CONTEXT = "https://www.w3.org/ns/did/v1"
JWS_2020_CONTEXT = "https://w3id.org/security/suites/jws-2020/v1"
PURPOSES = ("revocation", "suspension")


def timestamp(moment: datetime.datetime) -> str:
    """An XML Schema dateTime in UTC, to the second: 2026-11-30T18:00:00Z."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(day: datetime.date, time_zone: str = "") -> datetime.datetime:
    """The first moment of a day on the calendar where validity is decided: the program's
    issuer's time zone (Program.time_zone), the site's (TIME_ZONE) without one."""
    return datetime.datetime.combine(day, datetime.time.min, zones.zone(time_zone))


def day_end(day: datetime.date, time_zone: str = "") -> datetime.datetime:
    """The last second of a day on that calendar (see `day_start`)."""
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), zones.zone(time_zone))


def last_valid_day(program: Program, term: Term) -> datetime.date | None:
    """The last day a credential of this term counts as valid: the term's end, or the end of
    the grace period where the issuer keeps it valid then (Scrum Alliance); None for life."""
    if term.ends_on is None:
        return None
    if program.valid_after_end:
        return term.ends_on + datetime.timedelta(days=program.grace_days)
    return term.ends_on


def issuer_profile() -> dict:
    """The deployment as an OB3 Profile: who signs the credentials."""
    return {
        "id": issuer_did(),
        "type": ["Profile"],
        "name": settings.BADGE_ISSUER_NAME,
        "url": settings.SITE_URL,
    }


def criteria_text(program: Program, on: datetime.date) -> str:
    """What earning and keeping the certification takes, in words."""
    if program.is_lifetime:
        return f"Awarded by {program.issuer.name}; it never expires."
    units = units_required_on(program.pk, on)
    years = program.validity_months / 12
    period = (
        f"{int(years)} year{'s' if years != 1 else ''}"
        if years == int(years)
        else f"{program.validity_months} months"
    )
    keep = f"Valid for {period} from the course or the last renewal"
    if units:
        keep += f"; renewed with {formats.units(units)} {program.unit_name}"
        if program.fee_required:
            keep += " and the renewal fee"
    elif program.fee_required:
        keep += "; renewed with the renewal fee"
    course = (
        f"Earned by completing a {program.code} course of at least "
        f"{formats.units(program.min_course_hours)} hours. "
        if program.min_course_hours
        else f"Awarded by {program.issuer.name}. "
    )
    return course + keep + "."


def achievement(program: Program, on: datetime.date) -> dict:
    """The OB3 Achievement: the certification, created by its issuer (Scrum Alliance, PMI)."""
    return {
        "id": absolute_url("badges:achievement", program.code),
        "type": ["Achievement"],
        "achievementType": "Certification",
        "name": program.name,
        "humanCode": program.code,
        "description": f"{program.name} ({program.code}), a certification of "
        f"{program.issuer.name}.",
        "criteria": {"narrative": criteria_text(program, on)},
        "image": {
            "id": absolute_url("badges:achievement_image", program.code),
            "type": "Image",
        },
        "creator": issuer_profile_of(program.issuer),
    }


def identity_hash(address: str, salt: str) -> str:
    """OB3 `identityHash` of an email address: sha256$ and the hex digest of address + salt."""
    return "sha256$" + hashlib.sha256((address.strip().lower() + salt).encode()).hexdigest()


def evidence(credential: Credential) -> list[dict]:
    course = credential.source_course
    if course is None:
        return [
            {
                "type": ["Evidence"],
                "name": "Confirmed with the issuer",
                "description": f"Staff confirmed this {credential.program.code} with "
                f"{credential.program.issuer.name}.",
            }
        ]
    item = {
        "type": ["Evidence"],
        "name": course.title or f"{credential.program.code} course {course.code}",
        "description": f"Course {course.code}, {formats.units(course.hours)} hours, "
        f"{formats.day(course.start_date)} to {formats.day(course.end_date)}"
        + (f", trainer {course.trainer}" if course.trainer else "")
        + ".",
        "genre": "Course",
    }
    return [item]


def status_entries(list_number: int, index: int) -> list[dict]:
    """`credentialStatus`: the credential's bit in the revocation and the suspension list."""
    entries = []
    for purpose in PURPOSES:
        url = absolute_url("badges:status_list", purpose, list_number)
        entries.append(
            {
                "id": f"{url}#{index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": purpose,
                "statusListIndex": str(index),
                "statusListCredential": url,
            }
        )
    return entries


def issuer_profile_of(issuer) -> dict:
    """The OB3 Profile of a certifying body (Scrum Alliance, PMI): the achievements' creator."""
    profile = {
        "id": absolute_url("badges:issuer", issuer.code),
        "type": ["Profile"],
        "name": issuer.name,
    }
    if issuer.website:
        profile["url"] = issuer.website
    return profile


def open_badge_credential(
    *,
    badge_urn: str,
    credential: Credential,
    term: Term,
    subject_did: str,
    salt: str,
    list_number: int,
    index: int,
) -> dict:
    """The OpenBadgeCredential of one term: the holder (by DID, else by salted email hash,
    with their name) as credentialSubject, the achievement, validFrom/validUntil from the term
    (from the start of its first day through the end of its last valid day, in TIME_ZONE;
    no validUntil for life), awardedDate the day the certification was first earned, the
    course as evidence and the two status entries. With the JWT claims Open Badges 3.0 asks
    of a VC-JWT beside them: iss, jti, nbf, exp (with validUntil) and sub (with a DID)."""
    holder = credential.holder
    subject: dict = {"type": ["AchievementSubject"]}
    if subject_did:
        subject["id"] = subject_did
    identifiers = [
        {
            "type": "IdentityObject",
            "identityHash": identity_hash(holder.email, salt),
            "identityType": "emailAddress",
            "hashed": True,
            "salt": salt,
        }
    ]
    name = holder.get_full_name()
    if name:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": name,
                "identityType": "name",
                "hashed": False,
            }
        )
    subject["identifier"] = identifiers
    subject["achievement"] = achievement(credential.program, term.starts_on)
    first_earned = min(t.starts_on for t in credential.terms.all())
    where = credential.program.time_zone  # the issuer's calendar decides validity
    starts = day_start(term.starts_on, where)
    document = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": badge_urn,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{credential.program.name} ({credential.program.code})",
        "issuer": issuer_profile(),
        "validFrom": timestamp(starts),
        "awardedDate": timestamp(day_start(first_earned, where)),
        "credentialSubject": subject,
        "evidence": evidence(credential),
        "credentialStatus": status_entries(list_number, index),
    }
    last_day = last_valid_day(credential.program, term)
    if last_day is not None:
        document["validUntil"] = timestamp(day_end(last_day, where))
    document.update(jwt_claims(document))
    return document


# The JWT claims a VC-JWT carries beside the credential, each a copy of a credential member.
JWT_CLAIMS = ("iss", "jti", "nbf", "exp", "sub")


def jwt_claims(document: dict) -> dict:
    """iss, jti, nbf, exp and sub of a credential, from its issuer, id, validFrom, validUntil
    and credentialSubject.id."""
    claims = {
        "iss": document["issuer"]["id"]
        if isinstance(document["issuer"], dict)
        else document["issuer"]
    }
    claims["jti"] = document["id"]
    seconds = lambda text: int(datetime.datetime.fromisoformat(text).timestamp())  # noqa: E731
    claims["nbf"] = seconds(document["validFrom"])
    if "validUntil" in document:
        claims["exp"] = seconds(document["validUntil"])
    subject_id = (document.get("credentialSubject") or {}).get("id")
    if subject_id:
        claims["sub"] = subject_id
    return claims


def status_list_credential(
    *, purpose: str, list_number: int, encoded_list: str, now: datetime.datetime
) -> dict:
    """The BitstringStatusListCredential of one list and purpose."""
    url = absolute_url("badges:status_list", purpose, list_number)
    document = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did(),
        "validFrom": timestamp(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list,
        },
    }
    document.update(jwt_claims(document))
    return document


def did_document(public_keys: list[dict]) -> dict:
    """The did:web document: every published key, each an assertion method."""
    did = issuer_did()
    methods = [
        {
            "id": verification_method(key["kid"]),
            "type": "JsonWebKey2020",
            "controller": did,
            "publicKeyJwk": {k: v for k, v in key.items() if k not in ("use", "alg")},
        }
        for key in public_keys
    ]
    return {
        "@context": [DID_CONTEXT, JWS_2020_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }


def enveloped(token: str) -> dict:
    """The VCDM 2.0 JSON form of a JOSE-secured credential (EnvelopedVerifiableCredential)."""
    return {
        "@context": [VC_CONTEXT],
        "id": f"data:application/vc+jwt,{token}",
        "type": "EnvelopedVerifiableCredential",
    }
