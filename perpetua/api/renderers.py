"""JSON answers rendered with orjson: the bytes DRF's renderer wrote, several times faster.

Serializers hand over plain data (timestamps already formatted by
`perpetua.api.serializers.format_datetime`); what orjson does not know natively goes through
DRF's own encoder:

- datetimes, dates and times are passed through to `_default` (orjson would write
  microseconds and `+00:00`): an aware datetime in the contract's format (UTC, `Z`,
  always three fraction digits — DRF dropped the fraction at .000 and kept other offsets),
  dates and times as DRF writes them;
- Decimal, lazy strings, generators, querysets: DRF's `JSONEncoder.default`;
- U+2028/U+2029 escaped as DRF does; non-string keys as `json.dumps` writes them.

Anything orjson refuses (an integer beyond 64 bits, a lone surrogate, an `indent` asked
for in `Accept`) is rendered by DRF's renderer instead, so the answer never depends on
which encoder ran.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from django.utils import timezone
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

from perpetua.api.serializers import format_datetime

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
_drf_encoder = JSONEncoder()


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return format_datetime(value)
    return _drf_encoder.default(value)


def dumps(data: Any) -> bytes:
    """`data` as compact UTF-8 JSON, byte for byte what DRF's JSONRenderer writes."""
    content = orjson.dumps(data, default=_default, option=_OPTIONS)
    if b"\xe2\x80\xa8" in content or b"\xe2\x80\xa9" in content:
        content = content.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return content


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            return dumps(data)
        except TypeError:  # orjson.JSONEncodeError included
            return super().render(data, accepted_media_type, renderer_context)
