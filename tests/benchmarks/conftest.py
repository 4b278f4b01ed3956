"""The benchmarks' summary: every figure recorded with `summary.record` during the run, as one
table after pytest's own summary."""

from tests.benchmarks import summary


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = summary.table()
    if not lines:
        return
    terminalreporter.write_sep("=", "benchmark figures")
    for line in lines:
        terminalreporter.write_line(line)
