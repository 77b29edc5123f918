"""OPTIONS responses (DRF metadata)."""

from __future__ import annotations

from typing import Any

from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    """OPTIONS answers name, description and formats; no per-field `actions` (which would
    run object lookups outside the view's own ownership checks)."""

    def determine_actions(self, request: Any, view: Any) -> dict[str, Any]:
        return {}

    def determine_metadata(self, request: Any, view: Any) -> dict[str, Any]:
        metadata = super().determine_metadata(request, view)
        metadata.pop("actions", None)
        return metadata
