"""RRULE parsing and occurrences of recurring templates (CONTRACT §5).

* `rrule` is ONE RRULE (an optional `RRULE:` prefix is accepted and dropped; DTSTART,
  RDATE, EXDATE or several lines are refused), parsed by python-dateutil; its errors
  are 400 VALIDATION_ERROR with the parser's message on field `rrule`. FREQ is DAILY
  or coarser, BYHOUR/BYMINUTE/BYSECOND/BYYEARDAY/BYWEEKNO are refused (the time of day
  comes from `dtstart`), and rules that can never occur (BYMONTH=2;BYMONTHDAY=30,
  INTERVAL=0, ...) are refused up front: dateutil would otherwise search until the
  year 9999 (or forever) inside a request.
* Occurrences are computed in the owner's timezone (`User.timezone`), so "every
  Monday at 09:00" stays 09:00 local across DST; they are returned in UTC.

Pure functions: no database, no service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule as RRule
from dateutil.rrule import rrulestr

from perpetua.api.exceptions import ValidationFailed, field_error

RRULE_MAX_LENGTH = 500
ALLOWED_FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
ALLOWED_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"})
MAX_INTERVAL = 1000
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # leap year: Feb 29 exists


def rrule_error(message: str) -> ValidationFailed:
    """A 400 on field `rrule` (the parser's message when it has one)."""
    return field_error("rrule", message, "Invalid RRULE.")


def rrule_normalize(value: str) -> str:
    """Stored form of a rule: trimmed, upper-case, without an `RRULE:` prefix."""
    text = value.strip()
    if text[:6].upper() == "RRULE:":
        text = text[6:].strip()
    return text.upper()


def _int_list(parts: dict[str, str], name: str, *, low: int, high: int, nonzero_abs: bool = False) -> list[int]:
    values: list[int] = []
    for raw in parts.get(name, "").split(","):
        if not raw:
            continue
        try:
            number = int(raw)
        except ValueError:
            raise rrule_error(f"invalid '{name}': {raw}") from None
        magnitude = abs(number) if nonzero_abs else number
        if number == 0 or not low <= magnitude <= high:
            span = f"±{low}..{high}" if nonzero_abs else f"{low}..{high}"
            raise rrule_error(f"{name} values must be in {span}.")
        values.append(number)
    return values


def _check_rule_parts(text: str) -> None:
    """Semantics dateutil accepts but that would never occur, or hang the search."""
    parts = dict(item.split("=", 1) for item in text.split(";") if item)
    unsupported = sorted(set(parts) - ALLOWED_PARTS)
    if unsupported:
        raise rrule_error(
            f"{', '.join(unsupported)} not supported: the time of day comes from dtstart "
            f"(supported: {', '.join(sorted(ALLOWED_PARTS))})."
        )
    freq = parts.get("FREQ", "")
    if freq not in ALLOWED_FREQS:
        raise rrule_error(f"FREQ must be one of {', '.join(ALLOWED_FREQS)}.")
    if "INTERVAL" in parts:
        _int_list(parts, "INTERVAL", low=1, high=MAX_INTERVAL)
    if "COUNT" in parts:
        _int_list(parts, "COUNT", low=1, high=100_000)
    months = _int_list(parts, "BYMONTH", low=1, high=12) or list(range(1, 13))
    month_days = _int_list(parts, "BYMONTHDAY", low=1, high=31, nonzero_abs=True)
    if month_days and not any(abs(day) <= _DAYS_IN_MONTH[month - 1] for month in months for day in month_days):
        raise rrule_error("The rule never occurs: none of its months has that day.")
    coarse = freq in ("MONTHLY", "YEARLY")
    if "BYSETPOS" in parts:
        if not coarse:
            raise rrule_error("BYSETPOS is supported with FREQ=MONTHLY or FREQ=YEARLY only.")
        _int_list(parts, "BYSETPOS", low=1, high=366, nonzero_abs=True)
    if not coarse and any(day.strip()[:1] in "+-0123456789" for day in parts.get("BYDAY", "").split(",") if day):
        raise rrule_error("Numbered BYDAY values (e.g. 1MO, -1FR) need FREQ=MONTHLY or FREQ=YEARLY.")


def rrule_build(*, rrule: str, dtstart: dt.datetime, tz: dt.tzinfo = dt.UTC) -> RRule:
    """The dateutil rule for `rrule` anchored at `dtstart` (seen in `tz`), or 400 on field `rrule`."""
    if not isinstance(rrule, str):
        raise rrule_error("Must be a string.")
    text = rrule_normalize(rrule)
    if not text:
        raise rrule_error("The rule is empty.")
    if len(text) > RRULE_MAX_LENGTH:
        raise rrule_error(f"Must be at most {RRULE_MAX_LENGTH} characters.")
    if any(char in text for char in "\r\n:"):
        raise rrule_error("Only a single RRULE is supported (no DTSTART, RDATE, EXDATE, EXRULE or further lines).")
    try:
        rule = rrulestr(text, dtstart=dtstart.astimezone(tz).replace(microsecond=0))
    except OverflowError:
        raise field_error("dtstart", "Out of range.") from None
    except ValueError as exc:
        raise rrule_error(str(exc) or "Invalid RRULE.") from None
    except TypeError:  # dateutil's way of saying FREQ is missing
        raise rrule_error("FREQ is required.") from None
    if not isinstance(rule, RRule):
        raise rrule_error("Only a single RRULE is supported.")
    _check_rule_parts(text)
    return rule


def user_tz(user: Any) -> dt.tzinfo:
    """The owner's timezone, in which occurrences are computed (UTC when unknown)."""
    try:
        return ZoneInfo(getattr(user, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def occurrence_after(rule: RRule, moment: dt.datetime, *, inclusive: bool = False) -> dt.datetime | None:
    """The rule's first occurrence after `moment` (at or after with `inclusive`), in UTC."""
    found = rule.after(moment, inc=inclusive)
    return None if found is None else found.astimezone(dt.UTC)
