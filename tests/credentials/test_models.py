"""People sign in with an email address that is unique whatever its letter case."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from credentials.models import EMAIL_TAKEN, User

pytestmark = pytest.mark.django_db


def test_create_user_stores_the_email_trimmed_and_lower_case():
    user = User.objects.create_user("  Pat.Owner@Example.COM ", password="s3cret-pass-phrase")
    assert user.email == "pat.owner@example.com"
    assert user.check_password("s3cret-pass-phrase")
    assert not user.is_staff
    assert not user.is_superuser


def test_create_user_without_password_cannot_sign_in_yet():
    user = User.objects.create_user("invited@example.com")
    assert not user.has_usable_password()


def test_create_user_refuses_a_blank_email():
    with pytest.raises(ValidationError, match="Enter an email address"):
        User.objects.create_user("   ")


def test_create_superuser_is_staff_with_every_permission():
    user = User.objects.create_superuser("root@example.com", password="x")
    assert user.is_staff
    assert user.is_superuser


def test_create_superuser_refuses_is_superuser_false():
    with pytest.raises(ValueError, match="is_superuser=True"):
        User.objects.create_superuser("root@example.com", password="x", is_superuser=False)


def test_the_same_email_in_another_case_is_refused_by_validation():
    User.objects.create_user("pat@example.com")
    duplicate = User(email="PAT@example.com")
    with pytest.raises(ValidationError) as excinfo:
        duplicate.full_clean()
    assert EMAIL_TAKEN in str(excinfo.value)


def test_the_database_refuses_a_mixed_case_duplicate_written_around_save():
    User.objects.create_user("pat@example.com")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        # Raw SQL, as a careless bulk write would: the functional unique index still holds.
        cursor.execute(
            f"INSERT INTO {User._meta.db_table} "
            "(email, password, first_name, last_name, is_staff, is_active, is_superuser, "
            "date_joined) VALUES (%s, '', '', '', false, true, false, CURRENT_TIMESTAMP)",
            ["Pat@Example.com"],
        )


def test_lookup_by_natural_key_ignores_case():
    user = User.objects.create_user("pat@example.com")
    assert User.objects.get_by_natural_key("PAT@EXAMPLE.COM ") == user


@pytest.mark.parametrize(
    ("first", "last", "full", "short"),
    [("Pat", "Owner", "Pat Owner", "Pat"), ("", "", "pat@example.com", "pat@example.com")],
)
def test_names_fall_back_to_the_email(first, last, full, short):
    user = User(email="pat@example.com", first_name=first, last_name=last)
    assert user.get_full_name() == full
    assert user.get_short_name() == short
    assert str(user) == "pat@example.com"
