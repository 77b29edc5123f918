from django.apps import AppConfig

from recovery.registry import Recoverable, recoverable_register


class TasksConfig(AppConfig):
    name = "tasks"

    def ready(self) -> None:
        """Tell recovery how to bring a deleted task back (`recovery.registry`): recovery
        sits below tasks and never imports it. Imported here, not at the top, because
        Django loads this module before any model (the one place this is allowed)."""
        from tasks.serializers.tasks import TaskDetailSerializer  # noqa: PLC0415
        from tasks.services import snapshots  # noqa: PLC0415
        from tasks.views.tasks import task_recovered_data  # noqa: PLC0415

        recoverable_register(
            Recoverable(
                entity_type=snapshots.TASK_ENTITY_TYPE,
                snapshot=snapshots.task_snapshot,
                restore=snapshots.task_restore,
                represent=task_recovered_data,
                representation=TaskDetailSerializer,
            )
        )
