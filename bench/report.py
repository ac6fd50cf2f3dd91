"""The results as a table, and the issues' goals checked against them."""

from __future__ import annotations

# Per target and scenario in the JSON's "scenarios" (ttfb: stream scenarios only).
METRICS = ("rps", "p50_ms", "p99_ms", "ttfb_p50_ms", "cpu_us_per_req")
# Per run in meta.runs: the calls, and where the machine's cores went.
RUN_FIGURES = ("requests", "errors", "error_kinds", "duration_s", "server_cores",
               "process_cores", "client_cores", "client_cpu_us_per_req")


def _fmt(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(scenarios: dict[str, dict[str, dict]], runs: dict[str, dict[str, dict]]) -> str:
    lines = []
    header = (f"{'target':<20} {'rps':>10} {'p50 ms':>9} {'p99 ms':>9} {'ttfb ms':>8} "
              f"{'cpu µs/req':>11} {'srv+cli cores':>14} {'errors':>7}")
    for scenario, targets in scenarios.items():
        lines += ["", f"== {scenario}", header]
        for target, figures in targets.items():
            run = runs.get(scenario, {}).get(target, {})
            errors = run.get("errors")
            cores = ("—" if run.get("server_cores") is None
                     else f"{run['server_cores']:.2f}+{run['client_cores']:.2f}")
            lines.append(
                f"{target:<20} {_fmt(figures['rps'], 0):>10} {_fmt(figures['p50_ms'], 2):>9} "
                f"{_fmt(figures['p99_ms'], 2):>9} {_fmt(figures.get('ttfb_p50_ms'), 2):>8} "
                f"{_fmt(figures['cpu_us_per_req'], 0):>11} {cores:>14} "
                f"{'—' if errors is None else errors:>7}"
            )
    return "\n".join(lines)


def goals_17(scenarios: dict[str, dict[str, dict]], runs: dict[str, dict[str, dict]]) -> list[dict]:
    """Issue 17's goals, modelgate against the aiohttp passthrough, Portkey and direct,
    from one run. A figure of a run with errors does not count (its rate includes
    the failed calls): such a goal fails, and says so."""

    def get(scenario: str, target: str, metric: str) -> float | None:
        return scenarios.get(scenario, {}).get(target, {}).get(metric)

    def errors(scenario: str, *targets: str) -> list[str]:
        return [f"{t} had {n} errors in {scenario}" for t in targets
                if (n := runs.get(scenario, {}).get(t, {}).get("errors"))]

    checks: list[dict] = []

    def check(name: str, scenario: str, a: float | None, b: float | None, *, kind: str,
              bound: float, unit: str, others: tuple[str, ...] = ()) -> None:
        if a is None or b is None or (kind == "ratio" and not b):
            value, ok = None, None
        elif kind == "ratio_min":
            value, ok = a / b, a / b >= bound
        elif kind == "ratio_max":
            value, ok = a / b, a / b <= bound
        else:  # "delta_max": a - b at most bound
            value, ok = a - b, a - b <= bound
        problems = errors(scenario, "modelgate", *others)
        item = {"issue": 17, "goal": name, "value": None if value is None else round(value, 3),
                "unit": unit, "met": False if problems and ok is not None else ok}
        if problems:
            item["note"] = "; ".join(problems)
        checks.append(item)

    for scenario in ("chat_c16", "chat_c64"):
        check(f"{scenario} rps modelgate ≥ 1.0× passthrough", scenario,
              get(scenario, "modelgate", "rps"), get(scenario, "passthrough", "rps"),
              kind="ratio_min", bound=1.0, unit="×", others=("passthrough",))
        check(f"{scenario} rps modelgate ≥ 2× portkey", scenario,
              get(scenario, "modelgate", "rps"), get(scenario, "portkey", "rps"),
              kind="ratio_min", bound=2.0, unit="×", others=("portkey",))
    check("chat_c1 p50 modelgate within 0.5 ms of direct", "chat_c1",
          get("chat_c1", "modelgate", "p50_ms"), get("chat_c1", "direct", "p50_ms"),
          kind="delta_max", bound=0.5, unit="ms")
    for scenario in ("chat_c1", "chat_c16", "chat_c64"):
        check(f"{scenario} cpu/req modelgate ≤ 1.0× passthrough", scenario,
              get(scenario, "modelgate", "cpu_us_per_req"),
              get(scenario, "passthrough", "cpu_us_per_req"),
              kind="ratio_max", bound=1.0, unit="×", others=("passthrough",))
    check("stream_c16 rps modelgate ≥ 1.0× passthrough", "stream_c16",
          get("stream_c16", "modelgate", "rps"), get("stream_c16", "passthrough", "rps"),
          kind="ratio_min", bound=1.0, unit="×", others=("passthrough",))
    # At c=1, as the c=1 latency goal: at c=16 the first byte waits behind 15 other calls.
    check("stream_c1 ttfb p50 modelgate within 0.5 ms of direct", "stream_c1",
          get("stream_c1", "modelgate", "ttfb_p50_ms"), get("stream_c1", "direct", "ttfb_p50_ms"),
          kind="delta_max", bound=0.5, unit="ms")
    return checks


def with_verdicts(checks: list[dict]) -> list[dict]:
    """Each goal with ``verdict``: "pass", "fail" or "n/a" (a figure is missing)."""
    for item in checks:
        item["verdict"] = {True: "pass", False: "fail", None: "n/a"}[item["met"]]
    return checks


def goals(scenarios: dict[str, dict[str, dict]]) -> list[dict]:
    """Issue 7's goals: each with the figures it compares and whether it holds (None when
    a figure is missing, e.g. LiteLLM unavailable)."""

    def get(scenario: str, target: str, metric: str) -> float | None:
        return scenarios.get(scenario, {}).get(target, {}).get(metric)

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    checks = []

    def check(name: str, value: float | None, ok: bool | None, unit: str) -> None:
        checks.append({"issue": 7, "goal": name,
                       "value": None if value is None else round(value, 3),
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
                "stream_c1": "stream", "stream_c16": "stream"}


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
        checks.append({"issue": 13,
                       "goal": f"{scenario} metering ({kind}) < 5% of modelgate's cpu/req",
                       "value": None if share is None else round(share * 100, 2), "unit": "%",
                       "met": None if share is None else share < 0.05})
    return checks


# Which of limits_cost.py's figures each scenario pays: one caller's or sixteen's.
LIMITS_CONCURRENCY = {"chat_c1": "c1", "chat_c16": "c16", "chat_c64": "c16",
                      "stream_c1": "c1", "stream_c16": "c16"}


def limits_goals(scenarios: dict[str, dict[str, dict]], limits: dict | None) -> list[dict]:
    """Issue 14's goal: the limits' CPU per call on Redis (limits_cost.py, same run)
    under 10 % of the CPU of a call with limits (modelgate: its tenant has them) in
    each scenario."""
    checks = []
    for scenario, kind in LIMITS_CONCURRENCY.items():
        whole = scenarios.get(scenario, {}).get("modelgate", {}).get("cpu_us_per_req")
        if scenario not in scenarios or limits is None:
            continue
        cost = limits.get(f"{kind}_us")
        share = None if cost is None or not whole else cost / whole
        checks.append({"issue": 14, "goal": f"{scenario} limits on redis ({kind}) < 10% of "
                               "modelgate's cpu/req",
                       "value": None if share is None else round(share * 100, 2), "unit": "%",
                       "met": None if share is None else share < 0.10})
    return checks


def goals_text(checks: list[dict]) -> str:
    lines = ["", "== goals (issue 17, then the earlier issues 7, 13 and 14)"]
    for item in checks:
        verdict = {True: "met", False: "NOT met", None: "n/a"}[item["met"]]
        value = "—" if item["value"] is None else f"{item['value']}{item['unit']}"
        note = f"  ({item['note']})" if item.get("note") else ""
        lines.append(f"{verdict:<8} #{item.get('issue', '?'):<3} {item['goal']}: {value}{note}")
    return "\n".join(lines)
