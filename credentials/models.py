"""People who hold credentials, and (in later migrations) what they hold."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

EMAIL_TAKEN = "Someone already signs in with this email address."


def normalize_email(email: str) -> str:
    """Return the one spelling of an address we store and compare: trimmed and lower-case."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        email = normalize_email(email)
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        """Create a person who signs in with `email`; no password means they cannot sign in yet."""
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        """Create staff with every permission (used by `createsuperuser`)."""
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not (extra_fields["is_staff"] and extra_fields["is_superuser"]):
            raise ValueError("A superuser needs is_staff=True and is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        """Sign-in looks people up by email in any letter case."""
        return self.get(email=normalize_email(email))


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in: a certification holder, a trainer or staff. The email is the login."""

    email = models.EmailField(
        "email address",
        unique=True,
        error_messages={"unique": EMAIL_TAKEN},
        help_text="Used to sign in; compared without regard to letter case.",
    )
    first_name = models.CharField("first name", max_length=150, blank=True)
    last_name = models.CharField("last name", max_length=150, blank=True)
    is_staff = models.BooleanField(
        "staff status",
        default=False,
        help_text="Can sign in to the staff pages and the admin.",
    )
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Unset this instead of deleting the account: records stay, sign-in stops.",
    )
    date_joined = models.DateTimeField("date joined", default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"
        ordering = ["email"]
        constraints = [
            # The column is stored lower-case by save(); this holds even for bulk writes.
            models.UniqueConstraint(
                Lower("email"),
                name="credentials_user_email_ci_unique",
                violation_error_message=EMAIL_TAKEN,
            ),
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        """First and last name, or the email address when no name is known."""
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email
