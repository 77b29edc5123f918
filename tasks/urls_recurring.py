"""Routes of recurring templates and reminders (CONTRACT §5, §6), included by tasks/urls.py."""

from django.urls import path

from tasks.views_recurring import TemplateViewSet
from tasks.views_reminders import ReminderViewSet

template_list = TemplateViewSet.as_view({"get": "list", "post": "create"})
template_detail = TemplateViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
template_generate = TemplateViewSet.as_view({"post": "generate"})
reminder_create = ReminderViewSet.as_view({"post": "create"})
reminder_list = ReminderViewSet.as_view({"get": "list"})
reminder_detail = ReminderViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})

urlpatterns: list = [
    path("templates", template_list, name="template-list"),
    path("templates/<uuid:pk>", template_detail, name="template-detail"),
    path("templates/<uuid:pk>/generate", template_generate, name="template-generate"),
    path("tasks/<uuid:task_id>/reminders", reminder_create, name="reminder-create"),
    path("reminders", reminder_list, name="reminder-list"),
    path("reminders/<uuid:pk>", reminder_detail, name="reminder-detail"),
]
