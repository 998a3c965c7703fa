"""The LLM connector: one structured call to any OpenAI-compatible server, logged, bounded, never trusted raw.

Configured by `OPENAI_API_KEY`, `OPENAI_BASE_URL` (OpenAI, Azure OpenAI's v1 endpoint, vLLM,
Ollama...) and `PROCUREBOT_LLM_MODEL` (`LlmSettings` in connectors/llm_config.py); with no model set,
nothing here is used and the product runs on its deterministic paths. Retries belong to the openai client alone
(`PROCUREBOT_LLM_MAX_RETRIES`, 0 by default: a failed call falls back at once, which is cheaper
for the person than waiting); this module never loops. Every call logs the prompt version, the
model, the latency, the token counts and the outcome; never the key, never the prompt text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from connectors.llm_config import LlmSettings
from connectors.prompts import Prompt

log = logging.getLogger("procurebot.llm")
T = TypeVar("T", bound=BaseModel)
Outcome = Literal["ok", "refused", "invalid", "timeout", "rate_limited", "server_error", "error", "off"]


@dataclass(frozen=True)
class LlmResult(Generic[T]):
    """What one call gave: the parsed answer (None unless outcome is "ok") and what it cost."""

    outcome: Outcome
    parsed: T | None
    prompt_version: str
    model: str
    latency_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "ok" and self.parsed is not None


class LlmClient:
    """A thin, synchronous wrapper around `openai.OpenAI` for structured answers."""

    def __init__(self, settings: LlmSettings, *, client: openai.OpenAI | None = None) -> None:
        if not settings.configured:
            raise ValueError(
                "the LLM is not configured: set PROCUREBOT_LLM_MODEL and OPENAI_API_KEY "
                "(or OPENAI_BASE_URL for a local server)"
            )
        self.settings = settings
        self.model: str = settings.model  # type: ignore[assignment]
        key = settings.api_key.get_secret_value() if settings.api_key else "no-key-needed"
        self._client = client or openai.OpenAI(
            api_key=key,
            base_url=settings.base_url or None,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
        )

    def close(self) -> None:
        self._client.close()

    def structured(self, prompt: Prompt, schema: type[T], *, task: str, **values: str) -> LlmResult[T]:
        """Ask `prompt` (filled with `values`) for an answer shaped like `schema`. Never raises for the
        model's or the network's failures: the outcome says what happened and the caller falls back."""
        system, user = prompt.render(**values)
        started = time.perf_counter()
        outcome: Outcome = "error"
        parsed: T | None = None
        detail = ""
        usage: dict[str, int] = {}
        try:
            extra = {"temperature": self.settings.temperature} if self.settings.temperature is not None else {}
            raw = self._client.chat.completions.with_raw_response.parse(
                model=self.model,
                response_format=schema,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                **extra,
            )
            usage = _usage(raw.http_response)  # read first: an answer that fails to parse still cost tokens
            completion = raw.parse()
            message = completion.choices[0].message if completion.choices else None
            if message is None:
                outcome, detail = "invalid", "no choices"
            elif message.refusal:
                outcome, detail = "refused", "the model declined"
            elif message.parsed is None:
                outcome, detail = "invalid", "empty answer"
            else:
                outcome, parsed = "ok", message.parsed
        except (ValidationError, ValueError) as exc:  # not JSON, or JSON of the wrong shape
            outcome, detail = "invalid", type(exc).__name__
        except openai.APITimeoutError:
            outcome, detail = "timeout", f"no answer within {self.settings.timeout_seconds:g} s"
        except openai.RateLimitError:
            outcome, detail = "rate_limited", "429"
        except openai.InternalServerError as exc:
            outcome, detail = "server_error", str(exc.status_code)
        except openai.ContentFilterFinishReasonError:
            outcome, detail = "refused", "content filter"
        except openai.LengthFinishReasonError:
            outcome, detail = "invalid", "answer cut off at the token limit"
        except openai.APIStatusError as exc:
            outcome, detail = "error", str(exc.status_code)
        except openai.OpenAIError as exc:  # connection refused, DNS, ...
            outcome, detail = "error", type(exc).__name__
        latency = (time.perf_counter() - started) * 1000
        result = LlmResult(
            outcome,
            parsed,
            prompt.version,
            self.model,
            latency,
            usage.get("prompt_tokens", 0),
            usage.get("completion_tokens", 0),
            detail,
        )
        log.info(
            "llm call task=%s prompt=%s model=%s outcome=%s latency_ms=%.0f prompt_tokens=%d completion_tokens=%d%s",
            task,
            result.prompt_version,
            result.model,
            result.outcome,
            result.latency_ms,
            result.prompt_tokens,
            result.completion_tokens,
            f" detail={detail}" if detail else "",
            extra={
                "llm": {
                    "task": task,
                    "prompt_version": result.prompt_version,
                    "model": result.model,
                    "outcome": result.outcome,
                    "latency_ms": round(result.latency_ms, 1),
                    "prompt_tokens": result.prompt_tokens,
                    "completion_tokens": result.completion_tokens,
                }
            },
        )
        return result


def _usage(response: object) -> dict[str, int]:
    try:
        data = response.json().get("usage") or {}  # type: ignore[attr-defined]
        return {k: int(data.get(k) or 0) for k in ("prompt_tokens", "completion_tokens")}
    except Exception:  # noqa: BLE001 - counts are for the log; a strange body must not fail the call
        return {}


def make_client(settings: LlmSettings) -> LlmClient | None:
    """The client for these settings (the `llm` section), or None when no model is configured (the default)."""
    return LlmClient(settings) if settings.configured else None
