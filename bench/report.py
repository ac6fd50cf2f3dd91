"""The results as a table, and the issue's goals checked against them."""

from __future__ import annotations

METRICS = ("rps", "p50_ms", "p99_ms", "cpu_us_per_req")


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(scenarios: dict[str, dict[str, dict]], runs: dict[str, dict[str, dict]]) -> str:
    lines = []
    header = (f"{'target':<20} {'rps':>10} {'p50 ms':>9} {'p99 ms':>9} {'cpu µs/req':>11} "
              f"{'errors':>7}")
    for scenario, targets in scenarios.items():
        lines += ["", f"== {scenario}", header]
        for target, figures in targets.items():
            errors = runs.get(scenario, {}).get(target, {}).get("errors")
            lines.append(
                f"{target:<20} {_fmt(figures['rps'], 0):>10} {_fmt(figures['p50_ms'], 2):>9} "
                f"{_fmt(figures['p99_ms'], 2):>9} {_fmt(figures['cpu_us_per_req'], 0):>11} "
                f"{'—' if errors is None else errors:>7}"
            )
    return "\n".join(lines)


def goals(scenarios: dict[str, dict[str, dict]]) -> list[dict]:
    """Issue 7's goals: each with the figures it compares and whether it holds (None when
    a figure is missing, e.g. LiteLLM unavailable)."""

    def get(scenario: str, target: str, metric: str) -> float | None:
        return scenarios.get(scenario, {}).get(target, {}).get(metric)

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    checks = []

    def check(name: str, value: float | None, ok: bool | None, unit: str) -> None:
        checks.append({"goal": name, "value": None if value is None else round(value, 3),
                       "unit": unit, "met": ok})

    r = ratio(get("chat_c16", "modelgate", "rps"), get("chat_c16", "litellm", "rps"))
    check("chat_c16 rps modelgate ≥ 10× litellm", r, None if r is None else r >= 10, "×")
    r = ratio(get("chat_c16", "modelgate", "rps"), get("chat_c16", "passthrough", "rps"))
    check("chat_c16 rps modelgate ≥ 60% of passthrough", r, None if r is None else r >= 0.6, "×")
    mg, direct = get("chat_c1", "modelgate", "p50_ms"), get("chat_c1", "direct", "p50_ms")
    d = None if mg is None or direct is None else mg - direct
    check("chat_c1 p50 modelgate within 1 ms of direct", d, None if d is None else d <= 1.0, "ms")
    r = ratio(get("stream_c16", "modelgate", "rps"), get("stream_c16", "litellm", "rps"))
    check("stream_c16 rps modelgate ≥ 10× litellm", r, None if r is None else r >= 10, "×")
    for scenario in ("chat_c1", "chat_c16", "chat_c64"):
        r = ratio(
            get(scenario, "modelgate", "cpu_us_per_req"),
            get(scenario, "passthrough", "cpu_us_per_req"),
        )
        check(f"{scenario} cpu/req modelgate ≤ 2× passthrough", r,
              None if r is None else r <= 2.0, "×")
    return checks


# Which of metering_cost.py's figures each scenario pays: a plain call's or a stream's.
METERED_KIND = {"chat_c1": "plain", "chat_c16": "plain", "chat_c64": "plain",
                "stream_c16": "stream"}


def metering_goals(scenarios: dict[str, dict[str, dict]], metering: dict | None) -> list[dict]:
    """Issue 13's goal: metering's CPU per call (metering_cost.py, same run) under 5 % of
    modelgate's whole CPU per call in each scenario measured."""
    checks = []
    for scenario, kind in METERED_KIND.items():
        whole = scenarios.get(scenario, {}).get("modelgate", {}).get("cpu_us_per_req")
        if scenario not in scenarios or metering is None:
            continue
        cost = metering.get(f"{kind}_us")
        share = None if cost is None or not whole else cost / whole
        checks.append({"goal": f"{scenario} metering ({kind}) < 5% of modelgate's cpu/req",
                       "value": None if share is None else round(share * 100, 2), "unit": "%",
                       "met": None if share is None else share < 0.05})
    return checks


# Which of limits_cost.py's figures each scenario pays: one caller's or sixteen's.
LIMITS_CONCURRENCY = {"chat_c1": "c1", "chat_c16": "c16", "chat_c64": "c16",
                      "stream_c16": "c16"}


def limits_goals(scenarios: dict[str, dict[str, dict]], limits: dict | None) -> list[dict]:
    """Issue 14's goal: the limits' CPU per call on Redis (limits_cost.py, same run)
    under 10 % of the CPU of a call with limits (modelgate_limits) in each scenario."""
    checks = []
    for scenario, kind in LIMITS_CONCURRENCY.items():
        whole = scenarios.get(scenario, {}).get("modelgate_limits", {}).get("cpu_us_per_req")
        if scenario not in scenarios or limits is None:
            continue
        cost = limits.get(f"{kind}_us")
        share = None if cost is None or not whole else cost / whole
        checks.append({"goal": f"{scenario} limits on redis ({kind}) < 10% of "
                               "modelgate_limits' cpu/req",
                       "value": None if share is None else round(share * 100, 2), "unit": "%",
                       "met": None if share is None else share < 0.10})
    return checks


def goals_text(checks: list[dict]) -> str:
    lines = ["", "== goals (issues 7, 13 and 14)"]
    for item in checks:
        verdict = {True: "met", False: "NOT met", None: "n/a"}[item["met"]]
        value = "—" if item["value"] is None else f"{item['value']}{item['unit']}"
        lines.append(f"{verdict:<8} {item['goal']}: {value}")
    return "\n".join(lines)
