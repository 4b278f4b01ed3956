"""Holder pages of the ledger: dashboard, activities, history, renewal, transcripts.

Thin: every rule lives in services and selectors. Every object is looked up through the
signed-in holder, so someone else's id answers 404.
"""

import datetime
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from credentials.access import holder_required
from credentials.models import Credential, Term
from credentials.organisations import trained_by
from credentials.selectors import credential_current_term, reader_today
from cspo_tracker.locale import reading_as
from cspo_tracker.spreadsheets import export_response

from . import services
from .forms import EntryForm, FeeReferenceForm, HistoryFilterForm, VoidForm
from .models import Entry, Renewal
from .page_cache import cached_page, rules_moment
from .page_versions import rules_revision
from .reminders.selectors import holder_from_unsubscribe_token
from .reminders.services import reminders_resubscribe
from .reminders.services import reminders_unsubscribe as reminders_unsubscribe_service
from .selectors import (
    allocation_issuers,
    daily_cap_notes,
    dashboard_cards,
    default_category,
    entries_counting_toward,
    entries_of,
    entry_allocation_initial,
    entry_category_choices,
    entry_outcomes,
    history_categories,
    holder_ledger,
    holder_programs,
    outcome_lines,
    renewal_plan,
    renewal_siblings,
    term_running,
)
from .transcript import transcript_pdf


def _own_credential(request, pk) -> Credential:
    return get_object_or_404(
        Credential.objects.select_related("program__issuer").prefetch_related("terms"),
        pk=pk,
        holder=request.user,
    )


def _own_entry(request, pk) -> Entry:
    return get_object_or_404(
        Entry.objects.select_related("category__issuer", "source_course__program"),
        pk=pk,
        holder=request.user,
    )


@require_safe
@holder_required
def dashboard(request):
    """One card per credential (or group renewing together) with what to do next. Cached per
    holder and day until something it shows changes (`page_cache`)."""

    def render_page():
        # Each card on its issuer's date (the issuer's time zone decides validity).
        cards = dashboard_cards(request.user.pk, revision=rules_revision(request.user))
        # "Trained by" the organisation whose course issued a credential: one query for all.
        credentials = [c for card in cards for c in card.group.credentials]
        names = trained_by(c.pk for c in credentials)
        for credential in credentials:
            credential.trained_by = names.get(credential.pk, "")
        return render(request, "seu_ledger/dashboard.html", {"cards": cards})

    return cached_page(request, "dashboard", rules_moment(), render_page)


def _entry_saved_message(request, entry: Entry, created: bool) -> None:
    """Say what the saved activity (`created`: logged, else edited) actually counts toward, one
    sentence per renewal: the daily cap, a category maximum or the window may leave part or all
    of it out."""
    ledger = holder_ledger(entry.holder_id, rules_revision(request.user))
    outcomes = entry_outcomes(ledger, entry_ids={entry.pk}).get(entry.pk, [])
    if not outcomes:
        if created:
            text = gettext(
                "Logged “{title}”. It counts toward no renewal: none of your credentials renews "
                "with units."
            )
        else:
            text = gettext(
                "Saved “{title}”. It counts toward no renewal: none of your credentials renews "
                "with units."
            )
        messages.warning(request, text.format(title=entry.title))
        return
    first, *others = [outcome.sentence for outcome in outcomes]
    if created:
        # Translators: {outcome} says what the activity counts toward ("all 8 hours count
        # toward CSPO").
        head = gettext("Logged “{title}”: {outcome}.")
    else:
        head = gettext("Saved “{title}”: {outcome}.")
    # Translators: one more sentence of what a saved activity counts toward, its first letter
    # made upper case.
    more = gettext("{outcome}.")
    text = " ".join(
        [head.format(title=entry.title, outcome=first)]
        + [more.format(outcome=f"{s[0].upper()}{s[1:]}") for s in others]
    )
    if any(outcome.count.counted > 0 for outcome in outcomes):
        messages.success(request, text)
    else:
        messages.warning(request, text)


def _entry_values(form: EntryForm) -> dict:
    values = {name: form.cleaned_data[name] for name in services.ENTRY_FIELDS if name != "evidence"}
    return {**values, **form.evidence_change(), "allocations": form.allocations()}


def _entry_form(
    request, *, initial: dict, entry: Entry | None = None, programs: list | None = None
) -> EntryForm:
    holder_id = request.user.pk
    revision = rules_revision(request.user)
    programs = holder_programs(holder_id, revision) if programs is None else programs
    return EntryForm(
        request.POST or None,
        request.FILES or None,
        initial=initial,
        holder_id=holder_id,
        categories=entry_category_choices(
            holder_id,
            programs=programs,
            revision=revision,
            current_id=entry.category_id if entry else None,
        ),
        allocation_issuers=allocation_issuers(holder_id, programs=programs, revision=revision),
        entry=entry,
        hours_notes=daily_cap_notes(holder_id, programs=programs, revision=revision),
    )


def _entry_form_page(
    request, form: EntryForm, heading: str, entry: Entry | None = None, dated_by=None
):
    if form.is_bound:
        form.keep_evidence()
    return render(
        request,
        "seu_ledger/entry_form.html",
        {"form": form, "heading": heading, "entry": entry, "dated_by": dated_by},
    )


def _course_record_page(request, entry: Entry):
    """Course hours come from the trainer's roster: a holder cannot change them here."""
    return render(
        request,
        "seu_ledger/entry_locked.html",
        {"entry": entry, "reason": services.course_record_refusal(entry)},
        status=403,
    )


@holder_required
def entry_create(request):
    """Log an activity; every error appears at once, listed above the form and next to its
    field."""
    dated_by = _dated_by(request)
    revision = rules_revision(request.user)
    programs = holder_programs(request.user.pk, revision)
    initial = {
        "activity_date": dated_by or reader_today(),
        "category": default_category(request.user.pk, programs=programs, revision=revision),
    }
    form = _entry_form(request, initial=initial, programs=programs)
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.entry_log(holder=request.user, **_entry_values(form))
        except ValidationError as error:
            form.add_service_error(error)
        else:
            form.evidence_saved()
            _entry_saved_message(request, entry, created=True)
            return redirect("ledger:dashboard")
    return _entry_form_page(request, form, gettext("Log an activity"), dated_by=dated_by)


def _dated_by(request):
    """The `dated_by` day a grace card links with (only activities dated on or before it count
    toward the renewal), or None when absent, malformed or not in the past."""
    try:
        day = datetime.date.fromisoformat(request.GET.get("dated_by", ""))
    except ValueError:
        return None
    return day if day < reader_today() else None


@holder_required
def entry_edit(request, pk):
    entry = _own_entry(request, pk)
    if entry.is_course_record:
        return _course_record_page(request, entry)
    initial = {name: getattr(entry, name) for name in services.ENTRY_FIELDS if name != "evidence"}
    initial.update(entry_allocation_initial(entry))
    form = _entry_form(request, initial=initial, entry=entry)
    if request.method == "POST" and form.is_valid():
        changes = {**_entry_values(form), "allocation_issuer_ids": form.allocation_issuer_ids()}
        try:
            entry = services.entry_edit(entry=entry, **changes)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            form.evidence_saved()
            _entry_saved_message(request, entry, created=False)
            return redirect("ledger:history")
    return _entry_form_page(request, form, gettext("Edit activity"), entry)


@holder_required
def entry_void(request, pk):
    entry = _own_entry(request, pk)
    if entry.is_course_record:
        return _course_record_page(request, entry)
    form = VoidForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.entry_void(entry=entry, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error("reason" if hasattr(error, "error_dict") else None, error)
        else:
            messages.success(
                request,
                gettext("Voided “{title}”. It stays in your history.").format(title=entry.title),
            )
            return redirect("ledger:history")
    return render(request, "seu_ledger/entry_void.html", {"form": form, "entry": entry})


@require_safe
@login_required
def entry_evidence(request, pk):
    """An evidence file, to its owner and to staff whose role may view ledger entries; never
    from a public media URL. Anyone else gets 404, as for a file that does not exist."""
    user = request.user
    may_view_all = user.is_staff and user.has_perm("seu_ledger.view_entry")
    entries = Entry.objects.all() if may_view_all else Entry.objects.filter(holder=user)
    entry = get_object_or_404(entries, pk=pk)
    if not entry.evidence:
        raise Http404("This entry has no evidence file.")
    content_type = mimetypes.guess_type(entry.evidence.name)[0] or "application/octet-stream"
    response = FileResponse(entry.evidence.open("rb"), content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{entry.evidence_filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _history_queryset(request, form: HistoryFilterForm, ledger=None):
    entries = entries_of(request.user.pk)
    if not form.is_valid():
        return entries
    data = form.cleaned_data
    if data.get("term"):
        term = get_object_or_404(Term, pk=data["term"], credential__holder=request.user)
        entries = entries.filter(pk__in=entries_counting_toward(term, ledger))
    if data.get("category"):
        entries = entries.filter(category=data["category"])
    if data.get("date_from"):
        entries = entries.filter(activity_date__gte=data["date_from"])
    if data.get("date_to"):
        entries = entries.filter(activity_date__lte=data["date_to"])
    return entries


def _holder_terms(request) -> list[Term]:
    return list(
        Term.objects.filter(credential__holder=request.user)
        .select_related("credential__program")
        .order_by("credential__program__code", "-sequence")
    )


HISTORY_PER_PAGE = 25


@require_safe
@holder_required
def history(request):
    """Every activity, voided ones included, filtered and paginated (25 a page, newest
    first); the page says how many there are and links to the others, filters kept. What
    counts is worked out for the whole ledger, and put in words for the rows shown."""
    form = HistoryFilterForm(
        request.GET or None,
        terms=_holder_terms(request),
        categories=history_categories(request.user.pk),
    )
    ledger = holder_ledger(request.user.pk)
    page = Paginator(_history_queryset(request, form, ledger), HISTORY_PER_PAGE).get_page(
        request.GET.get("page")
    )
    entries = list(page.object_list)
    outcomes = entry_outcomes(ledger, entry_ids={entry.pk for entry in entries})
    rows = [(entry, outcomes.get(entry.pk, [])) for entry in entries]
    query = request.GET.copy()
    query.pop("page", None)
    filtered = form.is_valid() and any(
        form.cleaned_data.get(name) for name in ("term", "category", "date_from", "date_to")
    )
    return render(
        request,
        "seu_ledger/history.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "filtered": filtered,
        },
    )


HISTORY_COLUMNS = (
    _("date"),
    _("issuer"),
    _("category"),
    _("title"),
    _("provider"),
    _("hours"),
    _("description"),
    _("voided"),
    _("void reason"),
    _("counted toward"),
    _("not counted, why"),
    _("recorded by"),
)


@require_safe
@holder_required
def history_export(request, file_format: str):
    """The filtered history as a CSV or XLSX download (`file_format` comes from the URL)."""
    form = HistoryFilterForm(
        request.GET or None,
        terms=_holder_terms(request),
        categories=history_categories(request.user.pk),
    )
    ledger = holder_ledger(request.user.pk)
    outcomes = entry_outcomes(ledger)
    yes, no = gettext("yes"), gettext("no")
    # Translators: who recorded an activity in the history export: a course's roster, or the
    # holder reading it.
    roster, you = gettext("course roster"), gettext("you")
    rows = (
        (
            entry.activity_date,
            entry.category.issuer.name,
            entry.category.name,
            entry.title,
            entry.provider,
            entry.hours,
            entry.description,
            yes if entry.is_voided else no,
            entry.void_reason,
            *outcome_lines(outcomes.get(entry.pk, [])),
            roster if entry.source_course_id else you,
        )
        for entry in _history_queryset(request, form, ledger).iterator()
    )
    return export_response(
        file_format,
        name="activities",
        header=[str(column) for column in HISTORY_COLUMNS],
        rows=rows,
        sheet_title=gettext("Activities"),
    )


def _renewal_plan(request, credential: Credential):
    try:
        return renewal_plan(request.user.pk, credential.pk)
    except Credential.DoesNotExist as missing:
        raise Http404("No such credential.") from missing


@require_safe
@holder_required
def renewal(request, pk):
    """A renewal group's page: where it stands, the one next step, what counts toward it and
    why, the fee, and every term with its transcript."""
    return _renewal_page(request, _own_credential(request, pk))


def _renewal_page(request, credential: Credential, fee_form=None, status: int = 200):
    plan = _renewal_plan(request, credential)
    return render(
        request,
        "seu_ledger/renewal.html",
        {
            "credential": credential,
            "plan": plan,
            "card": plan.card,
            "requirements": plan.requirements,
            "terms": _terms_in_words(credential, plan.card.on),
            "fee_form": fee_form
            or FeeReferenceForm(action=reverse("ledger:fee_submit", args=[credential.pk])),
        },
        status=status,
    )


def _terms_in_words(credential: Credential, on) -> list[tuple[Term, str]]:
    """Each term, newest first, with where it stands: past, current, or next (renewed early)."""
    terms = sorted(credential.terms.all(), key=lambda term: term.sequence, reverse=True)
    running = term_running(credential, on)
    return [
        (
            term,
            "current"
            if term.pk == running.pk
            else ("next" if term.sequence > running.sequence else "past"),
        )
        for term in terms
    ]


@require_POST
@holder_required
def fee_submit(request, pk):
    """Record the issuer's receipt reference; a missing one is answered next to its field."""
    credential = _own_credential(request, pk)
    form = FeeReferenceForm(request.POST, action=reverse("ledger:fee_submit", args=[credential.pk]))
    if form.is_valid():
        try:
            services.fee_submit(credential=credential, reference=form.cleaned_data["reference"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                gettext(
                    "Receipt recorded. Staff will confirm the payment; you will get an email when "
                    "they do."
                ),
            )
            return redirect("ledger:renewal", pk=credential.pk)
    return _renewal_page(request, credential, fee_form=form, status=400)


@holder_required
def renew(request, pk):
    """GET: what renewing now would do (the new terms, the activities it uses up, the fee), to
    confirm. POST: renew, then the receipt page."""
    credential = _own_credential(request, pk)
    if request.method not in ("GET", "HEAD", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    if request.method != "POST":
        plan = _renewal_plan(request, credential)
        return render(
            request,
            "seu_ledger/renew_confirm.html",
            {
                "credential": credential,
                "plan": plan,
                "term": credential_current_term(credential),
            },
        )
    term_id = request.POST.get("term", "")
    if not term_id.isdigit():
        raise Http404("No such term.")
    term = get_object_or_404(Term, pk=int(term_id), credential=credential)
    try:
        outcome = services.credential_renew(
            credential=credential, term=term, renewed_by=request.user
        )
    except ValidationError as error:
        messages.error(
            request, gettext("Not renewed: {reasons}").format(reasons=" ".join(error.messages))
        )
        return redirect("ledger:renewal", pk=credential.pk)
    if not outcome.created:
        messages.info(request, gettext("This term was already renewed; nothing changed."))
    return redirect("ledger:renewed", pk=credential.pk, renewal_pk=outcome.renewals[0].pk)


@require_safe
@holder_required
def renewed(request, pk, renewal_pk):
    """The receipt of a renewal: new terms, what it used, the fee; a confirmation email went."""
    credential = _own_credential(request, pk)
    renewal = get_object_or_404(
        Renewal.objects.select_related(
            "new_term", "closed_term__credential__program__issuer", "fee"
        ),
        pk=renewal_pk,
        closed_term__credential__holder=request.user,
    )
    siblings = renewal_siblings(renewal)
    if credential.pk not in {r.closed_term.credential_id for r in siblings}:
        raise Http404("That renewal is not one of this credential's.")
    entries = renewal.entries.select_related("category").order_by("activity_date", "pk")
    return render(
        request,
        "seu_ledger/renewed.html",
        {"credential": credential, "renewal": renewal, "siblings": siblings, "entries": entries},
    )


@require_safe
@holder_required
def transcript(request, pk, term_pk):
    """A PDF of what counted toward one term, to hand to an auditor."""
    return transcript_response(_own_credential(request, pk), term_pk)


def transcript_response(
    credential: Credential, term_pk: int, *, default_language: str | None = None
) -> HttpResponse:
    """The PDF transcript of one of the credential's terms, as a download (404 for a term of
    another credential)."""
    term = get_object_or_404(Term, pk=term_pk, credential=credential)
    # In the holder's saved language, whoever downloads it (the holder, or staff for them).
    with reading_as(credential.holder, default_language=default_language):
        pdf = transcript_pdf(credential=credential, term=term)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"transcript-{credential.program.code}-term-{term.sequence}.pdf".replace(" ", "_")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@csrf_exempt  # the signed token is the credential; RFC 8058 mail clients POST without a form
def reminders_unsubscribe(request, token):
    """Stop (or restart) the optional reminder emails, from the link in every reminder.

    A GET (or HEAD) only shows the choice, so a mail scanner following links changes nothing; a
    POST with the body "List-Unsubscribe=One-Click" is the mail client's one-click unsubscribe.
    """
    holder = holder_from_unsubscribe_token(token)
    if holder is None:
        raise Http404("Unknown or damaged link.")
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            reminders_resubscribe(holder=holder)
        else:
            reminders_unsubscribe_service(holder=holder)
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD, POST"})
    return render(
        request,
        "seu_ledger/reminders_unsubscribe.html",
        {"holder": holder, "unsubscribed": holder.reminders_unsubscribed_at is not None},
    )
