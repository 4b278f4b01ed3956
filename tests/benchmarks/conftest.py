"""`make bench`: after every benchmark has run, one summary table of all their figures."""

import os
from pathlib import Path

from . import summary


def pytest_terminal_summary(terminalreporter):
    if not summary.ROWS:
        return
    terminalreporter.section("benchmark summary")
    terminalreporter.write_line(summary.text())
    target = os.environ.get("BENCH_SUMMARY")
    if target:
        Path(target).write_text(summary.markdown())
        terminalreporter.write_line(f"\n(written as Markdown to {target})")
