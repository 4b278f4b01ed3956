"""One table of every figure `make bench` measured, printed when the run ends.

Each benchmark calls `record(section, name, value, note)` beside its own printout; the
`pytest_terminal_summary` hook in this folder's conftest prints the rows grouped by section, in
the order recorded, and puts them as Markdown into the README's Performance section, so its
figures come from a run, not typed in.
"""

ROWS: list[tuple[str, str, str, str]] = []


def record(section: str, name: str, value: str, note: str = "") -> None:
    """Add one figure: `section` groups rows ("Pages under load"), `name` says what was
    measured, `value` is the figure as printed ("131 req/s"), `note` the ratio or target."""
    ROWS.append((section, name, value, note))


def markdown() -> str:
    """The rows as Markdown tables, one per section."""
    out, section = [], None
    for row_section, name, value, note in ROWS:
        if row_section != section:
            section = row_section
            out += [
                "",
                f"**{section}**",
                "",
                "| measured | figure | ratio / target |",
                "|---|---|---|",
            ]
        out.append(f"| {name} | {value} | {note} |")
    return "\n".join(out).strip() + "\n"


def text() -> str:
    """The rows as plain columns, for the terminal."""
    width = max((len(name) for _, name, _, _ in ROWS), default=10)
    out, section = [], None
    for row_section, name, value, note in ROWS:
        if row_section != section:
            section = row_section
            out += ["", section]
        out.append(f"  {name:<{width}}  {value:>18}  {note}")
    return "\n".join(out)
