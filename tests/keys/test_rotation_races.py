"""`keys rotate` beside a live gateway: a PUT that commits while rotation works survives.

Rotation reads the rows it will rewrap, then writes them back. The test puts a
real PUT through a running gateway exactly between the two: a SQLAlchemy
``before_cursor_execute`` hook on rotation's own engine fires before its first
``UPDATE provider_keys`` and makes the PUT (which commits) before letting the
UPDATE run. Before the fix, that UPDATE wrote the rewrapped OLD key over the
PUT's new one on SQLite (only PostgreSQL locked the rows, and there the PUT
waited behind the whole rotation); now every write is a compare-and-swap.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from modelgate.db import create_engine, session_factory
from modelgate.keys import service
from modelgate.keys.crypto import KeyBinding, decrypt_key
from modelgate.keys.keyring import generate_keyring_spec, parse_keyring
from modelgate.keys.models import ProviderKey
from tests.support import run_gateway, seed_tenant

OLD = generate_keyring_spec("old")
NEW = generate_keyring_spec("new")
PUT_KEY = "sk-put-during-rotation-" + "P" * 16
PUT_URL = "https://1.1.1.1/v2"


@pytest.fixture(params=["gateway on the old keyring", "gateway on the new keyring"])
def gateway_keyring(request: pytest.FixtureRequest) -> str:
    """A gateway not yet restarted stores the PUT under the old key: rotation must
    rewrap the PUT's blob. One already restarted stores it under the new key."""
    return OLD if "old" in request.param else f"{NEW},{OLD}"


@pytest.fixture
def put_between(database_url: str, gateway_keyring: str) -> Iterator[str]:
    with run_gateway(database_url=database_url, encryption_keys=gateway_keyring) as gw:
        yield gw.url


class PutBeforeFirstWrite:
    """Makes one PUT, and waits for its answer, before rotation's first write."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.answer: httpx.Response | None = None

    def __call__(self, conn, cursor, statement: str, *_: object) -> None:  # type: ignore[no-untyped-def]
        writes_a_key = statement.lstrip().upper().startswith("UPDATE PROVIDER_KEYS")
        if self.answer is None and writes_a_key:
            # The gateway runs in its own thread and loop; blocking here holds
            # rotation between its read and its write until the PUT has committed.
            self.answer = httpx.put(
                f"{self.url}/v1/tenant/model_keys/openai",
                json={"api_key": PUT_KEY, "base_url": PUT_URL},
                headers=self.headers,
                timeout=10,
            )


async def test_a_put_committed_during_rotation_survives(
    clean_engine: AsyncEngine, database_url: str, put_between: str, gateway_keyring: str
) -> None:
    a, b = await seed_tenant(clean_engine), await seed_tenant(clean_engine)
    stored = {
        (a.id, "openai"): ("sk-a-openai", "https://8.8.8.8/v1"),
        (a.id, "anthropic"): ("sk-a-anthropic", None),
        (a.id, "google"): ("sk-a-google", None),
        (b.id, "openai"): ("sk-b-openai", None),
    }
    async with session_factory(clean_engine)() as session, session.begin():
        for (tenant_id, provider), (secret, base_url) in stored.items():
            await service.put_key(session, keyring=parse_keyring(OLD), tenant_id=tenant_id,
                                  provider=provider, api_key=secret, base_url=base_url)

    # Rotation runs on its own engine, as `modelgate keys rotate` does in its own process.
    rotation_engine = create_engine(database_url)
    hook = PutBeforeFirstWrite(put_between, a.headers())
    event.listen(rotation_engine.sync_engine, "before_cursor_execute", hook)
    try:
        async with session_factory(rotation_engine)() as session, session.begin():
            rewrapped = await service.rotate_all(session, keyring=parse_keyring(f"{NEW},{OLD}"))
    finally:
        await rotation_engine.dispose()

    assert hook.answer is not None and hook.answer.status_code == 200, hook.answer
    stored[(a.id, "openai")] = (PUT_KEY, PUT_URL)
    only_new = parse_keyring(NEW)
    async with clean_engine.connect() as connection:
        rows = (await connection.execute(select(ProviderKey))).all()
    assert {(row.tenant_id, row.provider) for row in rows} == set(stored)
    for row in rows:
        secret, base_url = stored[(row.tenant_id, row.provider)]
        assert (row.key_id, row.base_url) == ("new", base_url)
        binding = KeyBinding(row.tenant_id, row.provider, row.base_url)
        assert decrypt_key(only_new, row.ciphertext, binding).get_secret_value() == secret
    # The PUT's blob is rewrapped on the retry if it was stored under the old key;
    # one stored under the new key is left alone.
    assert rewrapped == (4 if gateway_keyring == OLD else 3)
