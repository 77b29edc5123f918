"""HTTP views of the ai app, one module per subject."""
