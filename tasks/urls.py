from django.urls import path

from tasks.views.focus import FocusActiveView, FocusEndView, FocusSessionViewSet, FocusStartView
from tasks.views.recurring import TemplateViewSet
from tasks.views.reminders import ReminderViewSet
from tasks.views.subtasks import SubtaskViewSet
from tasks.views.tasks import TaskViewSet

task_list = TaskViewSet.as_view({"get": "list", "post": "create"})
task_detail = TaskViewSet.as_view({"get": "retrieve", "patch": "partial_update", "put": "update", "delete": "destroy"})
task_force_complete = TaskViewSet.as_view({"post": "force_complete"})
subtask_collection = SubtaskViewSet.as_view({"get": "list", "post": "create"})
subtask_reorder = SubtaskViewSet.as_view({"put": "reorder"})
subtask_detail = SubtaskViewSet.as_view({"patch": "partial_update", "put": "update", "delete": "destroy"})
subtask_complete = SubtaskViewSet.as_view({"post": "complete"})
template_list = TemplateViewSet.as_view({"get": "list", "post": "create"})
template_detail = TemplateViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
template_generate = TemplateViewSet.as_view({"post": "generate"})
task_reminders = ReminderViewSet.as_view({"get": "list_for_task", "post": "create_for_task"})
reminder_list = ReminderViewSet.as_view({"get": "list", "post": "create"})
reminder_detail = ReminderViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "put": "update", "delete": "destroy"}
)
focus_session_list = FocusSessionViewSet.as_view({"get": "list", "post": "create"})
focus_session_active = FocusSessionViewSet.as_view({"get": "active"})
focus_session_end = FocusSessionViewSet.as_view({"post": "end"})
task_focus_sessions = FocusSessionViewSet.as_view({"get": "list_for_task"})

urlpatterns: list = [
    path("tasks", task_list, name="task-list"),
    path("tasks/<uuid:pk>", task_detail, name="task-detail"),
    path("tasks/<uuid:pk>/force-complete", task_force_complete, name="task-force-complete"),
    path("tasks/<uuid:task_id>/subtasks", subtask_collection, name="subtask-list"),
    path("tasks/<uuid:task_id>/subtasks/reorder", subtask_reorder, name="subtask-reorder"),
    path("subtasks/<uuid:pk>", subtask_detail, name="subtask-detail"),
    path("subtasks/<uuid:pk>/complete", subtask_complete, name="subtask-complete"),
    path("focus/start", FocusStartView.as_view(), name="focus-start"),
    path("focus/end", FocusEndView.as_view(), name="focus-end"),
    path("focus/active", FocusActiveView.as_view(), name="focus-active"),
    path("focus-sessions", focus_session_list, name="focus-session-list"),
    path("focus-sessions/active", focus_session_active, name="focus-session-active"),
    path("focus-sessions/<uuid:pk>/end", focus_session_end, name="focus-session-end"),
    path("tasks/<uuid:task_id>/focus-sessions", task_focus_sessions, name="task-focus-sessions"),
    path("templates", template_list, name="template-list"),
    path("templates/<uuid:pk>", template_detail, name="template-detail"),
    path("templates/<uuid:pk>/generate", template_generate, name="template-generate"),
    path("tasks/<uuid:task_id>/reminders", task_reminders, name="task-reminder-list"),
    path("reminders", reminder_list, name="reminder-list"),
    path("reminders/<uuid:pk>", reminder_detail, name="reminder-detail"),
]
