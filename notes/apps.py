from django.apps import AppConfig

from recovery.registry import Recoverable, recoverable_register


class NotesConfig(AppConfig):
    name = "notes"

    def ready(self) -> None:
        """Tell recovery how to bring a deleted note back (`recovery.registry`): recovery sits
        below notes and never imports it. Imported here, not at the top, because Django loads
        this module before any model (the one place this is allowed)."""
        from notes import services  # noqa: PLC0415
        from notes.serializers import NoteSerializer, note_represent  # noqa: PLC0415

        recoverable_register(
            Recoverable(
                entity_type=services.NOTE_ENTITY_TYPE,
                snapshot=services.note_snapshot,
                restore=services.note_restore,
                represent=note_represent,
                representation=NoteSerializer,
            )
        )
