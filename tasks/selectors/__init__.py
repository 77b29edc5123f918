"""Every read of the tasks app, one module per subject: `tasks` (and counts), `subtasks`,
`focus`, `recurring` (templates), `reminders`. Import the module you need."""
