"""The reminder schedule of a program, as plain arithmetic on days.

A program reminds at each of its `reminder_days` before the end (90, 60, 30, 7 by default), on
the last valid day (point 0), every `grace_reminder_every_days` after it while in grace or
suspension (points -7, -14...), and once on the day the credential expires for good, the day
after its grace (point -1 where there is none): "it has expired, here is how to reinstate it".
On a given day a term is at most at one point: the latest one that has come, for up to
CATCH_UP_DAYS after that expiry point. A point missed because nothing ran that day is
therefore caught up by the next run, but only the latest point, never the backlog; a term
that ended while nothing ran still gets the expiry email.
"""

import datetime
from dataclasses import dataclass

from credentials.models import Program

# How long after a credential expired for good a run still sends the expiry email it missed.
CATCH_UP_DAYS = 30


def expiry_point(grace_days: int) -> int:
    """The point of the day a credential expires for good: the first day after its grace."""
    return -(grace_days + 1)


def reminder_points(program: Program) -> tuple[int, ...]:
    """Every point of the program's schedule, in days before the end, latest-coming last."""
    before = tuple(day for day in program.reminder_days if day > 0)
    every = program.grace_reminder_every_days
    after = tuple(-day for day in range(every, program.grace_days + 1, every)) if every else ()
    return (*before, 0, *after, expiry_point(program.grace_days))


def point_on(days_left: int, points: tuple[int, ...], grace_days: int) -> int | None:
    """The point a term with `days_left` (negative once ended) is at, or None.

    That is the smallest point at or above `days_left`: the latest one whose day has come. None
    before the first point, and CATCH_UP_DAYS after the expiry point.
    """
    if days_left < expiry_point(grace_days) - CATCH_UP_DAYS:
        return None
    reached = [point for point in points if point >= days_left]
    return min(reached) if reached else None


@dataclass(frozen=True)
class PointRange:
    """The end dates that put a term of `program_id` at `point` on a day."""

    program_id: int
    point: int
    ends_from: datetime.date
    ends_to: datetime.date


def point_ranges(program: Program, on: datetime.date) -> list[PointRange]:
    """For each point of the program's schedule, the end dates that are at it on `on`.

    The ranges do not overlap, so a set-based query can select the due terms of every program
    with one condition per point, and no loop over terms.
    """
    points = reminder_points(program)
    ranges = []
    for index, point in enumerate(points):
        upper = on + datetime.timedelta(days=point)
        if index + 1 < len(points):
            lower = on + datetime.timedelta(days=points[index + 1] + 1)
        else:  # the expiry point, caught up for a while
            lower = on + datetime.timedelta(days=point - CATCH_UP_DAYS)
        if lower <= upper:
            ranges.append(PointRange(program.pk, point, lower, upper))
    return ranges
