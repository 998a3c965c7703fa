"""Microsoft Graph settings (`Settings.graph`), read from GRAPH_* (and .env); documented in docs/directory.md.

Unset (`GRAPH_TENANT_ID` empty), nothing syncs: the directory comes from its file and `procurebot directory activate`.
The secret is a SecretStr, so it never reaches a log or a repr.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PUBLIC_AUTHORITY = "https://login.microsoftonline.com"
PUBLIC_GRAPH = "https://graph.microsoft.com/v1.0"


class GraphSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRAPH_", env_file=".env", extra="ignore")

    tenant_id: str = ""  # the Entra tenant (directory) id
    client_id: str = ""  # the app registration's Application (client) ID; it needs User.Read.All, GroupMember.Read.All
    client_secret: SecretStr | None = None
    authority_host: str = PUBLIC_AUTHORITY
    base_url: str = PUBLIC_GRAPH
    # how Entra users become people: offices to sites, groups to roles (docs/directory.md, examples/graph-mapping.yaml)
    mapping_file: Path | None = None
    # the server syncs every this many minutes (0: only `procurebot directory sync --from graph`)
    sync_minutes: float = Field(default=60, ge=0, le=7 * 24 * 60)
    # read each approver's automatic replies (MailboxSettings.Read) to know who is out
    read_absences: bool = True
    timeout_seconds: float = Field(default=15, gt=0, le=300)
    # how many times one request is tried again after 429/503/504 (Graph's Retry-After is waited each time)
    max_retries: int = Field(default=5, ge=0, le=20)
    ca_bundle: Path | None = None  # a company proxy's or a test server's certificate authority

    @property
    def configured(self) -> bool:
        return bool(self.tenant_id and self.client_id and self.client_secret)

    def missing(self) -> list[str]:
        """The settings a sync needs and does not have, by their variable names."""
        names = {"GRAPH_TENANT_ID": self.tenant_id, "GRAPH_CLIENT_ID": self.client_id}
        out = [name for name, value in names.items() if not value]
        if self.client_secret is None or not self.client_secret.get_secret_value():
            out.append("GRAPH_CLIENT_SECRET")
        if self.mapping_file is None:
            out.append("GRAPH_MAPPING_FILE")
        return out
