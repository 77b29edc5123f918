"""Input and output shapes of the ai app, one module per subject."""
