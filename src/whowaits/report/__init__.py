"""Output formats: one module per format, each ending in its `FORMAT` record (the interface is
`output.OutputFormat`), all registered in `formats.COMMANDS`; and what several formats share."""


def plural(count: int, noun: str) -> str:
    """`1 finding`, `3 findings`: the one way every format counts things."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
