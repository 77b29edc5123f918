"""HTTP surface of the tasks app, one module per subject: `tasks`, `subtasks`, `focus`,
`recurring` (templates), `reminders`; `shared` holds the OpenAPI helpers they share."""
