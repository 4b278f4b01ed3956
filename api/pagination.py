from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Pages by an opaque cursor (`next` / `previous` links): stable while rows are added,
    and as cheap on the last page as on the first. Newest first."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = _(
        "Cursor: not a cursor this API gave out; follow the next or previous link."
    )

    def decode_cursor(self, request):
        """DRF's cursor, refused unless its position is an id the database can hold (the
        cursor is the client's to forge)."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                position = int(cursor.position)
            except (TypeError, ValueError):
                raise NotFound(self.invalid_cursor_message) from None
            if not 0 <= position < 2**62:
                raise NotFound(self.invalid_cursor_message)
        return cursor
