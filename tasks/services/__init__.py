"""Every write of the tasks app, one module per subject: `tasks` (create, update,
complete), `subtasks`, `focus`, `snapshots` (delete into a tombstone, restore),
`recurring` (templates, generation), `reminders` (and their firing job). Import the
module you need; the field rules they share live in `tasks.rules`."""
