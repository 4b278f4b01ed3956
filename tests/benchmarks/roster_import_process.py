"""The import half of test_import_roster.py, run alone in a fresh process.

`python -m tests.benchmarks.roster_import_process ROSTER FIGURES` sets Django up (the
settings and database come from the environment), reads the roster file, then times
`roster_check` followed by `roster_apply` and writes what it measured to FIGURES as JSON:
`seconds` (`check_seconds` of them checking), `statements` (SQL statements, COPY included),
`memory_mb` and `memory_method`, `summary` (what the import reports it did).

Memory is the import's own: the growth of the process's resident set during the import over
what it held just before (Django, the database connection, the file's bytes). On Linux the
kernel's high-water mark (VmHWM) is reset just before the import (`5` written to
/proc/self/clear_refs) and read after it, so a short peak between samples is not missed. A
fresh process is used so that memory freed by earlier work (the test's own set-up, the COPY
baseline) is not there for the import to reuse unseen. Where VmHWM cannot be reset, the
process's peak (ru_maxrss) stands in; in a fresh process it is close to the resident set
before the import, so the growth is still the import's, give or take a few MB.
"""

import json
import resource
import sys
import time

STATUS = "/proc/self/status"


def _status_kb(name: str) -> int:
    with open(STATUS) as status:  # noqa: PTH123
        for line in status:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    raise LookupError(name)


def _max_rss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes there, kB elsewhere


def _memory_mark() -> tuple[str, int]:
    """Start measuring: the method used and the resident set (kB) now."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:  # noqa: PTH123
            clear.write("5")  # resets VmHWM to the current resident set
        return "VmHWM", _status_kb("VmRSS")
    except OSError:
        return "ru_maxrss", _max_rss_kb()


def _memory_peak(method: str) -> int:
    return _status_kb("VmHWM") if method == "VmHWM" else _max_rss_kb()


def main(roster_path: str, figures_path: str) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from credentials.models import Program
    from credentials.roster.apply import roster_apply
    from credentials.roster.imports import roster_check
    from cspo_tracker.bulk import copy_statements
    from cspo_tracker.history import audit_context

    with open(roster_path, "rb") as handle:  # noqa: PTH123
        data = handle.read()
    Program.objects.count()  # connect before measuring
    count = [0]

    def counted(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    method, before_kb = _memory_mark()
    with (
        connection.execute_wrapper(counted),
        audit_context(user=None, reason="Roster import: benchmark"),
    ):
        began = time.perf_counter()
        report = roster_check(data)
        checked = time.perf_counter()
        summary = roster_apply(report, batch_size=settings.ROSTER_BATCH_ROWS)
        seconds = time.perf_counter() - began
    peak_kb = _memory_peak(method)
    with open(figures_path, "w") as handle:  # noqa: PTH123
        json.dump(
            {
                "seconds": seconds,
                "check_seconds": checked - began,
                "statements": count[0] + copy_statements[0],
                "memory_mb": (peak_kb - before_kb) / 1024,
                "memory_before_mb": before_kb / 1024,
                "memory_method": method,
                "rows_valid": len(report.rows),
                "errors": len(report.errors),
                "summary": dict(summary),
            },
            handle,
        )


if __name__ == "__main__":
    main(*sys.argv[1:3])
