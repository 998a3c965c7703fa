"""Wiring the classifiers and the optional LLM into a runtime: the learned category classifier, the LLM's
category suggester for intake, the exception summaries.

The learned category classifier (approvals/category_learning.py) always exists in a server's runtime: it trains
at start-up (in the background) from examples/category-seed.jsonl, the taxonomy and the confirmations so far.
With no model configured (the default) there is no client and no suggester; the summaries still exist and are
the deterministic ones, so approvers see what is unusual either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from approvals.category_learning import CategoryLearner
from approvals.policy.loader import LoadedPolicy
from approvals.signals import amount_thresholds
from approvals.workflow import ApprovalService
from approvals.workflow.base import Change
from bot.exception_summary import ExceptionSummaries
from bot.intake.suggest import CategorySuggester
from bot.settings import EXAMPLES
from connectors.llm import LlmClient, make_client
from connectors.llm_config import LlmSettings
from connectors.llm_tasks import LlmClassifier, LlmSummarizer

SEED_FILE = EXAMPLES / "category-seed.jsonl"


@dataclass
class LlmParts:
    settings: LlmSettings
    client: LlmClient | None
    suggester: CategorySuggester | None
    summaries: ExceptionSummaries
    # the learned category classifier the surfaces' assistants use; None for a service wired by hand
    categories: CategoryLearner | None = None

    def close(self) -> None:
        if self.suggester is not None:
            self.suggester.close()
        self.summaries.close()
        if self.client is not None:
            self.client.close()


def thresholds_of(policy: LoadedPolicy | None, service: ApprovalService) -> list[Any]:
    limits = [p.approval_limit for p in service.directory.people]
    return amount_thresholds(policy.spec.model_dump(mode="json") if policy is not None else {}, limits)


def parts(
    service: ApprovalService,
    policy: LoadedPolicy | None,
    settings: LlmSettings,
    *,
    client: LlmClient | None = None,
    seed_file: Path | None = SEED_FILE,
) -> LlmParts:
    """The category classifier, the suggester and the summaries for `service`, from the `llm` section of the
    settings; not yet told of any action (bot/runtime.py wires `summaries.on_change` in its place among the
    after-commit listeners). The classifier starts training here, on a thread of its own."""
    client = client or make_client(settings)
    suggester = None
    summarizer = None
    if client is not None:
        suggester = CategorySuggester(LlmClassifier(client, service.directory, min_confidence=settings.min_confidence))
        summarizer = LlmSummarizer(client)
    # the service's clock, read each time a summary is stored, so a clock set on the service later counts
    summaries = ExceptionSummaries(
        service.engine,
        service.directory,
        service.view,
        thresholds=thresholds_of(policy, service),
        summarizer=summarizer,
        clock=lambda: service.clock(),
    )
    categories = None
    if seed_file is not None:
        categories = CategoryLearner(service.directory, seed_file, service.engine)
        categories.start_in_background()  # the first suggestion waits for it; health checks do not
    return LlmParts(settings, client, suggester, summaries, categories)


def build(
    service: ApprovalService,
    policy: LoadedPolicy | None,
    settings: LlmSettings,
    *,
    client: LlmClient | None = None,
) -> LlmParts:
    """`parts` for a service wired by hand (tests, benches): the summaries also listen to its commits."""
    built = parts(service, policy, settings, client=client, seed_file=None)
    service.after_commit.append(built.summaries.on_change)
    return built


def card_refresher(service: ApprovalService, listener: Callable[[Change], None]) -> Callable[[str], None]:
    """Turn "a summary was stored for PR-n" into the change notice live card copies already listen to."""

    def refresh(number: str) -> None:
        view = service.view(number)
        listener(Change(number, 0, "summary", "summary", "system", "llm", view.state, service.clock()))

    return refresh
