"""Who may open holder pages: signed in, and having accepted the licence agreement."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse


def holder_required(view):
    """Signed in, and the licence agreement accepted (asked once, then never again)."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if request.user.licence_accepted_at is None:
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('licence')}?{query}")
        return view(request, *args, **kwargs)

    return wrapper
