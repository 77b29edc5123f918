"""Outside services of the ai app, one module per subject."""
