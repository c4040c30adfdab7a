"""Output formats: one module per format, each turning a run result into text."""
