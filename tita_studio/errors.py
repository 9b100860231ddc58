"""Exceptions whose messages a user can act on.

The command line maps `InputError` to exit code 2 and every other `TitaError` to exit code 1;
the window shows the message in a dialog and logs the traceback.
"""


class TitaError(Exception):
    """Base class: something went wrong and the message says what to do about it."""


class InputError(TitaError):
    """The user's input (file, option, image) cannot be used as given."""


class ModelFileError(InputError):
    """A weights file is missing, truncated, of another variant or not a TITA checkpoint."""


class Cancelled(TitaError):
    """The user asked to stop; nothing was written."""
