"""User-facing error type: one line, names the key or file and what is allowed."""

from __future__ import annotations


class SimInputError(ValueError):
    """Bad user input (config key, value, data file).

    The message is a single line naming the offending key or file and what is allowed.
    Entry points print it without a traceback and exit with a non-zero code.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
