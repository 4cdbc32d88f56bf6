"""The lifecycle's states and steps, with no database: the CLI builds its choices from them.

``identified -> contacted -> in_discussion -> agreed -> implemented -> completed``,
one step at a time; ``abandoned`` from any state but the final ones, with a
required reason. ``completed`` and ``abandoned`` are final.
"""

from __future__ import annotations

from flowmatch.registry.errors import WrongStateError

__all__ = ["STATES", "PATH", "FINAL", "ABANDONED", "next_states", "check_step"]

PATH = ("identified", "contacted", "in_discussion", "agreed", "implemented", "completed")
"""The states a synergy goes through, in order."""
ABANDONED = "abandoned"
STATES = (*PATH, ABANDONED)
FINAL = frozenset({"completed", ABANDONED})


def next_states(state: str) -> tuple[str, ...]:
    """The states a synergy in ``state`` may go to next."""
    if state in FINAL:
        return ()
    return (PATH[PATH.index(state) + 1], ABANDONED)


def check_step(synergy_id: int, current: str, to: str, reason: str | None) -> None:
    """Raise :class:`WrongStateError` unless ``current -> to`` is a step of the lifecycle."""
    if to not in STATES:
        raise WrongStateError(f"{to!r} is not a lifecycle state; give one of {', '.join(STATES)}.")
    allowed = next_states(current)
    if to not in allowed:
        if not allowed:
            why = f"it is {current}, a final state: nothing follows it"
        else:
            why = f"it is {current}; from there it may go to {' or '.join(allowed)}"
        raise WrongStateError(f"synergy {synergy_id} cannot go to {to}: {why}.")
    if to == ABANDONED and not (reason and reason.strip()):
        raise WrongStateError(f"synergy {synergy_id}: abandoning it needs a reason; give --reason "
                              "\"TEXT\" (why it was dropped: the programme learns from it).")
