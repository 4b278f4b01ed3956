"""A deployment without a signing key still serves every page, but issues no Open Badges: say
so at start-up."""

from django.core.checks import Warning, register
from django.core.exceptions import ImproperlyConfigured

from .keys import keys


@register()
def signing_key_present(app_configs, **kwargs):
    try:
        keys()
    except ImproperlyConfigured as problem:
        return [Warning(str(problem), id="badges.W001")]
    return []
