"""The LLM section of the settings (`Settings.llm`): where the model is and how long to wait for it.

Its own module, so reading the settings does not load the openai client (connectors/llm.py uses it).
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LlmSettings(BaseSettings):
    """Where the model is and how long to wait for it. Read once at start-up."""

    # the prefix keeps bare names (API_KEY, MODEL) from other software out; the OPENAI_* names are aliases
    model_config = SettingsConfigDict(
        env_prefix="PROCUREBOT_LLM_", env_file=".env", extra="ignore", populate_by_name=True
    )

    api_key: SecretStr | None = Field(default=None, validation_alias=AliasChoices("OPENAI_API_KEY"))
    base_url: str | None = Field(default=None, validation_alias=AliasChoices("OPENAI_BASE_URL"))
    model: str | None = Field(default=None, validation_alias=AliasChoices("PROCUREBOT_LLM_MODEL"))
    # per attempt; the assistant never waits on it (the call runs off the chat's critical path)
    timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, validation_alias=AliasChoices("PROCUREBOT_LLM_TIMEOUT_SECONDS")
    )
    max_retries: int = Field(default=0, ge=0, le=3, validation_alias=AliasChoices("PROCUREBOT_LLM_MAX_RETRIES"))
    # sent only when set: some models (reasoning ones) refuse any temperature but their default
    temperature: float | None = Field(
        default=None, ge=0, le=2, validation_alias=AliasChoices("PROCUREBOT_LLM_TEMPERATURE")
    )
    # below this the requester is asked to confirm the category instead of it being filled in
    min_confidence: float = Field(
        default=0.75, ge=0, le=1, validation_alias=AliasChoices("PROCUREBOT_LLM_MIN_CONFIDENCE")
    )

    @field_validator("api_key", "base_url", "model", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _usable_or_off(self) -> "LlmSettings":
        # a model name with nowhere to send it is a half-done configuration: say so at start-up
        if self.model and self.api_key is None and not self.base_url:
            raise ValueError(
                "PROCUREBOT_LLM_MODEL is set but OPENAI_API_KEY is not: set the key (or OPENAI_BASE_URL "
                "for a local server), or unset PROCUREBOT_LLM_MODEL to run without the LLM"
            )
        return self

    @property
    def configured(self) -> bool:
        """A model name and either a key or a local server: both are needed to make any call."""
        return bool(self.model) and (self.api_key is not None or bool(self.base_url))

    def __repr__(self) -> str:  # the key never appears, even in a traceback
        return f"LlmSettings(model={self.model!r}, base_url={self.base_url!r}, timeout={self.timeout_seconds})"
