"""The one module that talks to the language model: any OpenAI-compatible endpoint
(`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_MODEL`) driven through the OpenAI Agents SDK.

Configured as `../shared/LIBRARY_NOTES.md` says, explicitly rather than from the
environment (which would keep the SDK on the Responses API most compatible servers lack):

* an explicit `AsyncOpenAI` client per event loop (its connection pool belongs to one
  loop), `max_retries=AI_MAX_RETRIES`, `timeout=AI_TIMEOUT_SECONDS`;
* every agent on `OpenAIChatCompletionsModel` (the chat-completions API), and the SDK's
  default API set to chat completions as well;
* tracing disabled unless `AI_TRACING_ENABLED` (it would export to OpenAI's platform).

Every failure — key unset, provider error or unreachable, malformed output, slower than
`AI_TIMEOUT_SECONDS` for the whole call (tool round-trips and retries included) — is one
exception, `ProviderUnavailable`, with a short `reason` for logs and metrics; the caller
turns it into 503 AI_SERVICE_UNAVAILABLE and refunds.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Sequence
from typing import Any

import openai
import pydantic
from agents import (
    Agent,
    AgentsException,
    MaxTurnsExceeded,
    ModelBehaviorError,
    ModelTimeoutError,
    OpenAIChatCompletionsModel,
    RawResponsesStreamEvent,
    Runner,
    Tool,
    set_default_openai_api,
    set_tracing_disabled,
)
from django.conf import settings
from openai.types.responses import ResponseTextDeltaEvent

from ai.providers.loop_clients import PerLoop

logger = logging.getLogger(__name__)


class ProviderUnavailable(Exception):
    """The model could not give a usable answer in time; `reason` is one of
    unconfigured | timeout | error | malformed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def ensure_configured() -> None:
    """Before any credit moves: without a key every AI endpoint is 503 (CONTRACT §17)."""
    if not settings.OPENAI_API_KEY:
        raise ProviderUnavailable("unconfigured")


@functools.cache
def _configure_sdk() -> None:
    set_default_openai_api("chat_completions")
    set_tracing_disabled(not settings.AI_TRACING_ENABLED)


def _build_client(base_url: str, api_key: str, max_retries: int, timeout: float) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=max_retries, timeout=timeout)


_clients = PerLoop(_build_client)


def _client() -> openai.AsyncOpenAI:
    return _clients.get(
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.AI_MAX_RETRIES, settings.AI_TIMEOUT_SECONDS
    )


def _agent(*, name: str, instructions: str, tools: Sequence[Tool], output_type: Any) -> Agent[Any]:
    ensure_configured()
    _configure_sdk()
    return Agent(
        name=name,
        instructions=instructions,
        tools=list(tools),
        output_type=output_type,
        model=OpenAIChatCompletionsModel(model=settings.OPENAI_MODEL, openai_client=_client()),
    )


def _as_unavailable(exc: BaseException) -> ProviderUnavailable:
    """The provider's failure as our one exception (the original is logged by the caller)."""
    if isinstance(exc, ProviderUnavailable):
        return exc
    if isinstance(exc, (TimeoutError, openai.APITimeoutError, ModelTimeoutError)):
        return ProviderUnavailable("timeout", type(exc).__name__)
    if isinstance(exc, (openai.APIStatusError, openai.APIConnectionError)):
        return ProviderUnavailable("error", type(exc).__name__)
    if isinstance(exc, (ModelBehaviorError, MaxTurnsExceeded, pydantic.ValidationError, json.JSONDecodeError)):
        return ProviderUnavailable("malformed", type(exc).__name__)
    if isinstance(exc, (openai.APIError, AgentsException)):
        return ProviderUnavailable("error", type(exc).__name__)
    # Anything else came out of a response the SDK could not read (e.g. no `choices`).
    return ProviderUnavailable("malformed", type(exc).__name__)


async def run(
    *,
    name: str,
    instructions: str,
    input: str | list[Any],
    context: Any = None,
    tools: Sequence[Tool] = (),
    output_type: Any = None,
) -> Any:
    """One agent run to its final output (text, or an `output_type` instance: the SDK asks
    for strict JSON-schema output and validates it), within AI_TIMEOUT_SECONDS."""
    agent = _agent(name=name, instructions=instructions, tools=tools, output_type=output_type)
    try:
        async with asyncio.timeout(settings.AI_TIMEOUT_SECONDS):
            result = await Runner.run(agent, input, context=context, max_turns=settings.AI_MAX_TURNS)
    except Exception as exc:
        logger.warning("AI provider call %s failed", name, exc_info=True)
        raise _as_unavailable(exc) from exc
    if result.final_output is None:
        raise ProviderUnavailable("malformed", "no output")
    return result.final_output


class TextStream:
    """A streamed agent run: `next_text()` gives each text delta as the model sends it, ""
    for a step without text, None at the end; `close()` stops the run and closes the
    provider's HTTP stream at once. The whole stream shares one AI_TIMEOUT_SECONDS deadline."""

    def __init__(self, *, name: str, instructions: str, input: str | list[Any], context: Any, tools: Sequence[Tool]):
        agent = _agent(name=name, instructions=instructions, tools=tools, output_type=None)
        self.name = name
        self._deadline = asyncio.get_running_loop().time() + settings.AI_TIMEOUT_SECONDS
        self._result = Runner.run_streamed(agent, input, context=context, max_turns=settings.AI_MAX_TURNS)
        self._events = self._result.stream_events()
        self.text = ""

    async def next_text(self) -> str | None:
        try:
            async with asyncio.timeout_at(self._deadline):
                while True:
                    event = await anext(self._events, None)
                    if event is None:
                        return None
                    if isinstance(event, RawResponsesStreamEvent) and isinstance(event.data, ResponseTextDeltaEvent):
                        self.text += event.data.delta
                        return event.data.delta
        except Exception as exc:
            logger.warning("AI provider stream %s failed", self.name, exc_info=True)
            await self.close()
            raise _as_unavailable(exc) from exc

    async def close(self) -> None:
        self._result.cancel()
        await self._events.aclose()
