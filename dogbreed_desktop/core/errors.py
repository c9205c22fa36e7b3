"""One base for errors whose message is fit for a person: a missing model, a folder that holds no photos, a
backbone that cannot be had offline. The CLI prints them as one line and exits; the GUI shows the message as
it is. Anything else is a bug and is shown with its type."""

from __future__ import annotations


class UserError(Exception):
    """Its `str()` says what went wrong and, where possible, what to do about it."""


def describe(error: BaseException) -> str:
    """What to show a person: the message of a UserError or OSError, else the type and the message."""
    if isinstance(error, (UserError, OSError)):
        return str(error) or type(error).__name__
    return f"{type(error).__name__}: {error}"
