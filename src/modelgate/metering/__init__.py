"""Usage metering: one event per call, priced, buffered and written in batches.

    events.py          UsageEvent, the record of one call (the contract's fields)
    meter.py           CallMeter: what one call learns, closed into one event
    stream_tap.py      reads a stream's usage chunk (handed on only if asked for)
    sink.py            a closed meter → priced event → metrics + recorder
    pricing.py         list price x tokens -> cost in nano-USD; credits for hosted calls
    estimate.py        token counts when the provider reported none (a cut stream)
    encodings/         the vendored tiktoken rank files and their loader (NOTICE.md)
    recorder.py        the bounded in-memory buffer and its batch writer
    batch_write.py     one batch, exactly once, with its daily roll-up
    partitions.py      monthly partitions and retention (PostgreSQL)
    models.py          the usage_events and usage_daily tables
    query.py           the aggregates and the events page
    router.py          GET /v1/tenant/usage and /v1/tenant/usage/events
    metrics.py         OpenTelemetry GenAI metrics in Prometheus form
    metrics_router.py  GET /metrics and its access rule
    multiprocess.py    the workers' shared metrics directory for `serve --workers N`
"""
