"""A model's lifecycle state, and the check a chat call makes before it goes upstream.

The rule is seed 003's: an admin can disable a model; otherwise a model with an
``end_of_life_at`` in the future is ``deprecated``, and from that instant on it
is ``end_of_life``; without one it is ``active``. The state is computed from
``now`` at each call rather than stored, so a retirement date takes effect by
itself, in every process, with no deploy.

``now`` is a parameter so that tests can pin dates; it defaults to the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from modelgate.catalog.resolver import ModelSpec, Resolution, shown
from modelgate.errors import ModelNotFound, ModelRetired

State = Literal["active", "disabled", "deprecated", "end_of_life"]


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    # A naive time is taken as UTC rather than refused: comparing it with the
    # aware end_of_life_at would otherwise raise TypeError deep in a request.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now


def _day(model: ModelSpec) -> str:
    return model.end_of_life_at.date().isoformat() if model.end_of_life_at else "an unknown date"


def lifecycle_state(model: ModelSpec, now: datetime | None = None) -> State:
    if model.disabled:
        return "disabled"
    if model.end_of_life_at is None:
        return "active"
    return "deprecated" if _utc(now) < model.end_of_life_at else "end_of_life"


def notice_for(model: ModelSpec, state: State) -> str | None:
    """The user-facing notice: the file's own, or one written to fit the state.

    Written here rather than in the file so that its tense is right on both
    sides of the date ("will be retired" / "was retired").
    """
    if state not in ("deprecated", "end_of_life") or model.end_of_life_at is None:
        return None
    if model.notice:
        return model.notice
    day = _day(model)
    verb = "will be retired on" if state == "deprecated" else "was retired on"
    text = f"{model.label} {verb} {day}."
    if model.replacement:
        text += f" Use {model.replacement} instead."
    return text


def lifecycle_view(model: ModelSpec, now: datetime | None = None) -> dict[str, Any]:
    """The ``lifecycle`` object of the contract's model object."""
    state = lifecycle_state(model, now)
    eol = model.end_of_life_at
    return {
        "state": state,
        "end_of_life_at": eol.isoformat().replace("+00:00", "Z") if eol else None,
        "replacement": model.replacement,
        "notice": notice_for(model, state),
    }


def check_callable(resolution: Resolution, now: datetime | None = None) -> str | None:
    """Whether a chat call may go ahead on this model.

    Returns None (active) or the notice (deprecated: the caller sends it in a
    ``Deprecation`` header). Raises ``ModelRetired`` (410) for an end-of-life
    model, naming the replacement, and ``ModelNotFound`` (404) for a disabled one,
    which callers should not be able to tell apart from a model that never was.
    """
    model = resolution.model
    state = lifecycle_state(model, now)
    if state == "disabled":
        raise ModelNotFound(
            f"The model '{shown(resolution.requested)}' does not exist.", param="model"
        )
    if state == "end_of_life":
        message = f"The model '{model.id}' was retired on {_day(model)}."
        if model.replacement:
            message += f" Use '{model.replacement}' instead."
        else:
            message += " It has no replacement."
        raise ModelRetired(message, param="model")
    if state == "deprecated":
        return notice_for(model, state)
    return None
