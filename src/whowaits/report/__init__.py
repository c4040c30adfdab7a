"""Output formats: one module per format, each with its `render` function, all registered in
`formats.COMMANDS` (the record is `output.OutputFormat`); and what several formats share."""


def plural(count: int, noun: str) -> str:
    """`1 finding`, `3 findings`: the one way every format counts things."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
