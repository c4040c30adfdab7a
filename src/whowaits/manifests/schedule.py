"""Schedules to periods: cron expressions (5 fields, `@daily`-style macros), systemd calendar
words and interval specs, all turned into the shortest time between two runs, in hours.

The period is what WW103 compares with the Batch API's 24-hour window: a job that runs every
10 minutes cannot wait for a batch that may take a day.
"""

from __future__ import annotations

import re
from typing import List, Optional, Set

MACROS = {
    "@yearly": 8760.0,
    "@annually": 8760.0,
    "@monthly": 720.0,
    "@weekly": 168.0,
    "@daily": 24.0,
    "@midnight": 24.0,
    "@hourly": 1.0,
}
_NAMES = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "oct": 10, "nov": 11, "dec": 12, "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
}


def _field(text: str, low: int, high: int) -> Optional[Set[int]]:
    """Values of one cron field; None when it cannot be read."""
    values: Set[int] = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                return None
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _number(a), _number(b)
            if first is None or last is None:
                return None
            start, end = first, last
        else:
            single = _number(part)
            if single is None:
                return None
            start = single
            end = high if step > 1 else start
        if start < low or end > high + 1:  # allow 7 for Sunday
            return None
        values.update(v % (high + 1) if high == 6 else v for v in range(start, end + 1, step))
    return values or None


def _number(text: str) -> Optional[int]:
    text = text.strip()
    if text.isdigit():
        return int(text)
    return _NAMES.get(text[:3])


def cron_period_hours(expression: str) -> Optional[float]:
    """The shortest gap between two runs of a cron expression, in hours (None: unreadable)."""
    expression = expression.strip().strip("'\"")
    if expression.startswith("@"):
        return MACROS.get(expression.split()[0].lower())
    fields = expression.split()
    if len(fields) < 5:
        return None
    minutes = _field(fields[0], 0, 59)
    hours = _field(fields[1], 0, 23)
    doms = _field(fields[2], 1, 31)
    months = _field(fields[3], 1, 12)
    dows = _field(fields[4], 0, 6)
    if None in (minutes, hours, doms, months, dows):
        return None
    assert minutes and hours and doms and months and dows is not None
    if len(doms) < 31 and fields[4] in ("*", "?"):
        # Monthly-style schedules: days of the month, spread over a 30-day month.
        days = sorted(doms)
        gaps = [b - a for a, b in zip(days, days[1:])] + [30 - days[-1] + days[0]]
        day_gap = min(gaps) * 24.0
        return _within_day(minutes, hours) if len(minutes) * len(hours) > 1 else day_gap
    if len(months) < 12 and len(doms) == 31 and fields[4] in ("*", "?"):
        return _within_day(minutes, hours)
    times: List[int] = []
    for day in sorted(dows):
        for hour in sorted(hours):
            for minute in sorted(minutes):
                times.append(day * 1440 + hour * 60 + minute)
    if len(times) == 1:
        return 168.0
    gaps = [b - a for a, b in zip(times, times[1:])] + [times[0] + 7 * 1440 - times[-1]]
    return min(gaps) / 60.0


def _within_day(minutes: Set[int], hours: Set[int]) -> float:
    times = sorted(h * 60 + m for h in hours for m in minutes)
    if len(times) == 1:
        return 24.0
    gaps = [b - a for a, b in zip(times, times[1:])] + [times[0] + 1440 - times[-1]]
    return min(gaps) / 60.0


_CALENDAR = {
    "minutely": 1 / 60, "hourly": 1.0, "daily": 24.0, "weekly": 168.0, "monthly": 720.0,
    "quarterly": 2190.0, "semiannually": 4380.0, "yearly": 8760.0, "annually": 8760.0,
}
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|s|sec|seconds?|m|min|minutes?|h|hr|hours?|d|days?|w|weeks?)\b", re.I)
_UNIT_HOURS = {"s": 1 / 3600, "m": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}


def systemd_period_hours(on_calendar: Optional[str], on_unit_active: Optional[str]) -> Optional[float]:
    """A systemd timer's period: `OnCalendar=daily`, `*-*-* 02:00:00`, `OnUnitActiveSec=1h`."""
    if on_unit_active:
        return span_hours(on_unit_active)
    if not on_calendar:
        return None
    text = on_calendar.strip().lower()
    if text in _CALENDAR:
        return _CALENDAR[text]
    match = re.match(r"^(?:\w+\s+)?\*-\*-\*\s+(\S+)$", text)
    if match:
        clock = match.group(1).split(":")
        if clock[0] == "*":
            return 1 / 60 if len(clock) > 1 and clock[1] == "*" else 1.0
        if "/" in clock[0]:
            return float(clock[0].split("/")[1])
        return 24.0 / max(1, len(clock[0].split(",")))
    return None


def span_hours(text: str) -> Optional[float]:
    """`1h 30min`, `15m`, `2d` as hours."""
    total = 0.0
    found = False
    for number, unit in _SPAN.findall(text):
        key = unit.lower()
        key = "m" if key.startswith("min") or key == "m" else ("s" if key.startswith("s") or key in ("us", "ms") else key[0])
        if unit.lower() in ("us", "ms"):
            continue
        total += float(number) * _UNIT_HOURS[key]
        found = True
    return total if found else None


def interval_hours(weeks: float = 0, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> Optional[float]:
    """APScheduler / timedelta-style keyword intervals as hours."""
    total = weeks * 168 + days * 24 + hours + minutes / 60 + seconds / 3600
    return total or None
