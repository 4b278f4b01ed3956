"""The certification rules, case by case: one row, one dated scenario and what must hold.

Each case runs a few steps (issue, log, pay, void, renew, new rules) on a fresh database with
"today" frozen, then checks one fact. Categories: "sa:" is Scrum Alliance, "pmi:" is PMI
(with its nested categories: "pmi:ways-of-working", "pmi:power-skills", "pmi:business-acumen"
inside Education; "pmi:working-as-practitioner", "pmi:volunteering", "pmi:creating-knowledge"
inside Giving Back).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from credentials.models import Course, Credential, Membership
from credentials.selectors import (
    credential_is_valid,
    credential_status,
    credential_status_label,
    credential_valid_through,
    renewal_group,
)
from credentials.services import attendance_record, credential_claim, credential_issue
from seu_ledger.models import CarriedUnits, Entry, Renewal, RuleVersion
from seu_ledger.selectors import (
    entry_outcomes,
    group_balance,
    holder_ledger,
    renewal_requirements,
)
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

    def do_log(self, activity_date, cat, hours, split=None):
        self.entries.append(
            entry_log(
                holder=self.holder,
                activity_date=day(activity_date),
                category=table_category(cat),
                title=f"Activity {len(self.entries) + 1}",
                hours=D(hours),
                allocations=[(table_category(c), D(h)) for c, h in (split or {}).items()],
            )
        )

    def do_course(self, code, start, end, hours):
        course = Course.objects.create(
            code=f"C-{code}-{start}",
            program=program(code),
            start_date=day(start),
            end_date=day(end),
            hours=D(hours),
        )
        attendance_record(
            holder=self.holder, course=course, hours_attended=D(hours), completed=True
        )

    def do_rules(self, code, effective_from, running, changes):
        """Staff record a new rule version (the latest one's rules, with `changes`)."""
        latest = RuleVersion.objects.filter(program__code=code).order_by("effective_from").last()
        limits = list(latest.limits.all())
        latest.pk = None
        latest.effective_from = day(effective_from)
        latest.applies_to_running_terms = running
        for name, value in changes.items():
            setattr(latest, name, value)
        latest.save()
        for limit in limits:
            limit.pk = None
            limit.rule_version = latest
            limit.save()

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
    if kind == "split_refused":
        activity_date, cat, hours, split, text = args
        with pytest.raises(ValidationError) as excinfo:
            world.do_log(activity_date, cat, hours, split)
        assert any(text in m for m in excinfo.value.message_dict["allocations"])
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
        requirements = renewal_requirements(credential)
        assert (requirements.balance.required, requirements.group.fee_amount) == (D(units), D(fee))
    elif kind == "required":
        (units,) = args
        assert renewal_requirements(credential).balance.required == D(units)
    elif kind == "category_counted":
        cat, units = args
        balance = renewal_requirements(credential).balance
        assert balance.by_category.get(table_category(cat).pk, D(0)) == D(units)
    elif kind == "why":
        which, counted, reasons = args
        ledger = holder_ledger(world.holder.pk)
        group = ledger.group_of(credential.pk)
        ids = (
            [e.pk for e in Entry.objects.filter(holder=world.holder, source_course__isnull=False)]
            if which == "course"
            else [world.entries[which].pk]
        )
        outcomes = entry_outcomes(ledger)
        counts = [o.count for pk in ids for o in outcomes[pk] if o.group.top.pk == group.top.pk]
        assert sum((c.counted for c in counts), D(0)) == D(counted), counts
        found: dict[str, D] = {}
        for count in counts:
            for item in count.not_counted:
                found[item.reason.value] = found.get(item.reason.value, D(0)) + item.units
        assert found == {reason: D(units) for reason, units in reasons}, counts
    elif kind == "carried":
        (units,) = args
        renewal = Renewal.objects.filter(closed_term__credential=credential).first()
        carried = CarriedUnits.objects.filter(renewal=renewal)
        assert sum((c.units for c in carried), D(0)) == D(units)
    elif kind == "status_label":
        on, label = args
        assert credential_status_label(credential, on=day(on)) == label
    elif kind == "valid":
        on, expected = args
        assert credential_is_valid(credential, on=day(on)) is expected
    elif kind == "judged_by":
        (effective_from,) = args
        renewal = Renewal.objects.filter(closed_term__credential=credential).first()
        version = renewal.rule_version if renewal else renewal_requirements(credential).version
        assert version.effective_from == day(effective_from)
    elif kind == "renewal_record":
        counted, required = args
        renewal = Renewal.objects.filter(closed_term__credential=credential).first()
        assert (renewal.units_counted, renewal.units_required) == (D(counted), D(required))
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


def table_category(cat: str):
    prefix, code = cat.split(":")
    return category(f"{ISSUERS[prefix]}:{code}")


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
        "PMI-ACP: Education 18 with 6 in each skill area + Giving Back 12 completes 30 PDU",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:ways-of-working", "6"),
            ("log", "2024-07-02", "pmi:power-skills", "6"),
            ("log", "2024-07-03", "pmi:business-acumen", "6"),
            ("log", "2024-07-04", "pmi:volunteering", "12"),
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
        # Education 8 short, and its three skill areas 4 each: 12 in all, never counted twice.
        ("missing", "PMI-ACP", "12", ["4", "4", "4", "8"]),
    ),
    Case(
        "PMI-ACP: renewal refused naming the Education shortfall",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:giving-back", "12"),
            ("log", "2024-07-02", "pmi:ways-of-working", "9.75"),
            ("log", "2024-07-03", "pmi:power-skills", "4"),
            ("log", "2024-07-05", "pmi:business-acumen", "4"),
            ("log", "2024-07-06", "pmi:ways-of-working", "0.25"),
            ("log", "2024-07-04", "pmi:giving-back", "1"),
            ("void", 4),
            ("pay", "PMI-ACP"),
        ],
        ("renew_refused", "PMI-ACP", "units", "0.25 more PDU of Education"),
    ),
    Case(
        "Scrum Alliance Learning counts as PMI Ways of Working, so two skill areas stay short",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "18"),
            ("log", "2024-07-02", "sa:volunteering", "12"),
        ],
        ("missing", "PMI-ACP", "8", ["4", "4"]),
    ),
    Case(
        "Scrum Alliance 'Other' does not count for PMI",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2024-07-01", "sa:other", "5")],
        ("counted", "PMI-ACP", "0"),
    ),
    # --- The look-back window -------------------------------------------------------------
    Case(
        "An entry the day before the 30-month window does not count",
        "2026-03-01",
        [("issue", "CSPO", "2024-03-15"), ("log", "2023-09-14", "sa:learning", "4")],
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
        ("renew_refused", "CSPO", "term", "ended on 1 Mar 2024"),
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
    # === The rules to the letter (issue 13) ==================================================
    # --- PMI's Talent Triangle: Education and each skill area; Giving Back and practitioner --
    Case(
        "PMI-ACP: 18 Education in one skill area and 12 practitioner count 22, not 30",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:ways-of-working", "18"),
            ("log", "2024-07-02", "pmi:working-as-practitioner", "12"),
        ],
        ("counted", "PMI-ACP", "22"),
    ),
    Case(
        "PMI-ACP: 18 Education in one skill area asks 4 more in each of the other two",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:ways-of-working", "18"),
            ("log", "2024-07-02", "pmi:working-as-practitioner", "12"),
        ],
        ("missing", "PMI-ACP", "8", ["4", "4"]),
    ),
    Case(
        "PMI-ACP: the 18-in-one-area holder is refused, naming Power Skills",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:ways-of-working", "18"),
            ("log", "2024-07-02", "pmi:working-as-practitioner", "12"),
            ("pay", "PMI-ACP"),
        ],
        ("renew_refused", "PMI-ACP", "units", "4 more PDU of Power Skills needed (at least 4)"),
    ),
    Case(
        "PMI-ACP: working as a practitioner counts at most 4",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-02", "pmi:working-as-practitioner", "10"),
        ],
        ("counted", "PMI-ACP", "4"),
    ),
    Case(
        "PMI-ACP: Giving Back counts at most 12, whichever of its parts",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:working-as-practitioner", "4"),
            ("log", "2024-07-02", "pmi:volunteering", "6"),
            ("log", "2024-07-03", "pmi:creating-knowledge", "6"),
        ],
        ("counted", "PMI-ACP", "12"),
    ),
    Case(
        "PMI-ACP: a skill area 0.25 short is the only thing missing",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:ways-of-working", "7"),
            ("log", "2024-07-02", "pmi:power-skills", "7.25"),
            ("log", "2024-07-03", "pmi:business-acumen", "3.75"),
            ("log", "2024-07-04", "pmi:creating-knowledge", "12"),
        ],
        ("missing", "PMI-ACP", "0.25", ["0.25"]),
    ),
    Case(
        "PMP: 35 Education with 8 in each area and 25 Giving Back complete 60 PDU",
        "2025-01-01",
        [
            ("issue", "PMP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:ways-of-working", "19"),
            ("log", "2024-07-02", "pmi:power-skills", "8"),
            ("log", "2024-07-03", "pmi:business-acumen", "8"),
            ("log", "2024-07-04", "pmi:working-as-practitioner", "8"),
            ("log", "2024-07-05", "pmi:volunteering", "17"),
        ],
        ("missing", "PMP", "0", []),
    ),
    Case(
        "PMP: 60 PDU all in Ways of Working count but leave two areas 8 short",
        "2025-01-01",
        [("issue", "PMP", "2024-06-01"), ("log", "2024-07-01", "pmi:ways-of-working", "60")],
        ("missing", "PMP", "16", ["8", "8"]),
    ),
    Case(
        "PMP: Giving Back counts at most 25",
        "2025-01-01",
        [("issue", "PMP", "2024-06-01"), ("log", "2024-07-01", "pmi:volunteering", "30")],
        ("counted", "PMP", "25"),
    ),
    Case(
        "PMP: working as a practitioner counts at most 8",
        "2025-01-01",
        [
            ("issue", "PMP", "2024-06-01"),
            ("log", "2024-07-01", "pmi:working-as-practitioner", "10"),
        ],
        ("counted", "PMP", "8"),
    ),
    Case(
        "CAPM: 15 PDU with 2 in each skill area are enough",
        "2025-01-01",
        [
            ("issue", "CAPM", "2024-06-01"),
            ("log", "2024-07-01", "pmi:ways-of-working", "3"),
            ("log", "2024-07-02", "pmi:power-skills", "3"),
            ("log", "2024-07-03", "pmi:business-acumen", "3"),
            ("log", "2024-07-04", "pmi:volunteering", "6"),
        ],
        ("missing", "CAPM", "0", []),
    ),
    Case(
        "CAPM: Giving Back counts at most 6 and practitioner at most 2",
        "2025-01-01",
        [
            ("issue", "CAPM", "2024-06-01"),
            ("log", "2024-07-01", "pmi:working-as-practitioner", "5"),
            ("log", "2024-07-02", "pmi:volunteering", "5"),
        ],
        ("counted", "CAPM", "6"),
    ),
    Case(
        "CAPM needs 15 PDU and PMP 60",
        "2025-01-01",
        [("issue", "CAPM", "2024-06-01")],
        ("required", "CAPM", "15"),
    ),
    Case(
        "An old PMI entry under Education counts toward Education but no skill area",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2024-07-01", "pmi:education", "18")],
        ("missing", "PMI-ACP", "12", ["4", "4", "4"]),
    ),
    # --- One activity, several skill areas ---------------------------------------------------
    Case(
        "A PMI activity split 3 Ways of Working + 5 Power Skills counts 5 in Power Skills",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            (
                "log",
                "2024-07-01",
                "pmi:ways-of-working",
                "8",
                {"pmi:ways-of-working": "3", "pmi:power-skills": "5"},
            ),
        ],
        ("category_counted", "PMI-ACP", "pmi:power-skills", "5"),
    ),
    Case(
        "A Scrum Alliance activity split for PMI still counts whole for the CSPO",
        "2025-01-01",
        [
            ("issue", "CSPO", "2024-06-01"),
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "8", {"pmi:business-acumen": "8"}),
        ],
        ("counted", "CSPO", "8"),
    ),
    Case(
        "...and for PMI it counts where the split put it",
        "2025-01-01",
        [
            ("issue", "CSPO", "2024-06-01"),
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "8", {"pmi:business-acumen": "8"}),
        ],
        ("category_counted", "PMI-ACP", "pmi:business-acumen", "8"),
    ),
    Case(
        "Without a split, Scrum Alliance Learning counts whole under Ways of Working",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2024-07-01", "sa:learning", "8")],
        ("category_counted", "PMI-ACP", "pmi:ways-of-working", "8"),
    ),
    Case(
        "A split that does not add up to the hours is refused and nothing is stored",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01")],
        (
            "split_refused",
            "PMI-ACP",
            "2024-07-01",
            "pmi:ways-of-working",
            "8",
            {"pmi:ways-of-working": "3", "pmi:power-skills": "4"},
            "add up to 7",
        ),
    ),
    # --- Why each unit counts, or not --------------------------------------------------------
    Case(
        "Why: 10 SEU in one day count 8, 2 over the daily cap",
        "2025-01-01",
        [("issue", "CSPO", "2024-06-01"), ("log", "2024-07-01", "sa:learning", "10")],
        ("why", "CSPO", 0, "8", [("daily_cap", "2")]),
    ),
    Case(
        "Why: 14 Giving Back count 12, 2 over the category maximum",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2024-07-01", "pmi:volunteering", "14")],
        ("why", "PMI-ACP", 0, "12", [("category_max", "2")]),
    ),
    Case(
        "Why: the later Giving Back entry is the one over the maximum",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2024-08-01", "pmi:volunteering", "10"),
            ("log", "2024-07-01", "pmi:volunteering", "10"),
        ],
        ("why", "PMI-ACP", 0, "2", [("category_max", "8")]),
    ),
    Case(
        "Why: an activity dated before the window",
        "2026-03-01",
        [("issue", "CSPO", "2024-03-15"), ("log", "2023-09-14", "sa:learning", "4")],
        ("why", "CSPO", 0, "0", [("outside_window", "4")]),
    ),
    Case(
        "Why: an activity dated after the term's end (CSP grace)",
        "2026-04-01",
        [("issue", "CSP-PO", "2024-03-15"), ("log", "2026-03-16", "sa:learning", "4")],
        ("why", "CSP-PO", 0, "0", [("after_end", "4")]),
    ),
    Case(
        "Why: an activity a renewal already used",
        "2026-03-20",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
        ],
        ("why", "CSPO", 0, "0", [("consumed", "8")]),
    ),
    Case(
        "Why: the course hours that earned the credential",
        "2025-03-10",
        [("course", "CSPO", "2025-03-03", "2025-03-04", "16")],
        ("why", "CSPO", "course", "0", [("earning_course", "16")]),
    ),
    Case(
        "Why: a voided activity",
        "2025-01-01",
        [
            ("issue", "CSPO", "2024-06-01"),
            ("log", "2024-07-01", "sa:learning", "4"),
            ("void", 0),
        ],
        ("why", "CSPO", 0, "0", [("voided", "4")]),
    ),
    Case(
        "Why: a category the issuer does not recognise",
        "2025-01-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2024-07-01", "sa:other", "5")],
        ("why", "PMI-ACP", 0, "0", [("not_recognised", "5")]),
    ),
    Case(
        "Why: a split activity over a maximum in one part counts the rest",
        "2025-01-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            (
                "log",
                "2024-07-01",
                "pmi:ways-of-working",
                "8",
                {"pmi:ways-of-working": "2", "pmi:working-as-practitioner": "6"},
            ),
        ],
        ("why", "PMI-ACP", 0, "6", [("category_max", "2")]),
    ),
    # --- Carry-over (PMI): the last year's extra PDUs, up to the cap -------------------------
    Case(
        "PMI-ACP: 15 extra PDU of the last year carry over 10",
        "2027-06-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "6"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("log", "2026-07-01", "pmi:ways-of-working", "15"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-06-01"),
        ],
        ("carried", "PMI-ACP", "10"),
    ),
    Case(
        "PMI-ACP: the renewal records the 30 it used, not the 10 carried",
        "2027-06-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "6"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("log", "2026-07-01", "pmi:ways-of-working", "15"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-06-01"),
        ],
        ("renewal_record", "PMI-ACP", "35", "30"),
    ),
    Case(
        "PMI-ACP: carried PDUs count toward the next cycle",
        "2027-06-02",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "6"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("log", "2026-07-01", "pmi:ways-of-working", "15"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-06-01"),
        ],
        ("counted", "PMI-ACP", "10"),
    ),
    Case(
        "PMI-ACP: extra PDUs earned before the last year do not carry over",
        "2027-06-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "21"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-06-01"),
        ],
        ("carried", "PMI-ACP", "0"),
    ),
    Case(
        "PMI-ACP: carry-over never takes a skill area below its minimum",
        "2027-06-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-11", "pmi:power-skills", "4"),
            ("log", "2025-01-12", "pmi:business-acumen", "4"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("log", "2026-08-01", "pmi:power-skills", "4"),
            ("log", "2027-05-01", "pmi:ways-of-working", "6"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-06-01"),
        ],
        # 30 PDU over 30 needed: Ways of Working keeps its 4, Education its 18.
        ("carried", "PMI-ACP", "0"),
    ),
    Case(
        "PMI-ACP: only what is beyond every minimum carries over",
        "2027-06-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-11", "pmi:power-skills", "4"),
            ("log", "2025-01-12", "pmi:business-acumen", "4"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("log", "2026-08-01", "pmi:power-skills", "10"),
            ("log", "2027-05-01", "pmi:ways-of-working", "6"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-06-01"),
        ],
        # 36 PDU, 6 extra: 2 of Ways of Working (6 - 4) and 4 of Power Skills.
        ("carried", "PMI-ACP", "6"),
    ),
    Case(
        "PMP: carry-over stops at 20",
        "2027-06-01",
        [
            ("issue", "PMP", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "19"),
            ("log", "2025-01-11", "pmi:power-skills", "8"),
            ("log", "2025-01-12", "pmi:business-acumen", "8"),
            ("log", "2025-01-13", "pmi:volunteering", "25"),
            ("log", "2026-07-01", "pmi:power-skills", "30"),
            ("waive", "PMP"),
            ("renew", "PMP", "2027-06-01"),
        ],
        ("carried", "PMP", "20"),
    ),
    Case(
        "CAPM: carry-over stops at 5",
        "2027-06-01",
        [
            ("issue", "CAPM", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "3"),
            ("log", "2025-01-11", "pmi:power-skills", "3"),
            ("log", "2025-01-12", "pmi:business-acumen", "3"),
            ("log", "2025-01-13", "pmi:volunteering", "6"),
            ("log", "2026-07-01", "pmi:power-skills", "12"),
            ("waive", "CAPM"),
            ("renew", "CAPM", "2027-06-01"),
        ],
        ("carried", "CAPM", "5"),
    ),
    Case(
        "Scrum Alliance: nothing carries over",
        "2026-03-15",
        [
            ("issue", "CSPO", "2024-03-15"),
            *[("log", f"2026-01-0{d}", "sa:learning", "8") for d in range(1, 6)],
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
        ],
        ("carried", "CSPO", "0"),
    ),
    Case(
        "Feb 29 cycle: the last year starts Mar 1, so Feb 28 does not carry",
        "2027-02-28",
        [
            ("issue", "PMI-ACP", "2024-02-29"),
            ("log", "2025-01-10", "pmi:ways-of-working", "6"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("log", "2026-02-28", "pmi:power-skills", "5"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-02-28"),
        ],
        ("carried", "PMI-ACP", "0"),
    ),
    Case(
        "Feb 29 cycle: Mar 1 of the year before the end carries",
        "2027-02-28",
        [
            ("issue", "PMI-ACP", "2024-02-29"),
            ("log", "2025-01-10", "pmi:ways-of-working", "6"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("log", "2026-03-01", "pmi:power-skills", "5"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-02-28"),
        ],
        ("carried", "PMI-ACP", "5"),
    ),
    Case(
        "New Year's Eve cycle: Jan 1 of the last year carries, Dec 31 before it does not",
        "2026-12-31",
        [
            ("issue", "PMI-ACP", "2023-12-31"),
            ("log", "2024-03-10", "pmi:ways-of-working", "6"),
            ("log", "2024-03-11", "pmi:power-skills", "6"),
            ("log", "2024-03-12", "pmi:business-acumen", "6"),
            ("log", "2024-03-13", "pmi:volunteering", "12"),
            ("log", "2025-12-31", "pmi:power-skills", "3"),
            ("log", "2026-01-01", "pmi:power-skills", "4"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2026-12-31"),
        ],
        ("carried", "PMI-ACP", "4"),
    ),
    # --- Suspension (PMI): a year, not valid, renewable with PDUs up to the renewal ----------
    Case(
        "PMI-ACP is suspended the day after its end",
        "2024-07-01",
        [("issue", "PMI-ACP", "2024-06-01")],
        ("status_label", "PMI-ACP", "2027-06-02", "Suspended"),
    ),
    Case(
        "A suspended PMI-ACP is not valid",
        "2024-07-01",
        [("issue", "PMI-ACP", "2024-06-01")],
        ("valid", "PMI-ACP", "2027-06-02", False),
    ),
    Case(
        "PMI-ACP is still valid on its last day",
        "2024-07-01",
        [("issue", "PMI-ACP", "2024-06-01")],
        ("valid", "PMI-ACP", "2027-06-01", True),
    ),
    Case(
        "PMI-ACP is suspended on the 365th day after its end",
        "2024-07-01",
        [("issue", "PMI-ACP", "2024-06-01")],
        ("status", "PMI-ACP", "2028-05-31", "in_grace"),
    ),
    Case(
        "PMI-ACP has expired on the 366th day after its end",
        "2024-07-01",
        [("issue", "PMI-ACP", "2024-06-01")],
        ("status", "PMI-ACP", "2028-06-01", "lapsed"),
    ),
    Case(
        "A Feb 29 PMI-ACP ends Feb 28 and is suspended through Feb 28 a year on",
        "2024-03-01",
        [("issue", "PMI-ACP", "2024-02-29")],
        ("status", "PMI-ACP", "2028-02-28", "in_grace"),
    ),
    Case(
        "A suspended PMI-ACP renews with PDUs dated during the suspension",
        "2027-09-01",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "6"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2027-08-01", "pmi:volunteering", "12"),
            ("pay", "PMI-ACP"),
            ("renew", "PMI-ACP", "2027-09-01"),
        ],
        ("terms", "PMI-ACP", [("2024-06-01", "2027-06-01"), ("2027-06-01", "2030-06-01")]),
    ),
    Case(
        "While valid, PDUs dated after the end do not count yet",
        "2027-05-01",
        [("issue", "PMI-ACP", "2024-06-01"), ("log", "2027-04-30", "pmi:volunteering", "3")],
        ("counted", "PMI-ACP", "3"),
    ),
    Case(
        "After the year of suspension, renewal is refused: only re-examination",
        "2028-06-02",
        [
            ("issue", "PMI-ACP", "2024-06-01"),
            ("log", "2025-01-10", "pmi:ways-of-working", "6"),
            ("log", "2025-01-11", "pmi:power-skills", "6"),
            ("log", "2025-01-12", "pmi:business-acumen", "6"),
            ("log", "2025-01-13", "pmi:volunteering", "12"),
            ("pay", "PMI-ACP"),
        ],
        ("renew_refused", "PMI-ACP", "term", "only by a new examination"),
    ),
    Case(
        "CSP grace stays 90 days, called grace, and valid",
        "2024-04-01",
        [("issue", "CSP-PO", "2024-03-15")],
        ("valid", "CSP-PO", "2026-06-13", True),
    ),
    Case(
        "CSP grace shows as In grace",
        "2024-04-01",
        [("issue", "CSP-PO", "2024-03-15")],
        ("status_label", "CSP-PO", "2026-03-16", "In grace"),
    ),
    # --- Scrum Alliance: 30 months before the expiration date --------------------------------
    Case(
        "CSPO: an SEU exactly 30 months before the end counts",
        "2026-03-01",
        [("issue", "CSPO", "2024-03-15"), ("log", "2023-09-15", "sa:learning", "4")],
        ("counted", "CSPO", "4"),
    ),
    Case(
        "Feb 29 CSPO: the window opens 30 months before Feb 28, on Aug 28",
        "2026-02-01",
        [("issue", "CSPO", "2024-02-29"), ("log", "2023-08-28", "sa:learning", "4")],
        ("counted", "CSPO", "4"),
    ),
    Case(
        "Feb 29 CSPO: Aug 27 is before the window",
        "2026-02-01",
        [("issue", "CSPO", "2024-02-29"), ("log", "2023-08-27", "sa:learning", "4")],
        ("counted", "CSPO", "0"),
    ),
    Case(
        "New Year's Eve CSPO: the window opens on Jun 30 thirty months before",
        "2026-12-01",
        [("issue", "CSPO", "2024-12-31"), ("log", "2024-06-30", "sa:learning", "4")],
        ("counted", "CSPO", "4"),
    ),
    Case(
        "New Year's Eve CSPO: Jun 29 is before the window",
        "2026-12-01",
        [("issue", "CSPO", "2024-12-31"), ("log", "2024-06-29", "sa:learning", "4")],
        ("counted", "CSPO", "0"),
    ),
    Case(
        "A renewal judged before 2025 kept Scrum Alliance's 24-month window",
        "2023-03-01",
        [
            ("issue", "CSPO", "2021-03-15"),
            ("log", "2020-10-01", "sa:learning", "8"),
            ("log", "2022-06-01", "sa:learning", "4"),
        ],
        ("counted", "CSPO", "4"),
    ),
    Case(
        "The 30-month window judges terms already running in 2025",
        "2025-01-02",
        [("issue", "CSPO", "2023-06-01"), ("log", "2023-02-01", "sa:learning", "4")],
        ("counted", "CSPO", "4"),
    ),
    # --- Rules that change over time ----------------------------------------------------------
    Case(
        "A term started before new rules is judged by the old ones",
        "2026-02-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("rules", "CSPO", "2026-01-01", False, {"units_required": D(25)}),
        ],
        ("required", "CSPO", "20"),
    ),
    Case(
        "A term starting on the new rules' date is judged by them",
        "2026-03-16",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
            ("rules", "CSPO", "2026-03-15", False, {"units_required": D(25)}),
        ],
        ("required", "CSPO", "25"),
    ),
    Case(
        "Rules marked for running terms judge a term already running",
        "2026-02-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("rules", "CSPO", "2026-01-01", True, {"units_required": D(25)}),
        ],
        ("required", "CSPO", "25"),
    ),
    Case(
        "Rules marked for running terms wait for their date",
        "2025-12-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("rules", "CSPO", "2026-01-01", True, {"units_required": D(25)}),
        ],
        ("required", "CSPO", "20"),
    ),
    Case(
        "Rules for running terms do not judge a term that ended before their date",
        "2026-04-01",
        [
            ("issue", "CSP-PO", "2024-03-15"),
            ("rules", "CSP-PO", "2026-03-20", True, {"units_required": D(45)}),
        ],
        ("required", "CSP-PO", "40"),
    ),
    Case(
        "A renewal records the rule version that judged it",
        "2026-03-15",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
        ],
        ("judged_by", "CSPO", "2025-01-01"),
    ),
    Case(
        "A completed renewal keeps its figures when the rules change later",
        "2026-03-20",
        [
            ("issue", "CSPO", "2024-03-15"),
            *TWENTY_SEU_IN_JUNE_2025,
            ("pay", "CSPO"),
            ("renew", "CSPO", "2026-03-15"),
            ("rules", "CSPO", "2026-03-16", True, {"units_required": D(25)}),
        ],
        ("renewal_record", "CSPO", "20", "20"),
    ),
    Case(
        "Rules recorded in reverse order judge the same way",
        "2026-02-01",
        [
            ("issue", "CSPO", "2024-03-15"),
            ("rules", "CSPO", "2026-01-15", True, {"units_required": D(30)}),
            ("rules", "CSPO", "2025-12-01", True, {"units_required": D(25)}),
        ],
        ("required", "CSPO", "30"),
    ),
    Case(
        "Combined CSM + CSPO under new running rules adds the new add-on",
        "2026-02-01",
        [
            ("issue", "CSM", "2024-06-01"),
            ("issue", "CSPO", "2024-06-01"),
            ("rules", "CSM", "2026-01-01", True, {"combined_addon_units": D(12)}),
        ],
        ("required", "CSPO", "32"),
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
    assert len(CASES) >= 120
    assert len({case.name for case in CASES}) == len(CASES)
