"""Output formats: one module per format, each turning a run result into text."""


def plural(count: int, noun: str) -> str:
    """`1 finding`, `3 findings`: the one way every format counts things."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
