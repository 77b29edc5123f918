"""RRULE parsing, validation and bounded occurrence searches of recurring templates (CONTRACT §5).

The one place of every recurrence rule; the services only call it.

* `rrule` is ONE RRULE (an optional `RRULE:` prefix is accepted and dropped; DTSTART,
  RDATE, EXDATE or several lines are refused), read by our own strict parser of the
  subset we support, so every refusal is a 400 VALIDATION_ERROR on field `rrule` in our
  own words (dateutil's texts quote Python internals, and a numbered weekday out of
  range, `BYDAY=+20MO`, crashed it). Supported: FREQ DAILY..YEARLY (the time of day
  comes from `dtstart`), INTERVAL, COUNT or UNTIL (UTC), BYDAY, BYMONTHDAY, BYMONTH,
  BYSETPOS (MONTHLY/YEARLY), WKST; numbers in ASCII digits only.
* dateutil walks a rule period by period from its anchor and, when no period matches,
  on until the year 9999: seconds of CPU in one request. Every search here is bounded
  twice: by the horizon (`RRULE_SEARCH_HORIZON_DAYS` after the later of the anchor and
  the search start; an occurrence beyond it counts as none) and by the number of steps
  walked (`RRULE_MAX_ITERATIONS`: one per period of a MONTHLY or YEARLY rule, one per
  calendar month of a DAILY or WEEKLY one).
* A client's rule (create, template PATCH, recurrence edit from an instance) must have a
  next occurrence within the horizon, and the anchor (`dtstart`) must lie within
  `TEMPLATE_DTSTART_MAX_DAYS` before and `TEMPLATE_DTSTART_MAX_AHEAD_DAYS` after now,
  whatever the rule says (COUNT included).
* Occurrences are computed in the owner's timezone (`User.timezone`), so "every
  Monday at 09:00" stays 09:00 local across DST; they are returned in UTC.

Pure functions: no database, no service.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, FR, MO, MONTHLY, SA, SU, TH, TU, WE, WEEKLY, YEARLY
from dateutil.rrule import rrule as RRule
from django.conf import settings
from django.utils import timezone

from perpetua.api.exceptions import ValidationFailed, field_error

RRULE_MAX_LENGTH = 500
FREQS = {"DAILY": DAILY, "WEEKLY": WEEKLY, "MONTHLY": MONTHLY, "YEARLY": YEARLY}
ALLOWED_FREQS = tuple(FREQS)
ALLOWED_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST")
MAX_INTERVAL = 1000
MAX_COUNT = 100_000
WEEKDAYS = {"MO": MO, "TU": TU, "WE": WE, "TH": TH, "FR": FR, "SA": SA, "SU": SU}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # leap year: Feb 29 exists
_INTEGER = re.compile(r"[+-]?[0-9]{1,7}")  # ASCII digits only: int() also reads Arabic-Indic digits and "1_0"
_BYDAY = re.compile(r"([+-]?[0-9]{1,3})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z")
# UNTIL is clamped into these years: outside them it changes nothing we ever search, and
# converting year 1 or 9999 to a timezone overflows.
_UNTIL_RANGE = (dt.datetime(1900, 1, 1, tzinfo=dt.UTC), dt.datetime(9000, 1, 1, tzinfo=dt.UTC))


def rrule_error(message: str) -> ValidationFailed:
    """A 400 on field `rrule`."""
    return field_error("rrule", message, "Invalid RRULE.")


def rrule_normalize(value: str) -> str:
    """Stored form of a rule: trimmed, upper-case, without an `RRULE:` prefix."""
    text = value.strip()
    if text[:6].upper() == "RRULE:":
        text = text[6:].strip()
    return text.upper()


# --- parsing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedRule:
    """The parts of one supported RRULE, checked; `until` is aware UTC."""

    freq: int
    interval: int = 1
    count: int | None = None
    until: dt.datetime | None = None
    byweekday: tuple[Any, ...] | None = None
    bymonthday: tuple[int, ...] | None = None
    bymonth: tuple[int, ...] | None = None
    bysetpos: tuple[int, ...] | None = None
    wkst: Any = None


def _integers(name: str, raw: str, *, low: int, high: int, signed: bool = False) -> tuple[int, ...]:
    """Comma-separated integers in low..high (±low..high when `signed`; never 0)."""
    span = f"±{low} to ±{high}" if signed else f"{low} to {high}"
    values: list[int] = []
    for item in raw.split(","):
        if not _INTEGER.fullmatch(item):
            raise rrule_error(f"{name} must be a comma-separated list of whole numbers from {span}.")
        number = int(item)
        if (item[0] in "+-" and not signed) or number == 0 or not low <= abs(number) <= high:
            raise rrule_error(f"{name} values must be whole numbers from {span}.")
        values.append(number)
    return tuple(values)


def _until(raw: str) -> dt.datetime:
    match = _UNTIL.fullmatch(raw)
    message = "UNTIL must be a UTC date-time such as 20301231T235959Z."
    if not match:
        raise rrule_error(message)
    try:
        until = dt.datetime(*(int(group) for group in match.groups()), tzinfo=dt.UTC)  # type: ignore[misc]
    except ValueError:
        raise rrule_error(message) from None
    return min(max(until, _UNTIL_RANGE[0]), _UNTIL_RANGE[1])


def _weekdays(raw: str, *, freq: int, has_bymonth: bool) -> tuple[Any, ...]:
    """BYDAY: MO..SU, numbered (1MO, -1FR) only with MONTHLY (±1..5) or YEARLY (±1..53,
    ±1..5 with BYMONTH, where the number counts inside each month)."""
    days: list[Any] = []
    for item in raw.split(","):
        match = _BYDAY.fullmatch(item)
        if not match:
            raise rrule_error("BYDAY must be a comma-separated list of MO, TU, WE, TH, FR, SA, SU (e.g. MO,-1FR).")
        number, day = match.groups()
        if number is None:
            days.append(WEEKDAYS[day])
            continue
        if freq not in (MONTHLY, YEARLY):
            raise rrule_error("Numbered BYDAY values (e.g. 1MO, -1FR) need FREQ=MONTHLY or FREQ=YEARLY.")
        high = 53 if freq == YEARLY and not has_bymonth else 5
        n = int(number)
        if n == 0 or abs(n) > high:
            where = "in a year" if high == 53 else "in a month"
            raise rrule_error(f"A numbered BYDAY must be from ±1 to ±{high} ({where}): {item} is not.")
        days.append(WEEKDAYS[day](n))
    return tuple(days)


def rrule_parse(rrule: Any) -> ParsedRule:
    """The parts of `rrule`, or 400 on field `rrule` saying what is wrong."""
    if not isinstance(rrule, str):
        raise rrule_error("Must be a string.")
    text = rrule_normalize(rrule)
    if not text:
        raise rrule_error("The rule is empty.")
    if len(text) > RRULE_MAX_LENGTH:
        raise rrule_error(f"Must be at most {RRULE_MAX_LENGTH} characters.")
    if not text.isascii():
        raise rrule_error("Must contain ASCII characters only.")
    if any(char in text for char in "\r\n:"):
        raise rrule_error("Only a single RRULE is supported (no DTSTART, RDATE, EXDATE, EXRULE or further lines).")
    parts: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise rrule_error("The rule must be NAME=VALUE parts separated by ';' (e.g. FREQ=WEEKLY;BYDAY=MO).")
        if name in parts:
            raise rrule_error(f"{name} is given more than once.")
        if not value:
            raise rrule_error(f"{name} has no value.")
        parts[name] = value
    unsupported = sorted(set(parts) - set(ALLOWED_PARTS))
    if unsupported:
        shown = ", ".join(unsupported[:5]) + (", ..." if len(unsupported) > 5 else "")
        raise rrule_error(
            f"{shown} not supported: the time of day comes from dtstart (supported: {', '.join(ALLOWED_PARTS)})."
        )
    if parts.get("FREQ") not in FREQS:
        raise rrule_error(f"FREQ is required and must be one of {', '.join(ALLOWED_FREQS)}.")
    freq = FREQS[parts["FREQ"]]
    if "COUNT" in parts and "UNTIL" in parts:
        raise rrule_error("COUNT and UNTIL cannot be combined.")
    coarse = freq in (MONTHLY, YEARLY)
    if "BYSETPOS" in parts and not coarse:
        raise rrule_error("BYSETPOS is supported with FREQ=MONTHLY or FREQ=YEARLY only.")
    if "WKST" in parts and parts["WKST"] not in WEEKDAYS:
        raise rrule_error("WKST must be one of MO, TU, WE, TH, FR, SA, SU.")

    bymonth = _integers("BYMONTH", parts["BYMONTH"], low=1, high=12) if "BYMONTH" in parts else None
    bymonthday = (
        _integers("BYMONTHDAY", parts["BYMONTHDAY"], low=1, high=31, signed=True) if "BYMONTHDAY" in parts else None
    )
    if bymonthday and not any(abs(d) <= _DAYS_IN_MONTH[m - 1] for m in bymonth or range(1, 13) for d in bymonthday):
        raise rrule_error("The rule never occurs: none of its months has that day.")
    return ParsedRule(
        freq=freq,
        interval=_integers("INTERVAL", parts["INTERVAL"], low=1, high=MAX_INTERVAL)[0] if "INTERVAL" in parts else 1,
        count=_integers("COUNT", parts["COUNT"], low=1, high=MAX_COUNT)[0] if "COUNT" in parts else None,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
        byweekday=_weekdays(parts["BYDAY"], freq=freq, has_bymonth=bymonth is not None) if "BYDAY" in parts else None,
        bymonthday=bymonthday,
        bymonth=bymonth,
        bysetpos=(
            _integers("BYSETPOS", parts["BYSETPOS"], low=1, high=366 if freq == YEARLY else 31, signed=True)
            if "BYSETPOS" in parts
            else None
        ),
        wkst=WEEKDAYS[parts["WKST"]] if "WKST" in parts else None,
    )


# --- the rule and its bounded searches -----------------------------------------------------------


class _WalkExhausted(Exception):
    """A search walked its budget of steps without an answer."""


class BoundedRRule(RRule):
    """dateutil's rule, with a budget on the steps one search may walk.

    dateutil has no such bound, and a rule whose periods never match (BYSETPOS=6 of the
    Mondays of a month) yields nothing, so nothing outside it can stop the walk before
    the year 9999. Its iterator rebuilds its month masks once per calendar month (or
    period) it enters and reads `_byeaster` each time (python-dateutil 2.9, pinned
    in pyproject; the tests in `tasks/tests/test_rrule.py` fail if that changes): that
    read is the counter.
    """

    def __init__(self, freq: int, *, anchor: dt.datetime, interval: int = 1, **kwargs: Any) -> None:
        self.anchor, self.freq, self.interval = anchor, freq, interval
        self._walk_budget: int | None = None
        self._walked = 0
        super().__init__(freq, interval=interval, **kwargs)

    @property  # type: ignore[override]
    def _byeaster(self) -> Any:
        self._walked += 1
        if self._walk_budget is not None and self._walked > self._walk_budget:
            raise _WalkExhausted
        return self.__byeaster

    @_byeaster.setter
    def _byeaster(self, value: Any) -> None:
        self.__byeaster = value


def user_tz(user: Any) -> dt.tzinfo:
    """The owner's timezone, in which occurrences are computed (UTC when unknown)."""
    try:
        return ZoneInfo(getattr(user, "timezone", None) or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _build(parsed: ParsedRule, *, dtstart: dt.datetime, tz: dt.tzinfo) -> BoundedRRule:
    try:
        anchor = dtstart.astimezone(tz).replace(microsecond=0)
        until = parsed.until.astimezone(tz) if parsed.until is not None else None
    except OverflowError:
        raise field_error("dtstart", "Out of range.") from None
    try:
        return BoundedRRule(
            parsed.freq,
            anchor=anchor,
            dtstart=anchor,
            interval=parsed.interval,
            wkst=parsed.wkst,
            count=parsed.count,
            until=until,
            bysetpos=parsed.bysetpos,
            bymonth=parsed.bymonth,
            bymonthday=parsed.bymonthday,
            byweekday=parsed.byweekday,
        )
    except (ValueError, TypeError, IndexError):  # checked by rrule_parse; never dateutil's text to a client
        raise rrule_error("Invalid RRULE.") from None


def rrule_build(*, rrule: Any, dtstart: dt.datetime, tz: dt.tzinfo = dt.UTC) -> BoundedRRule:
    """The rule for `rrule` anchored at `dtstart` (seen in `tz`), or 400 on field `rrule`.

    No bound on the anchor: a stored template's anchor ages. Client input goes through
    `template_rule_validate`."""
    return _build(rrule_parse(rrule), dtstart=dtstart, tz=tz)


def _walk_steps(rule: BoundedRRule, *, until: dt.datetime) -> int:
    """dateutil's steps from the anchor to `until`: one per period of a MONTHLY or YEARLY
    rule, at most one per calendar month of a DAILY or WEEKLY one; +3 for the counter's
    reads before the first step and the period `until` falls in."""
    months = max(0, (until.year - rule.anchor.year) * 12 + until.month - rule.anchor.month)
    per_step = {YEARLY: 12 * rule.interval, MONTHLY: rule.interval}.get(rule.freq, 1)
    return -(-months // per_step) + 3


def occurrence_after(rule: BoundedRRule, moment: dt.datetime, *, inclusive: bool = False) -> dt.datetime | None:
    """The rule's first occurrence after `moment` (at or after with `inclusive`), in UTC.

    None when it has none within RRULE_SEARCH_HORIZON_DAYS of the later of `moment` and
    the anchor, or when finding out would walk more than RRULE_MAX_ITERATIONS steps."""
    try:
        horizon_end = max(moment, rule.anchor) + dt.timedelta(days=settings.RRULE_SEARCH_HORIZON_DAYS)
    except OverflowError:  # a horizon set beyond the calendar: the month budget still ends the walk
        horizon_end = dt.datetime.max.replace(tzinfo=dt.UTC) - dt.timedelta(days=1)
    # Past this many steps the walk is past the horizon.
    rule._walk_budget = min(settings.RRULE_MAX_ITERATIONS, _walk_steps(rule, until=horizon_end))
    rule._walked = 0
    try:
        found = rule.after(moment, inc=inclusive)
    except (_WalkExhausted, OverflowError):
        return None
    finally:
        rule._walk_budget = None
    if found is None or found > horizon_end:
        return None
    return found.astimezone(dt.UTC)


# --- client input ------------------------------------------------------------------------------


def dtstart_clean(value: Any) -> dt.datetime:
    """A template's anchor as stored: aware, UTC, whole seconds."""
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise field_error("dtstart", "Must be an ISO-8601 datetime with a timezone.")
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _check_anchor_bounds(dtstart: dt.datetime) -> None:
    """Every search walks the rule from its anchor: an old anchor makes each one long, a far
    one is no plan a user makes (and year 1 or 9999 overflow). COUNT changes nothing."""
    now = timezone.now()
    past, ahead = settings.TEMPLATE_DTSTART_MAX_DAYS, settings.TEMPLATE_DTSTART_MAX_AHEAD_DAYS
    if not now - dt.timedelta(days=past) <= dtstart <= now + dt.timedelta(days=ahead):
        raise field_error("dtstart", f"Must be at most {past} days in the past and {ahead} days in the future.")


def template_rule_validate(
    *, rrule: Any, dtstart: dt.datetime, tz: dt.tzinfo = dt.UTC, anchor_bounds: bool = True
) -> BoundedRRule:
    """A rule a client sends (create, template PATCH, recurrence edit from an instance):
    parsed (400 `rrule`), its anchor bounded (400 `dtstart`; skipped with
    `anchor_bounds=False` for the stored anchor of an existing template), and with a next
    occurrence after now within RRULE_SEARCH_HORIZON_DAYS (else 400 `rrule`): a rule
    that never occurs, or no more, or too rarely, is refused rather than stored inactive."""
    parsed = rrule_parse(rrule)
    if anchor_bounds:
        _check_anchor_bounds(dtstart)
    rule = _build(parsed, dtstart=dtstart, tz=tz)
    if occurrence_after(rule, timezone.now()) is None:
        days = settings.RRULE_SEARCH_HORIZON_DAYS
        raise rrule_error(
            f"The rule has no occurrence in the next {days} days (counted from now, or from dtstart when later)."
        )
    return rule
