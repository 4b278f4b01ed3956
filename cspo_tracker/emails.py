"""Templated email: every message has a plain-text and an HTML part."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from .locale import reading_as


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_render(*, template: str, context: dict, reader=None) -> RenderedEmail:
    """Render templates/emails/<template>_subject.txt, .txt and .html. Templates get `site_url`
    for absolute links. The email is in the reader's saved language and time zone (`reader`,
    else the context's "user" or "holder" account); without one saved, in the active language."""
    context = {"site_url": settings.SITE_URL, **context}
    reader = reader or context.get("user") or context.get("holder")
    with reading_as(reader):
        subject = render_to_string(f"emails/{template}_subject.txt", context)
        return RenderedEmail(
            subject=" ".join(subject.split()),
            text=render_to_string(f"emails/{template}.txt", context),
            html=render_to_string(f"emails/{template}.html", context),
        )


def email_send(
    *, to: str, template: str, context: dict, headers: dict | None = None, reply_to: str = ""
) -> None:
    """Render an email (see `email_render`) and send it to one address; replies go to
    `reply_to` when given."""
    email_deliver(
        to=to,
        rendered=email_render(template=template, context=context),
        headers=headers,
        reply_to=reply_to,
    )


def email_deliver(
    *, to: str, rendered: RenderedEmail, headers: dict | None = None, reply_to: str = ""
) -> None:
    """Send a rendered email (plain text with an HTML alternative) to one address."""
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers or {},
        reply_to=[reply_to] if reply_to else None,
    )
    message.attach_alternative(rendered.html, "text/html")
    message.send()


def message_id(key: str) -> str:
    """A Message-ID for `key` at this site's domain: every copy of one logical email gets the
    same one, so receiving mail systems keep one (RFC 5322 3.6.4)."""
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{key}@{domain}>"
