"""whowaits: a static routing linter for LLM API calls.

For every call to Claude (and other LLM batch providers) it asks who is waiting on the answer,
and reports calls that use the wrong delivery mode or a batch request the API will reject.
"""

__version__ = "0.1.0"
