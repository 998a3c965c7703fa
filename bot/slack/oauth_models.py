"""The tables slack_sdk's SQLAlchemy installation and OAuth state stores use, declared on our metadata.

They are built by slack_sdk's own table builders, so the migration (0003_slack_oauth), the models
and the stores agree column for column; bot/all_models.py imports this module so the
schema test compares them like every other table.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table
from sqlmodel import SQLModel

INSTALLATIONS = "slack_installations"
BOTS = "slack_bots"
STATES = "slack_oauth_states"


def build_tables(metadata: MetaData) -> list[Table]:
    """The three tables on `metadata` (ours, or a migration's scratch metadata)."""
    return [
        SQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS),
        SQLAlchemyInstallationStore.build_bots_table(metadata, BOTS),
        SQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, STATES),
    ]


installations_table, bots_table, oauth_states_table = build_tables(SQLModel.metadata)
