"""The one exception type that reaches a user as a one-line message instead of a traceback."""


class UserError(Exception):
    """A mistake the user can fix (bad path, malformed file, missing key...).

    The message is printed on one line by the CLI, which then exits non-zero. Say what was wrong
    and what to do about it.
    """
