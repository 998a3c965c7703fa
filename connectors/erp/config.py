"""ERP settings, read once from the environment (or .env); connectors/erp/factory.py builds the connector.

Every variable is documented in docs/erp.md. Secrets are SecretStr so they never reach a log
or a repr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ConnectorName = Literal["sandbox", "business_central", "odoo", "netsuite", "webhook"]


class ErpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCUREBOT_", env_file=".env", extra="ignore")

    erp_connector: ConnectorName = "sandbox"
    erp_timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    erp_max_attempts: int = Field(default=8, ge=1, le=100)
    erp_backoff_base_seconds: float = Field(default=2.0, gt=0)
    erp_backoff_max_seconds: float = Field(default=900.0, gt=0)
    erp_status_sync_minutes: float = Field(default=15.0, gt=0)
    erp_master_sync_minutes: float = Field(default=60.0, gt=0)
    # how long a dispatcher holds a claimed job: a killed process's jobs are taken over once it has passed
    erp_lease_seconds: float = Field(default=300.0, gt=0, le=3600)
    # how often each server re-reads the master data a sync stored (any replica or `procurebot erp sync`)
    erp_master_refresh_seconds: float = Field(default=30.0, gt=0, le=3600)

    erp_sandbox_latency_ms: float = Field(default=0.0, ge=0)
    erp_sandbox_faults: str = ""
    erp_sandbox_seed: int | None = None

    bc_tenant_id: str = ""
    bc_client_id: str = ""
    bc_client_secret: SecretStr | None = None
    bc_environment: str = "production"
    bc_company_id: str = ""
    bc_base_url: str = ""  # default: https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0
    bc_authority_host: str = "https://login.microsoftonline.com"
    bc_scope: str = "https://api.businesscentral.dynamics.com/.default"
    bc_reference_field: str = "shipToContact"
    # the company's local currency: a new vendor in it gets a blank currency code, as Business Central expects
    bc_local_currency: str = "USD"
    bc_non_stock_account: str = ""
    bc_ca_bundle: Path | None = None
    # a custom API page serving cost-center budgets: "publisher/group/v1.0/entitySet" (empty: the directory's)
    bc_budget_api: str = ""

    odoo_url: str = ""
    odoo_api_key: SecretStr | None = None
    odoo_database: str = ""
    odoo_generic_product: str = ""
    # which field of the budget line's analytic account holds our cost-center code
    odoo_budget_key: Literal["code", "name"] = "code"

    netsuite_base_url: str = ""  # https://{account}.suitetalk.api.netsuite.com/services/rest
    netsuite_client_id: str = ""  # OAuth 2.0 client credentials (M2M): the integration record's client id
    netsuite_certificate_id: str = ""  # the certificate id NetSuite shows for the M2M mapping (the JWT's kid)
    netsuite_private_key_file: Path | None = None  # PEM private key of that certificate
    netsuite_jwt_algorithm: str = "PS256"  # PS256/384/512 for an RSA key, ES256/384/512 for an EC key
    netsuite_scopes: str = "rest_webservices"
    netsuite_token_url: str = ""  # default: {base_url}/auth/oauth2/v1/token
    netsuite_access_token: SecretStr | None = None  # a fixed bearer token instead (tests, trials)
    netsuite_subsidiary: str = ""
    netsuite_generic_item: str = ""
    # internal id of the File Cabinet folder a PO's files are uploaded to (empty: files are reported, not sent)
    netsuite_file_folder: str = ""
    # one SuiteQL SELECT giving cost_center, budget (and optional spent) per row, written for the account from its
    # Records Catalog (empty: the directory's budgets); checked at start-up, see docs/erp.md
    netsuite_budget_query: str = ""

    erp_webhook_url: str = ""
    erp_webhook_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _lease_outlasts_a_call(self) -> "ErpSettings":
        # a lease shorter than one call hands a job still in flight to a second dispatcher
        if self.erp_lease_seconds <= self.erp_timeout_seconds:
            raise ValueError(
                f"PROCUREBOT_ERP_LEASE_SECONDS ({self.erp_lease_seconds:g}) must be longer than "
                f"PROCUREBOT_ERP_TIMEOUT_SECONDS ({self.erp_timeout_seconds:g}), so a job is never "
                "handed to a second dispatcher while the first is still waiting for the ERP"
            )
        return self


def require(settings: ErpSettings, connector: str, *names: str) -> None:
    """Fail fast, naming every missing variable at once."""
    missing = [f"PROCUREBOT_{n.upper()}" for n in names if not getattr(settings, n)]
    if missing:
        raise ValueError(f"the {connector} connector needs {', '.join(missing)} (see docs/erp.md)")
