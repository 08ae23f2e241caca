"""Errors raised by analogtrain.

Every invalid user input raises :class:`ConfigError` (a ``ValueError``) whose message names the
parameter and its valid range, before any state changes.
"""


class ConfigError(ValueError):
    """An invalid parameter: the message names it and states the valid range."""
