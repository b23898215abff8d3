"""Errors a user sees: one line each, naming the file, line or key at fault."""


class BiasbenchError(Exception):
    """Base of every error the CLI reports as one line with a non-zero exit."""


class SpecError(BiasbenchError, ValueError):
    """A spec that cannot be used: names the file, the key and what was expected."""


class InputError(BiasbenchError, ValueError):
    """Bad input data: names the file and, where there is one, the line or record."""


class ValidationFailed(BiasbenchError):
    """The release gate refused a build; the report says which checks failed."""


class NotBuiltYet(BiasbenchError):
    """A command whose implementation has not landed yet."""
