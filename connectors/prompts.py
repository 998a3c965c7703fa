"""Prompt files: `prompts/<name>.v<N>.md`, each with its version in the name and in a header line.

A prompt file is plain Markdown with two sections, `## system` and `## user`. Placeholders are
`{{name}}`; values are substituted as given (callers pass JSON for anything a person typed, so
request text is always quoted data inside the prompt, never instructions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "prompts"
_FILE = re.compile(r"^(?P<name>[a-z_]+)\.v(?P<n>\d+)\.md$")
_SECTION = re.compile(r"^## (system|user)\s*$", re.M)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


class PromptError(ValueError):
    """A prompt file is missing, malformed, or a placeholder has no value."""


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str  # e.g. "classify.v1": what every call logs
    system: str
    user: str

    def render(self, **values: str) -> tuple[str, str]:
        """The system and user messages with every placeholder filled; a missing value is an error."""

        def fill(text: str) -> str:
            def one(m: re.Match[str]) -> str:
                if m.group(1) not in values:
                    raise PromptError(f"prompt {self.version}: no value for {{{{{m.group(1)}}}}}")
                return values[m.group(1)]

            return _PLACEHOLDER.sub(one, text)

        return fill(self.system), fill(self.user)


def parse_prompt(name: str, version: int, text: str) -> Prompt:
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise PromptError(f"prompt {name}.v{version}: needs exactly one '## system' and one '## user' section")
    return Prompt(name, f"{name}.v{version}", sections["system"], sections["user"])


@lru_cache(maxsize=32)
def load_prompt(name: str, version: int | None = None, directory: Path = PROMPTS_DIR) -> Prompt:
    """The prompt `name` at `version`, or its highest version when none is given."""
    found: dict[int, Path] = {}
    for path in directory.glob(f"{name}.v*.md"):
        m = _FILE.match(path.name)
        if m and m.group("name") == name:
            found[int(m.group("n"))] = path
    if not found:
        raise PromptError(f"no prompt file {name}.v<N>.md in {directory}")
    chosen = max(found) if version is None else version
    if chosen not in found:
        raise PromptError(f"prompt {name} has versions {sorted(found)}, not {version}")
    return parse_prompt(name, chosen, found[chosen].read_text(encoding="utf-8"))
