"""The certification rules, case by case: one row, one dated scenario and what must hold.

Each case runs a few steps (issue, log, pay, void, renew) on a fresh database with "today"
frozen, then checks one fact. Categories: "sa:" is Scrum Alliance, "pmi:" is PMI.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from credentials.models import Credential, Membership
from credentials.selectors import credential_status, credential_valid_through, renewal_group
from credentials.services import credential_claim, credential_issue
from seu_ledger.models import Entry
from seu_ledger.selectors import group_balance, renewal_requirements
from seu_ledger.services import credential_renew, entry_log, entry_void, fee_record, fee_waive
from tests.factories import StaffFactory, UserFactory, category, program

D = Decimal
ISSUERS = {"sa": "scrum-alliance", "pmi": "pmi"}


def day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


@dataclass
class Case:
    name: str
    today: str
    steps: list[tuple] = field(default_factory=list)
    expect: tuple = ()

    def __str__(self):
        return self.name


class World:
    """Runs a case's steps for one holder."""

    def __init__(self):
        self.holder = UserFactory()
        self.staff = StaffFactory()
        self.entries: list[Entry] = []
        self.outcomes = []
        self.travellers = []

    def credential(self, code: str) -> Credential:
        return (
            Credential.objects.select_related("program__issuer")
            .prefetch_related("terms")
            .get(holder=self.holder, program__code=code)
        )

    def do_travel(self, to_day):
        """Move "today" forward, for scenarios that span years."""
        traveller = time_machine.travel(
            datetime.datetime.fromisoformat(f"{to_day}T12:00:00+00:00"), tick=False
        )
        traveller.start()
        self.travellers.append(traveller)
        _today[:] = [to_day]

    def run(self, step: tuple):
        action, *args = step
        getattr(self, f"do_{action}")(*args)

    def do_issue(self, code, issued_on):
        credential_issue(holder=self.holder, program=program(code), issued_on=day(issued_on))

    def do_log(self, activity_date, cat, hours):
        prefix, code = cat.split(":")
        self.entries.append(
            entry_log(
                holder=self.holder,
                activity_date=day(activity_date),
                category=category(f"{ISSUERS[prefix]}:{code}"),
                title=f"Activity {len(self.entries) + 1}",
                hours=D(hours),
            )
        )

    def do_void(self, index):
        entry_void(entry=self.entries[index], reason="Logged twice by mistake")

    def do_claim(self, code, issued_on):
        credential_claim(
            holder=self.holder,
            program=program(code),
            issued_on=day(issued_on),
            certificate_number="000-123",
        )

    def do_pay(self, code):
        fee_record(credential=self.credential(code), recorded_by=self.staff, reference="R-1")

    def do_waive(self, code):
        fee_waive(credential=self.credential(code), recorded_by=self.staff, reason="Hardship")

    def do_member(self, issuer_code):
        Membership.objects.create(
            holder=self.holder,
            issuer=program("PMI-ACP").issuer if issuer_code == "pmi" else None,
            member_id="M-1",
            is_paying_member=True,
        )

    def do_renew(self, code, on):
        credential = self.credential(code)
        term = credential.terms.order_by("-sequence").first()
        self.outcomes.append(credential_renew(credential=credential, term=term, on=day(on)))

    def do_renew_again(self, code, on):
        credential = self.credential(code)
        first_closed = credential.terms.get(sequence=1)
        self.outcomes.append(credential_renew(credential=credential, term=first_closed, on=day(on)))


def check(world: World, expect: tuple):
    kind, code, *args = expect
    if kind == "renew_refused":
        field_name, text = args
        with pytest.raises(ValidationError) as excinfo:
            world.do_renew(code, world_today())
        errors = excinfo.value.message_dict
        assert field_name in errors, errors
        assert any(text in message for message in errors[field_name]), errors
        return
    if kind == "log_refused":
        field_name, activity_date = args
        with pytest.raises(ValidationError) as excinfo:
            world.do_log(activity_date, "sa:learning", "1")
        assert field_name in excinfo.value.message_dict
        assert Entry.objects.filter(holder=world.holder).count() == len(world.entries)
        return
    credential = world.credential(code)
    if kind == "valid_through":
        (expected,) = args
        assert credential_valid_through(credential) == (day(expected) if expected else None)
    elif kind == "status":
        on, expected = args
        assert credential_status(credential, on=day(on)) == expected
    elif kind == "counted":
        (expected,) = args
        assert group_balance(renewal_group(credential)).counted == D(expected)
    elif kind == "missing":
        expected, category_missing = args
        balance = renewal_requirements(credential).balance
        assert balance.missing == D(expected)
        assert sorted(balance.missing_by_category.values()) == [D(x) for x in category_missing]
    elif kind == "required_and_fee":
        units, fee = args
        group = renewal_group(credential)
        assert (group.units_required, group.fee_amount) == (D(units), D(fee))
    elif kind == "group":
        (codes,) = args
        assert sorted(c.program.code for c in renewal_group(credential).credentials) == codes
    elif kind == "terms":
        (expected,) = args
        actual = [
            (t.starts_on.isoformat(), t.ends_on.isoformat() if t.ends_on else None)
            for t in credential.terms.order_by("sequence")
        ]
        assert actual == expected
    elif kind == "renewal_created":
        (flags,) = args
        assert [outcome.created for outcome in world.outcomes] == flags
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(f"unknown expectation {kind}")


_today: list[str] = []


def world_today() -> str:
    return _today[0]


# Three activities in June 2025 worth 20 SEU (the 8-a-day cap does not bite).
TWENTY_SEU_IN_JUNE_2025 = [
    ("log", "2025-06-01", "sa:learning", "8"),
    ("log", "2025-06-02", "sa:learning", "8"),
    ("log", "2025-06-03", "sa:learning", "4"),
]

CASES = [
    # --- Term ends: the same calendar date `validity` later, Feb 29 -> Feb 28 -------------
    Case(
        "CSPO issued Feb 29 ends Feb 28 two years on",
        "2024-03-01",
        [("issue", "CSPO", "2024-02-29")],
        ("valid_through", "CSPO", "2026-02-28"),
    ),
    Case(
        "PMI-ACP issued Feb 29 ends Feb 28 three years on",
        "2024-03-01",
        [("issue", "PMI-ACP", "2024-02-29")],
        ("valid_through", "PMI-ACP", "2027-02-28"),
    ),
    Case(
        "SAFe POPM issued Feb 29 ends Feb 28 next year",
        "2024-03-01",
        [("issue", "SAFe POPM", "2024-02-29")],
        ("valid_through", "SAFe POPM", "2025-02-28"),
    ),
    Case(
        "SAFe POPM issued Feb 28 of a common year stays on Feb 28 in a leap year",
        "2023-03-01",
        [("issue", "SAFe POPM", "2023-02-28")],
        ("valid_through", "SAFe POPM", "2024-02-28"),
    ),
    Case(
        "CSPO issued on New Year's Eve ends on New Year's Eve",
        "2025-01-02",
        [("issue", "CSPO", "2024-12-31")],
        ("valid_through", "CSPO", "2026-12-31"),
    ),
    Case(
        "CSPO issued on New Year's Day ends on New Year's Day",
        "2025-01-02",
        [("issue", "CSPO", "2025-01-01")],
        ("valid_through", "CSPO", "2027-01-01"),
    ),
    Case(
        "PSPO I is lifetime: no end date",
        "2020-01-02",
        [("issue", "PSPO I", "2020-01-01")],
        ("valid_through", "PSPO I", None),
    ),
    # --- Status on a day -------------------------------------------------------------------
    Case(
        "CSPO is active 91 days before the end",
        "2024-04-01",
        [("issue", "CSPO", "2024-03-15")],
        ("status", "CSPO", "2025-12-14", "active"),
    ),
    Case(
        "CSPO is expiring 90 days before the end",
        "2024-04-01",
        [("issue", "CSPO", "2024-03-15")],
        ("status", "CSPO", "2025-12-15", "expiring"),
    ),
    Case(
        "CSPO is expiring the day before the end",
        "2024-04-01",
        [("issue", "CSPO", "2024-03-15")],
        ("status", "CSPO", "2026-03-14", "expiring"),
    ),
    Case(
        "CSPO is still valid (expiring) on its end date",
        "2024-04-01",
        [("issue", "CSPO", "2024-03-15")],
        ("status", "CSPO", "2026-03-15", "expiring"),
    ),
    Case(
        "CSPO has no grace: lapsed the day after the end",
        "2024-04-01",
        [("issue", "CSPO", "2024-03-15")],
        ("status", "CSPO", "2026-03-16", "lapsed"),
    ),
    Case(
        "CSP-PO is in grace the day after the end",
        "2024-04-01",
        [("issue", "CSP-PO", "2024-03-15")],
        ("status", "CSP-PO", "2026-03-16", "in_grace"),
    ),
    Case(
        "CSP-PO is in grace on the 90th day after the end",
        "2024-04-01",
        [("issue", "CSP-PO", "2024-03-15")],
        ("status", "CSP-PO", "2026-06-13", "in_grace"),
    ),
    Case(
        "CSP-PO lapses the 91st day after the end",
        "2024-04-01",
        [("issue", "CSP-PO", "2024-03-15")],
        ("status", "CSP-PO", "2026-06-14", "lapsed"),
    ),
    Case(
        "A credential is not yet valid before its issue date",
        "2024-04-01",
        [("issue", "CSPO", "2024-03-15")],
        ("status", "CSPO", "2024-03-14", "not_yet_valid"),
    ),
    Case(
        "Lifetime PSPO I is active decades later",
        "2020-01-02",
        [("issue", "PSPO I", "2020-01-01")],
        ("status", "PSPO I", "2099-12-31", "active"),
    ),
    Case(
        "Feb 29 CSPO is expiring on Feb 28 and lapsed on Mar 1",
        "2024-03-01",
        [("issue", "CSPO", "2024-02-29")],
        ("status", "CSPO", "2026-03-01", "lapsed"),
    ),
    # --- The 8-per-day cap (Scrum Alliance) ------------------------------------------------
    Case(
        "10 hours on one day count as 8 SEU",
        "2025-01-01",
        [("issue", "CSPO", "2024-06-01"), ("log", "2024-07-01", "sa:learning", "10")],
        ("counted", "CSPO", "8"),
    ),
    Case(
        "5 + 5 hours on one day count as 8 SEU",
        "2025-01-01",
        [
            ("issue", "CSPO", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "5"),
            ("log", "2024-07-01", "sa:events", "5"),
        ],
        ("counted", "CSPO", "8"),
    ),
    Case(
        "5 + 5 hours on two days count as 10 SEU",
        "2025-01-01",
        [
            ("issue", "CSPO", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "5"),
            ("log", "2024-07-02", "sa:learning", "5"),
        ],
        ("counted", "CSPO", "10"),
    ),
    Case(
        "Quarter hours past the cap do not count",
        "2025-01-01",
        [
            ("issue", "CSPO", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "8"),
            ("log", "2024-07-01", "sa:other", "0.25"),
        ],
        ("counted", "CSPO", "8"),
    ),
    Case(
        "PMI has no daily cap",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2024-07-01", "pmi:education", "12")],
        ("counted", "PMI-ACP", "12"),
    ),
    # --- PMI category limits --------------------------------------------------------------
    Case(
        "PMI-ACP: Education 18 + Giving Back 12 completes 30 PDU",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:education", "18"),
            ("log", "2024-07-02", "pmi:giving-back", "12"),
        ],
        ("missing", "PMI-ACP", "0", []),
    ),
    Case(
        "PMI-ACP: Giving Back counts at most 12",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:giving-back", "20"),
            ("log", "2024-07-02", "pmi:education", "10"),
        ],
        ("counted", "PMI-ACP", "22"),
    ),
    Case(
        "PMI-ACP: Education below 18 is missing even with 30 PDU logged",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:giving-back", "20"),
            ("log", "2024-07-02", "pmi:education", "10"),
        ],
        ("missing", "PMI-ACP", "8", ["8"]),
    ),
    Case(
        "PMI-ACP: renewal refused naming the Education shortfall",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:giving-back", "12"),
            ("log", "2024-07-02", "pmi:education", "17.75"),
            ("log", "2024-07-03", "pmi:education", "0.25"),
            ("log", "2024-07-04", "pmi:giving-back", "1"),
            ("void", 2),
            ("pay", "PMI-ACP"),
        ],
        ("renew_refused", "PMI-ACP", "units", "0.25 more PDU of Education"),
    ),
    Case(
        "Scrum Alliance Learning counts as PMI Education",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "18"),
            ("log", "2024-07-02", "sa:volunteering", "12"),
        ],
        ("missing", "PMI-ACP", "0", []),
    ),
    Case(
        "Scrum Alliance 'Other' does not count for PMI",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2024-07-01", "sa:other", "5")],
        ("counted", "PMI-ACP", "0"),
    ),
    # --- The look-back window -------------------------------------------------------------
    Case(
        "An entry the day before the window does not count",
        "2026-04-01",
        [("issue", "CSPO", "2024-03-15"), ("log", "2024-03-14", "sa:learning", "4")],
        ("counted", "CSPO", "0"),
    ),
    Case(
        "An entry on the first day of the window counts",
        "2026-04-01",
        [("issue", "CSPO", "2024-03-15"), ("log", "2024-03-15", "sa:learning", "4")],
        ("counted", "CSPO", "4"),
    ),
    Case(
        "An entry on the end date counts",
        "2026-04-01",
        [("issue", "CSPO", "2024-03-15"), ("log", "2026-03-15", "sa:learning", "4")],
        ("counted", "CSPO", "4"),
    ),
    Case(
        "An entry after the end date does not count toward that term",
        "2026-04-01",
        [("issue", "CSP-PO", "2024-03-15"), ("log", "2026-03-16", "sa:learning", "4")],
        ("counted", "CSP-PO", "0"),
    ),
    Case(
        "An entry dated tomorrow is refused and nothing is stored",
        "2025-01-01",
        [("issue", "CSPO", "2024-06-01")],
        ("log_refused", "CSPO", "activity_date", "2025-01-02"),
    ),
    Case(
        "A voided entry no longer counts",
        "2025-01-01",
        [
            ("issue", "CSPO", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "8"),
            ("log", "2024-07-02", "sa:learning", "8"),
            ("void", 0),
        ],
        ("counted", "CSPO", "8"),
    ),
    # --- Renewal consumes entries: nothing counts twice, excess does not carry over ---------
    Case(
        "Entries used by a renewal do not count toward the next term",
        "2026-03-20",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("log", "2026-03-13", "sa:learning", "8"),
            ("log", "2026-03-14", "sa:learning", "8"),
            ("log", "2026-03-15", "sa:learning", "8"),
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
        ],
        ("counted", "CSPO", "0"),
    ),
    Case(
        "The excess over 20 SEU is consumed, not carried over",
        "2026-03-20",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("log", "2026-03-15", "sa:learning", "8"),
            ("log", "2025-03-14", "sa:learning", "8"),
            ("log", "2025-03-13", "sa:learning", "8"),
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-16"),
            ("log", "2026-03-18", "sa:learning", "3"),
        ],
        ("counted", "CSPO", "3"),
    ),
    Case(
        "Units used to renew a CSPO still count toward a PMI-ACP",
        "2026-03-20",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("issue", "PMI-ACP", "2024-03-15"),
            ("log", "2026-03-13", "sa:learning", "8"),
            ("log", "2026-03-14", "sa:learning", "8"),
            ("log", "2026-03-15", "sa:learning", "8"),
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
        ],
        ("counted", "PMI-ACP", "24"),
    ),
    # --- Several Scrum Alliance credentials ----------------------------------------------
    Case(
        "CSM + CSPO need 30 SEU and one US$100 fee",
        "2025-01-01",
        [("issue", "CSM", "2024-06-01"), ("issue", "CSPO", "2024-06-01")],
        ("required_and_fee", "CSPO", "30", "100"),
    ),
    Case(
        "CSP-SM + CSP-PO + CSD need 70 SEU and one US$250 fee",
        "2025-01-01",
        [
            ("issue", "CSD", "2024-06-01"),
            ("issue", "CSP-SM", "2024-06-01"),
            ("issue", "CSP-PO", "2024-06-01"),
        ],
        ("required_and_fee", "CSD", "70", "250"),
    ),
    Case(
        "CSM + A-CSM: one track renews with its top credential, 30 SEU, US$175",
        "2025-01-01",
        [("issue", "CSM", "2023-06-01"), ("issue", "A-CSM", "2024-06-01")],
        ("required_and_fee", "CSM", "30", "175"),
    ),
    Case(
        "Earning a CSPO aligns an active CSM to the CSPO's end",
        "2025-06-02",
        [("issue", "CSM", "2024-01-10"), ("issue", "CSPO", "2025-06-01")],
        ("valid_through", "CSM", "2027-06-01"),
    ),
    Case(
        "Aligned CSM and CSPO renew as one group",
        "2025-06-02",
        [("issue", "CSM", "2024-01-10"), ("issue", "CSPO", "2025-06-01")],
        ("group", "CSM", ["CSM", "CSPO"]),
    ),
    Case(
        "A lapsed CSM is not revived by a new CSPO",
        "2025-06-02",
        [("issue", "CSM", "2021-01-10"), ("issue", "CSPO", "2025-06-01")],
        ("valid_through", "CSM", "2023-01-10"),
    ),
    Case(
        "A PMI credential is never aligned to Scrum Alliance dates",
        "2025-06-02",
        [("issue", "PMI-ACP", "2024-01-10"), ("issue", "CSPO", "2025-06-01")],
        ("valid_through", "PMI-ACP", "2027-01-10"),
    ),
    Case(
        "CSM + CSPO renew together: both get the same next term",
        "2025-06-02",
        [
            ("issue", "CSM", "2024-01-10"),
            ("issue", "CSPO", "2025-06-01"),
            ("travel", "2027-06-01"),
            *[("log", f"2026-0{m}-01", "sa:learning", "8") for m in range(1, 5)],
            ("pay", "CSPO"),
            ("renew", "CSPO", "2027-06-01"),
        ],
        ("terms", "CSM", [("2024-01-10", "2027-06-01"), ("2027-06-01", "2029-06-01")]),
    ),
    Case(
        "A CSM already past its end is not aligned by a new CSPO",
        "2026-02-01",
        [("issue", "CSM", "2024-01-10"), ("issue", "CSPO", "2026-01-20")],
        ("valid_through", "CSM", "2026-01-10"),
    ),
    Case(
        "An unverified claim neither aligns nor joins the group",
        "2025-06-02",
        [("issue", "CSM", "2024-01-10"), ("claim", "CSD", "2025-06-01")],
        ("group", "CSM", ["CSM"]),
    ),
    # --- Renewal keeps the anniversary ------------------------------------------------------
    Case(
        "Renewing early starts the next term at the old end",
        "2025-12-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2025-12-01"),
        ],
        ("terms", "CSPO", [("2024-03-15", "2026-03-15"), ("2026-03-15", "2028-03-15")]),
    ),
    Case(
        "Renewing on the end date keeps the anniversary",
        "2026-03-15",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
        ],
        ("terms", "CSPO", [("2024-03-15", "2026-03-15"), ("2026-03-15", "2028-03-15")]),
    ),
    Case(
        "Renewing late, in grace, does not move the anniversary",
        "2026-05-01",
        [
            ("issue", "CSP-PO", "2024-03-15"),
            *[("log", f"2025-06-0{d}", "sa:learning", "8") for d in range(1, 6)],
            ("pay", "CSP-PO"),
            ("renew", "CSP-PO", "2026-05-01"),
        ],
        ("terms", "CSP-PO", [("2024-03-15", "2026-03-15"), ("2026-03-15", "2028-03-15")]),
    ),
    Case(
        "A late renewal makes the credential active again",
        "2026-05-01",
        [
            ("issue", "CSP-PO", "2024-03-15"),
            *[("log", f"2025-06-0{d}", "sa:learning", "8") for d in range(1, 6)],
            ("pay", "CSP-PO"),
            ("renew", "CSP-PO", "2026-05-01"),
        ],
        ("status", "CSP-PO", "2026-05-01", "active"),
    ),
    Case(
        "A Feb 29 credential renews from Feb 28",
        "2026-02-28",
        [
            ("issue", "CSPO", "2024-02-29"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("waive", "CSPO"),
            ("renew", "CSPO", "2026-02-28"),
        ],
        ("terms", "CSPO", [("2024-02-29", "2026-02-28"), ("2026-02-28", "2028-02-28")]),
    ),
    Case(
        "Renewing the same term twice makes one new term",
        "2025-12-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2025-12-01"),
            ("renew_again", "CSPO", "2025-12-02"),
        ],
        ("terms", "CSPO", [("2024-03-15", "2026-03-15"), ("2026-03-15", "2028-03-15")]),
    ),
    Case(
        "The second renewal of a term reports it created nothing",
        "2025-12-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2025-12-01"),
            ("renew_again", "CSPO", "2025-12-02"),
        ],
        ("renewal_created", "CSPO", [True, False]),
    ),
    # --- Refusals name what is missing ------------------------------------------------------
    Case(
        "Renewal refused naming the SEU shortfall",
        "2025-12-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("log", "2025-06-01", "sa:learning", "8"),
            ("log", "2025-06-02", "sa:learning", "2"),
            ("pay", "CSPO"),
        ],
        ("renew_refused", "CSPO", "units", "10 more SEU needed: 20 required, 10 counted"),
    ),
    Case(
        "Renewal refused naming the unpaid fee",
        "2025-12-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
        ],
        ("renew_refused", "CSPO", "fee", "fee of US$100 has not been paid"),
    ),
    Case(
        "Renewal refused for a term that ended more than a term ago",
        "2026-04-01",
        [
            ("issue", "CSPO", "2022-03-01"),
            ("log", "2024-01-01", "sa:learning", "8"),
            ("log", "2024-01-02", "sa:learning", "8"),
            ("log", "2024-01-03", "sa:learning", "4"),
            ("pay", "CSPO"),
        ],
        ("renew_refused", "CSPO", "term", "ended on 2024-03-01"),
    ),
    Case(
        "A lifetime credential has nothing to renew",
        "2025-01-01",
        [("issue", "PSPO I", "2020-01-01")],
        ("renew_refused", "PSPO I", "term", "never expires"),
    ),
    Case(
        "A PMI member pays the member fee",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("member", "pmi")],
        ("required_and_fee", "PMI-ACP", "30", "60"),
    ),
    Case(
        "A PMI non-member pays the full fee",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01")],
        ("required_and_fee", "PMI-ACP", "30", "150"),
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule(case: Case):
    _today[:] = [case.today]
    with time_machine.travel(
        datetime.datetime.fromisoformat(f"{case.today}T12:00:00+00:00"), tick=False
    ):
        world = World()
        try:
            for step in case.steps:
                world.run(step)
            check(world, case.expect)
        finally:
            for traveller in reversed(world.travellers):
                traveller.stop()


def test_the_table_has_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)
