"""The one exception type the CLI turns into a clear one-line error."""


class LongplayError(Exception):
    """A failure the user can act on: the message names the input and what is wrong."""


class SettingsError(LongplayError):
    """An unknown or ill-typed setting in longplay.toml or the environment."""


class InputError(LongplayError):
    """An input file or argument that cannot be used at all (not a per-record reject)."""
