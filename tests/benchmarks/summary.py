"""Figures the benchmarks record as they run, printed as one table at the end of `make bench`
(by the hook in this folder's conftest.py), so a run can be read, or compared, at a glance."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    section: str  # the benchmark, e.g. "roster import"
    name: str  # what was measured, e.g. "import seconds"
    value: str  # as it should be shown, already formatted
    note: str = ""


recorded: list[Figure] = []


def record(section: str, name: str, value: str, note: str = "") -> None:
    """Keep one figure for the summary table: `value` is shown as given (format it first,
    units in `name` or `note`)."""
    recorded.append(Figure(section, name, value, note))


def table() -> list[str]:
    """The recorded figures as lines of a plain-text table, in the order recorded; [] if none."""
    if not recorded:
        return []
    header = Figure("benchmark", "figure", "value", "note")
    rows = [header, *recorded]
    widths = [max(len(getattr(row, column)) for row in rows) for column in ("section", "name")]
    value_width = max(len(row.value) for row in rows)
    lines = []
    for row in rows:
        line = (
            f"{row.section:<{widths[0]}}  {row.name:<{widths[1]}}  {row.value:>{value_width}}"
            f"  {row.note}"
        )
        lines.append(line.rstrip())
        if row is header:
            lines.append("-" * max(len(line.rstrip()), 20))
    return lines
