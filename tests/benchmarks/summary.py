"""Figures the benchmarks record as they run, to be read (or compared) together after a run."""

ROWS: list[tuple[str, str, str, str]] = []


def record(section: str, name: str, value: str, note: str = "") -> None:
    """Keep one figure: `value` is shown as given (format it first, units in `name` or
    `note`)."""
    ROWS.append((section, name, value, note))
