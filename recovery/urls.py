from django.urls import path

from recovery.views import ActivityViewSet, TombstoneViewSet

urlpatterns = [
    path("tombstones", TombstoneViewSet.as_view({"get": "list"}), name="tombstone-list"),
    path("tombstones/<uuid:id>/recover", TombstoneViewSet.as_view({"post": "recover"}), name="tombstone-recover"),
    # Alias (CONTRACT §14); a different shape from tasks/<uuid:id>, so no clash with the tasks routes.
    path("tasks/recover/<uuid:id>", TombstoneViewSet.as_view({"post": "recover_alias"}), name="task-recover"),
    path("activity", ActivityViewSet.as_view({"get": "list"}), name="activity-list"),
    path("users/<uuid:user_id>/activity", ActivityViewSet.as_view({"get": "list_for_user"}), name="users-activity"),
]
