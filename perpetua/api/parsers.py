"""Request body parsing: JSON that every later step (validation, echo in errors, storage) can handle.

Every refusal here is a 400 in our own words: a client never reads a Python message
(`use sys.set_int_max_str_digits()`, `'utf-8' codec can't decode byte ...`).
"""

from __future__ import annotations

import math
from json import JSONDecodeError
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

# No number the API takes needs more digits; longer ones cost quadratic time to convert.
MAX_INTEGER_DIGITS = 100


class _Refused(ValueError):
    """A body refused for a reason worded for the client."""


def _parse_int(text: str) -> int:
    if len(text) > MAX_INTEGER_DIGITS:
        raise _Refused(f"A number in the body has more than {MAX_INTEGER_DIGITS} digits.")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as infinity, which no JSON answer can carry back
        raise _Refused("A number in the body is out of range.")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _largest_container(value: Any) -> int:
    """The most elements any one array or object in `value` holds (iterative: depth is not a limit)."""
    largest = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            largest = max(largest, len(item))
            stack.extend(item.values())
        elif isinstance(item, list):
            largest = max(largest, len(item))
            stack.extend(item)
    return largest


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser, with the bounds every endpoint relies on.

    - `\\uD800`-style lone surrogates are refused anywhere: valid JSON escapes but not
      text, so echoed back (an unknown field name in an error) or stored they would be a 500.
    - No array or object may hold more than JSON_MAX_ITEMS elements: DRF validates every
      item of a list before its length check, so without this bound one 1 MB request of
      200 000 ids costs seconds of CPU. Per-field limits come on top (`BoundedListField`).
    - Integers are at most MAX_INTEGER_DIGITS digits and floats finite.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            text = stream.read().decode("utf-8")
            data = json.loads(
                text,
                parse_constant=json.strict_constant if self.strict else None,
                parse_int=_parse_int,
                parse_float=_parse_float,
            )
        except _Refused as exc:
            raise ParseError(str(exc)) from None
        except JSONDecodeError as exc:
            raise ParseError(f"The body is not valid JSON (line {exc.lineno}, column {exc.colno}).") from None
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None
        except ValueError:  # any other conversion failure of the json module
            raise ParseError("The body is not valid JSON.") from None
        except RecursionError:
            raise ParseError("The body is not valid JSON: nested too deeply.") from None
        if _largest_container(data) > settings.JSON_MAX_ITEMS:
            raise ParseError(f"An array or object in the body holds more than {settings.JSON_MAX_ITEMS} items.")
        if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(data):
            raise ParseError("The body is not valid JSON: unpaired surrogate escape in a string.")
        return data
