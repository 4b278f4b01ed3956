from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    """Pages by an opaque cursor (`next` / `previous` links): stable while rows are added,
    and as cheap on the last page as on the first. Newest first."""

    ordering = "-pk"
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = (
        "Cursor: not a cursor this API gave out; follow the next or previous link."
    )
