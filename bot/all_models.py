"""Imports every module that defines tables, so SQLModel.metadata knows them all.

Alembic's env.py and the test fixtures import this. It lives on the composition side, since the tables come
from every layer: the core's, the chat platforms' (bot/) and the sandbox ERP's (connectors/). A feature that adds
tables in its own module adds one import line here.
"""

import approvals.attachment_store  # noqa: F401  (attachments' bytes, for the database store)
import approvals.attachments  # noqa: F401  (files attached to requisitions)
import approvals.comments  # noqa: F401  (comments on requisitions)
import approvals.conversation  # noqa: F401
import approvals.directory_store  # noqa: F401  (directory versions)
import approvals.inbox  # noqa: F401  (notices kept for people no chat platform reaches)
import approvals.jobqueue  # noqa: F401
import approvals.master_data  # noqa: F401  (suppliers, items, budgets pulled from the ERP)
import approvals.metrics.indexes  # noqa: F401  (the dashboard's indexes on existing tables)
import approvals.models  # noqa: F401
import approvals.new_suppliers  # noqa: F401  (requests to add a supplier)
import approvals.outbox  # noqa: F401
import approvals.recurring  # noqa: F401  (recurring requisitions' schedules)
import approvals.scheduling.models  # noqa: F401
import approvals.suggestions  # noqa: F401  (category suggestions and exception summaries)
import bot.chat.models  # noqa: F401  (chat delivery: identities, addresses, card copies)
import bot.console.models  # noqa: F401  (console sign-in sessions)
import bot.slack.oauth_models  # noqa: F401  (Slack workspace installations and OAuth states, slack_sdk's)
import connectors.erp.sandbox  # noqa: F401  (the sandbox ERP's own ledger table)
