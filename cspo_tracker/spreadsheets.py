"""Text for CSV files that people open in spreadsheets."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """Neutralise text a spreadsheet would run as a formula (a leading = + - @, tab or CR)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text
