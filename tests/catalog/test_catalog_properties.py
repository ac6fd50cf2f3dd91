"""Properties of resolution over arbitrary input (hypothesis): it raises nothing
but ModelNotFound, and it does not care about case."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from modelgate.catalog import Resolution, load_catalog
from modelgate.catalog.resolver import fold
from modelgate.errors import ModelNotFound

# Built once: hypothesis calls the tests many times, and the catalog is immutable.
CATALOG = load_catalog()

IDS = [m.id for m in CATALOG.models]
ALIASES = [alias for m in CATALOG.models for alias in CATALOG.aliases_of(m.id)]
PROVIDER_NAMES = [name for p in CATALOG.providers for name in (p.id, *p.aliases)]
PREFIXES = ["gpt-", "chatgpt-", "o1", "o9", "ft:", "claude-", "gemini-", "deepseek-", "mercury"]
NAMES = IDS + ALIASES + PROVIDER_NAMES + PREFIXES
# Letters whose case mapping is not one-to-one, next to the ASCII the ids use.
TRICKY = "ıİßẞſKΣσςǅ\u0307"

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def case_scrambled(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(NAMES))
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(name, flips, strict=True))


model_strings = st.one_of(
    st.text(max_size=60),
    case_scrambled(),
    st.builds(
        lambda p, s: f"{p}:{s}",
        st.sampled_from(PROVIDER_NAMES),
        st.one_of(case_scrambled(), st.text(max_size=20)),
    ),
    st.builds(lambda p, s: p + s, st.sampled_from(PREFIXES), st.text(max_size=20)),
    st.builds(
        lambda name, noise: name + noise,
        case_scrambled(),
        st.text(alphabet=TRICKY + " :/#-.0123456789", max_size=4),
    ),
    st.text(alphabet="abcdegilmnoprstuz0123456789-.:/# " + TRICKY, max_size=24),
)


def outcome(requested: str) -> tuple[object, ...]:
    """What resolution decided, up to the case of a passed-through id."""
    try:
        resolution = CATALOG.resolve(requested)
    except ModelNotFound:
        return ("not found",)
    model_id = resolution.model.id if resolution.in_catalog else fold(resolution.model.id)
    return (resolution.provider.id, resolution.in_catalog, model_id)


@PROPERTY
@given(model_strings)
@example("")
@example("\x00")
@example("ıİ:ß")
@example(":")
@example("openai:")
@example("x" * 5000)
def test_resolve_raises_nothing_but_model_not_found(requested: str) -> None:
    try:
        resolution = CATALOG.resolve(requested)
    except ModelNotFound as error:
        assert error.param == "model" and len(error.message) < 400
        return
    assert isinstance(resolution, Resolution)
    assert resolution.requested == requested
    assert resolution.model.provider == resolution.provider.id
    if resolution.in_catalog:
        assert CATALOG.get(resolution.model.id) is resolution.model


@PROPERTY
@given(model_strings)
@example("claude-haıku-4-5")  # dotless i: upper() makes it ASCII
@example("GPT-5 MİNİ")
@example("ẞ")
def test_resolution_ignores_case(requested: str) -> None:
    assert outcome(requested) == outcome(requested.upper()) == outcome(requested.lower())


@PROPERTY
@given(st.text(max_size=40))
def test_fold_gives_one_key_for_every_case(text: str) -> None:
    assert fold(text) == fold(text.upper()) == fold(text.lower())


@PROPERTY
@given(case_scrambled())
def test_a_name_in_any_case_resolves_like_the_name(name: str) -> None:
    canonical = next(n for n in NAMES if fold(n) == fold(name))
    assert outcome(name) == outcome(canonical)


@PROPERTY
@given(st.sampled_from(PROVIDER_NAMES), st.text(max_size=30).filter(lambda s: s.strip() != ""))
def test_a_known_provider_always_routes(provider_name: str, model_part: str) -> None:
    # No catalog name holds a colon, so "provider:anything" never matches one whole.
    assert not any(":" in name for name in IDS + ALIASES)
    resolution = CATALOG.resolve(f"{provider_name}:{model_part}")
    assert resolution.provider is CATALOG.provider(provider_name)
