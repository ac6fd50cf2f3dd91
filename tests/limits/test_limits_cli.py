"""`modelgate tenant limits` and `modelgate tenant show`, run as an operator runs them:
a subprocess with environment settings, on a SQLite file (tests/foundation/test_cli.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelgate.db import create_engine
from tests.foundation.test_cli import modelgate
from tests.limits.test_limits_storage import store_usage
from tests.metering.usage_helpers import make_event


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    return {"MODELGATE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/limits-cli.db"}


def figures(stdout: str) -> dict[str, str]:
    """``name  value`` lines as a dict."""
    return dict(line.split(None, 1) for line in stdout.strip().splitlines())


UNLIMITED = {
    "rpm": "unlimited", "tpm": "unlimited", "concurrency": "unlimited",
    "monthly_credits": "unlimited",
}


def test_limits_are_set_printed_changed_one_at_a_time_and_cleared(db_env: dict[str, str]) -> None:
    tenant_id = modelgate("tenant", "create", "acme", env=db_env).stdout.strip()

    first = modelgate(
        "tenant", "limits", "acme", "--rpm", "600", "--tpm", "200000",
        "--monthly-credits", "50.123456789", env=db_env,
    )
    assert first.returncode == 0, first.stderr
    assert figures(first.stdout) == {
        "rpm": "600", "tpm": "200000", "concurrency": "unlimited",
        "monthly_credits": "50.123456789",
    }

    # By id, one figure: the others are kept; 0 makes a figure unlimited.
    second = modelgate(
        "tenant", "limits", tenant_id, "--concurrency", "20", "--rpm", "0", env=db_env
    )
    assert second.returncode == 0, second.stderr
    assert figures(second.stdout) == {
        "rpm": "unlimited", "tpm": "200000", "concurrency": "20", "monthly_credits": "50.123456789",
    }

    # No figure: prints what is stored and changes nothing.
    again = modelgate("tenant", "limits", "acme", env=db_env)
    assert figures(again.stdout) == figures(second.stdout)

    cleared = modelgate("tenant", "limits", "acme", "--clear", env=db_env)
    assert cleared.returncode == 0, cleared.stderr
    assert figures(cleared.stdout) == UNLIMITED


def test_show_prints_the_tenant_its_limits_and_the_months_credits(
    db_env: dict[str, str]
) -> None:
    tenant_id = modelgate("tenant", "create", "shown", env=db_env).stdout.strip()
    budget = modelgate("tenant", "limits", "shown", "--monthly-credits", "10", env=db_env)
    assert budget.returncode == 0
    now = datetime.now(UTC)
    engine = create_engine(db_env["MODELGATE_DATABASE_URL"])

    async def spend() -> None:
        try:
            await store_usage(engine, [
                make_event(tenant_id, created_at=now, credits_n=1_500_000_000),
                make_event(tenant_id, created_at=now, credits_n=250_000_001),
                make_event(tenant_id, created_at=now, source="byok", credits_n=0),
            ])
        finally:
            await engine.dispose()

    asyncio.run(spend())

    shown = modelgate("tenant", "show", tenant_id, env=db_env)
    assert shown.returncode == 0, shown.stderr
    lines = figures(shown.stdout)
    assert lines["id"] == tenant_id and lines["name"] == "shown"
    assert datetime.fromisoformat(lines["created"]) <= datetime.now(UTC)
    assert lines["monthly_credits"] == "10" and lines["rpm"] == "unlimited"
    assert lines["credits_used"] == f"1.750000001 (since {now.date().replace(day=1).isoformat()})"


BAD_FIGURES = [
    (("--rpm", "-5"), "--rpm: '-5' is not a whole number of 0 or more"),
    (("--tpm", "abc"), "--tpm: 'abc' is not a whole number"),
    (("--concurrency", "2.5"), "--concurrency: '2.5' is not a whole number"),
    (("--rpm", "99999999999"), "is over the largest limit"),
    (("--monthly-credits", "-1"), "--monthly-credits: '-1' is not a decimal number"),
    (("--monthly-credits", "ten"), "is not a decimal number"),
    (("--monthly-credits", "1e3"), "is not a decimal number"),
    (("--monthly-credits", "0.0000000001"), "has more than 9 places"),
]


def test_bad_figures_are_refused_in_one_line_and_nothing_changes(db_env: dict[str, str]) -> None:
    # One tenant for every case (each command is a process of its own, ~2 s).
    assert modelgate("tenant", "create", "strict", env=db_env).returncode == 0
    before = modelgate("tenant", "limits", "strict", "--rpm", "7", env=db_env)
    assert before.returncode == 0
    for args, expected in BAD_FIGURES:
        # A valid --concurrency beside the bad figure: it must not be applied either.
        result = modelgate("tenant", "limits", "strict", "--concurrency", "1", *args, env=db_env)
        assert result.returncode == 1, args
        assert result.stdout == "", args
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stderr.startswith("modelgate: ") and expected in result.stderr, args
        assert "Traceback" not in result.stderr
    after = modelgate("tenant", "limits", "strict", env=db_env)
    assert figures(after.stdout) == figures(before.stdout) == {**UNLIMITED, "rpm": "7"}


@pytest.mark.parametrize("command", [("limits", "ghost", "--rpm", "1"), ("show", "ghost")])
def test_an_unknown_tenant_is_one_line(db_env: dict[str, str], command: tuple[str, ...]) -> None:
    result = modelgate("tenant", *command, env=db_env)
    assert result.returncode == 1
    assert result.stderr.strip() == "modelgate: no tenant with id or name 'ghost'"
