"""Request body parsing: JSON that every later step (validation, echo in errors, storage) can handle."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json


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


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser, also refusing `\\uD800`-style lone surrogates anywhere.

    They are valid JSON escapes but not text: echoed back (an unknown field name in an
    error) or stored, they cannot be encoded, so they are a 400 here rather than a 500 later.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            text = stream.read().decode("utf-8")
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(data):
            raise ParseError("JSON parse error - unpaired surrogate escape in a string.")
        return data
