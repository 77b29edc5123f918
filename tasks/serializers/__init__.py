"""Input validation and output shape of the tasks app, one module per subject: `tasks`,
`subtasks`, `focus`, `recurring` (templates), `reminders`.

Output serializers declare their fields (so the OpenAPI schema documents them) but
render through a hand-written `to_representation`: a list page of 100 tasks is then
plain dict building, without DRF's per-field machinery.
"""
