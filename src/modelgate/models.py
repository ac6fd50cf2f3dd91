"""Every ORM model, imported in one place so that Alembic sees the whole schema."""

from modelgate.audit.models import AuditEntry
from modelgate.db import Base
from modelgate.keys.models import ProviderKey
from modelgate.limits.models import TenantLimitsRow
from modelgate.metering.models import UsageDaily, UsageEventRow
from modelgate.tenant_models.models import TenantModelRow
from modelgate.tenants.models import ApiToken, Tenant, TenantSettings

__all__ = [
    "ApiToken", "AuditEntry", "Base", "ProviderKey", "Tenant", "TenantLimitsRow", "TenantSettings",
    "TenantModelRow", "UsageDaily", "UsageEventRow",
]
