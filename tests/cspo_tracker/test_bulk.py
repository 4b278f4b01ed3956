"""The bulk plumbing imports rely on: many rows updated in one statement, many values in one
query parameter."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from credentials.models import Credential, Term, User
from cspo_tracker.bulk import many, update_rows
from tests.factories import UserFactory, program

pytestmark = pytest.mark.django_db
DAY = datetime.date(2025, 3, 4)


def terms(count: int) -> list[Term]:
    made = []
    for index in range(count):
        credential = Credential.objects.create(
            holder=UserFactory(), program=program("CSPO"), issued_on=DAY
        )
        made.append(
            Term.objects.create(
                credential=credential,
                sequence=1,
                starts_on=DAY,
                ends_on=DAY + datetime.timedelta(days=700 + index),
            )
        )
    return made


def test_update_rows_sets_the_given_columns_of_the_given_rows_only():
    first, second, untouched = terms(3)
    later = datetime.date(2027, 6, 30)
    assert (
        update_rows(
            Term,
            ["ends_on", "aligned_from"],
            [(first.pk, later, first.ends_on), (second.pk, later, None)],
        )
        == 2
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.ends_on, first.aligned_from) == (later, DAY + datetime.timedelta(days=700))
    assert (second.ends_on, second.aligned_from) == (later, None)
    assert Term.objects.get(pk=untouched.pk).ends_on == untouched.ends_on
    assert first.starts_on == DAY  # a column not named is left as it was


def test_many_finds_what_a_list_finds_and_nothing_costs_no_query():
    users = [UserFactory(email=f"m{n}@example.com") for n in range(3)]
    ids = {user.pk for user in users[:2]}
    assert set(User.objects.filter(pk__in=many(ids)).values_list("pk", flat=True)) == ids
    emails = ["m0@example.com", "m2@example.com", "nobody@example.com"]
    found = User.objects.filter(email__in=many(emails, of="text"))
    assert sorted(found.values_list("email", flat=True)) == emails[:2]
    assert set(User.objects.exclude(pk__in=many(set())).values_list("pk", flat=True)) >= ids
    with CaptureQueriesContext(connection) as queries:
        assert list(User.objects.filter(pk__in=many([]))) == []
    assert len(queries) == 0
