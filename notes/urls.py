from django.urls import path

from notes.views import NoteViewSet

note_list = NoteViewSet.as_view({"get": "list", "post": "create"})
note_detail = NoteViewSet.as_view({"get": "retrieve", "patch": "partial_update", "put": "update", "delete": "destroy"})

urlpatterns = [
    path("notes", note_list, name="note-list"),
    path("notes/<uuid:pk>", note_detail, name="note-detail"),
]
