"""What a handler raises to steer the consumer: a failure retrying cannot fix, or a pause for a dependency."""

from __future__ import annotations

from etsygen_common import contracts


class FatalError(Exception):
    """A failure that retrying cannot fix (bad data, contract violation): the record goes straight to the
    dead-letter topic."""


class PauseConsumption(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a handler when a dependency is known to be unavailable (an open circuit breaker): the
    record is not failed; the consumer rewinds to it and pauses its partitions for ``seconds``."""

    def __init__(
        self,
        seconds: float,
        reason: str,
        *,
        database: bool = False,
        cause: contracts.WaitingReason = "dependency_unavailable",
    ) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason
        self.database = database
        """True when the consumer itself found the database unreachable (not raised by a handler)."""
        self.cause: contracts.WaitingReason = "database_unavailable" if database else cause
        """What the keyword waits for, as the ``KeywordWaiting`` event names it."""


# Both are imported from ``etsygen_common.kafka``, and a dead letter's exception-type header names the class
# by its module: keep that name what it was before the module became a package, so dead letters (and the
# dashboard's filters over them) read the same whichever version of the consumer wrote them.
FatalError.__module__ = PauseConsumption.__module__ = "etsygen_common.kafka"
