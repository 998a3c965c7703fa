"""The factory that builds the configured ERP connector from ErpSettings (connectors/erp/config.py).

It sits above the connectors (each reads its settings from config.py), so nothing below imports it. Only the
configured connector's module is imported, so a process never loads the SDKs of the ERPs it does not use.
"""

from __future__ import annotations

from sqlalchemy import Engine

from approvals.directory import Directory
from connectors.erp.base import AttachmentContent, ErpConnector
from connectors.erp.config import ErpSettings


def build_connector(
    settings: ErpSettings,
    engine: Engine,
    directory: Directory,
    *,
    attachment_content: AttachmentContent | None = None,
) -> ErpConnector:
    """The configured connector, or a ValueError naming the missing variables.

    `attachment_content` reads a PO's files' bytes (see base.AttachmentContent); the connectors that send files
    into the ERP (Business Central, Odoo, NetSuite) need it, the sandbox and the webhook send references only."""
    name = settings.erp_connector
    if name == "sandbox":
        from connectors.erp.sandbox import SandboxErp, SandboxFaults

        faults = SandboxFaults.parse(
            settings.erp_sandbox_faults, settings.erp_sandbox_latency_ms, settings.erp_sandbox_seed
        )
        return SandboxErp(engine, directory, faults=faults)
    if name == "business_central":
        from connectors.erp.business_central import BusinessCentral

        return BusinessCentral.from_settings(settings, attachment_content=attachment_content)
    if name == "odoo":
        from connectors.erp.odoo import Odoo

        return Odoo.from_settings(settings, attachment_content=attachment_content)
    if name == "netsuite":
        from connectors.erp.netsuite import NetSuite

        return NetSuite.from_settings(settings, attachment_content=attachment_content)
    from connectors.erp.webhook import SignedWebhook

    return SignedWebhook.from_settings(settings)
