"""Input rules more than one app applies, each written once."""

from __future__ import annotations

import functools
import zoneinfo
from pathlib import Path

from rest_framework import serializers

# In the IANA database but not a place: "Factory" is its placeholder for "zone not configured".
_NOT_PLACES = frozenset({"Factory"})
# Files of a zoneinfo directory that are no IANA names (copies of the host's own setting).
_HOST_FILES = frozenset({"localtime", "posixrules"})


def _tzdata_names(path: Path) -> set[str]:
    """Zone (`Z name ...`) and link (`L target name`) names of an IANA `tzdata.zi`."""
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "Z":
            names.add(fields[1])
        elif len(fields) >= 3 and fields[0] == "L":
            names.add(fields[2])
    return names


@functools.cache
def iana_timezone_names() -> frozenset[str]:
    """Every IANA time zone name (canonical and backward-compatible links), and nothing else.

    From the IANA source index `tzdata.zi` that ships with the system's zoneinfo files
    when there is one; otherwise what zoneinfo can load, less the host-specific files.
    Either way "localtime" (the host's own zone) and "Factory" are not accepted.
    """
    for root in zoneinfo.TZPATH:
        index = Path(root) / "tzdata.zi"
        if index.is_file():
            names = _tzdata_names(index)
            break
    else:
        names = set(zoneinfo.available_timezones()) - _HOST_FILES
    return frozenset((names | {"UTC"}) - _NOT_PLACES)


def is_iana_timezone(name: object) -> bool:
    return isinstance(name, str) and name in iana_timezone_names()


def validate_iana_timezone(value: str) -> str:
    """DRF field validator: a user's `timezone` is an IANA name (CONTRACT §1, User object)."""
    if not is_iana_timezone(value):
        raise serializers.ValidationError("Not a valid IANA time zone (e.g. 'Europe/Paris').")
    return value
