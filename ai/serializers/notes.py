"""Shapes of `POST /notes/{id}/convert` (CONTRACT §7)."""

from __future__ import annotations

from rest_framework import serializers

from perpetua.api.serializers import CharField, ChoiceField, DateTimeField, IntegerField, StrictSerializerMixin
from tasks.models import Priority


class NoteConvertRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    """No fields: the note is the path's."""


class SuggestedTaskSerializer(serializers.Serializer):
    title = CharField()
    description = CharField(allow_blank=True)
    priority = ChoiceField(choices=Priority.choices)
    due_date = DateTimeField(allow_null=True)


class NoteConvertDataSerializer(serializers.Serializer):
    suggested_task = SuggestedTaskSerializer()
    credits_used = IntegerField(min_value=0)
    credits_remaining = IntegerField(min_value=0)


class NoteConvertEnvelopeSerializer(serializers.Serializer):
    data = NoteConvertDataSerializer()
