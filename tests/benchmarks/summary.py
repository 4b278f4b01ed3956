"""Figures the benchmarks measured, kept for a summary of the whole run.

Each benchmark prints its own figures as it goes; `record` also keeps them here, as
(section, name, value, note) rows, so they can be read together at the end.
"""

ROWS: list[tuple[str, str, float, str]] = []


def record(section: str, name: str, value: float, note: str = "") -> None:
    """Keep one measured figure: `section` is the benchmark, `name` what was measured,
    `value` the figure (seconds, a ratio, a count: `note` says which)."""
    ROWS.append((section, name, value, note))
