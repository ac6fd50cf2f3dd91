"""From the ``model`` a caller named to the members that may serve it, and the
calling of those members: tenant names first (configs, groups), cooldowns,
failover, the config rules, the one admission of a call.

    names.plan_for         model → Plan (one member, or a group's in trying order)
    targets.resolve_member  member → catalog Resolution (a config's base), lifecycle, type
    targets.choose_key      resolution → UpstreamTarget on the tenant's or platform's key
    prepared.PreparedMember a member ready to call: its target, key, lifecycle headers
    config_rules.apply      a config's system prompt, max_tokens and streaming switch
    admission.admit_plan    the limits: once per call, the worst case of the members
    failover.call_members   try the members in order, skipping on the contract's list
    cooldown.Cooldowns      members that just failed go last for a few seconds
    call.serve_call         one call of chat or embeddings, body to answer, one usage event
"""
