"""A teacher behind any OpenAI-compatible chat-completions endpoint.

Every request goes through the outbound policy (:mod:`workers.engine.teachers.outbound`):
the base URL is checked before each request, redirects are not followed, and each new
connection's address is checked before anything is sent. An error response is reported by
its HTTP status and error class, never by its body.

The client's own retries are off (``max_retries=0``): rate limits (429), server errors (5xx),
timeouts and dropped connections are retried here with capped exponential backoff, so the
policy is visible and tested. Each request has its own timeout, and a semaphore bounds the
requests in flight when many items are diagnosed in parallel.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from workers.engine.errors import OutboundBlocked, SpecError, TeacherError
from workers.engine.spec import TeacherSpec
from workers.engine.tasks.base import TaskFamily
from workers.engine.teachers.base import LLMTeacher
from workers.engine.teachers.outbound import check_url, guarded_http_client
from workers.engine.teachers.parsers import ParseError

MAX_RAW = 4000  # characters of a response body kept in error messages and failures
MIN_REDACTED_KEY = 8  # API keys at least this long are replaced in answers and errors


def backoff_delay(
    attempt: int, *, base: float, cap: float, retry_after: float | None = None
) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): base * 2**attempt, capped."""
    delay = min(cap, base * (2 ** attempt))
    if retry_after is not None:
        delay = max(delay, min(cap, retry_after))
    return delay


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class OpenAITeacher(LLMTeacher):
    kind = "openai"

    def __init__(
        self,
        spec: TeacherSpec,
        family: TaskFamily,
        *,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        max_tokens: int | None = 1024,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not spec.base_url:
            raise SpecError("spec.teacher.base_url", "required for an openai teacher")
        if not spec.model:
            raise SpecError("spec.teacher.model", "required for an openai teacher")
        if spec.timeout_s <= 0:
            raise SpecError("spec.teacher.timeout_s", "must be positive")
        if spec.max_retries < 0:
            raise SpecError("spec.teacher.max_retries", "must be 0 or more")
        self.allowed_hosts = tuple(spec.allowed_hosts)
        check_url(spec.base_url, self.allowed_hosts)  # a blocked URL fails the build at once
        super().__init__(family, prompts_by_role=spec.prompts, concurrency=spec.concurrency)
        import openai  # the client is only needed where a teacher actually calls out

        self._openai = openai
        self.spec = spec
        self.client = openai.OpenAI(
            base_url=spec.base_url,
            # Local OpenAI-compatible servers often take no key, but the client wants one.
            api_key=spec.api_key or "not-needed",
            timeout=spec.timeout_s,
            max_retries=0,
            http_client=guarded_http_client(self.allowed_hosts),
        )
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_tokens = max_tokens
        self._sleep = sleep
        self._slots = threading.Semaphore(max(1, spec.concurrency))

    def _complete(self, role: str, prompt: str, *, temperature: float = 0.0) -> str:
        openai = self._openai
        last, last_raw = "", ""
        attempts = self.spec.max_retries + 1
        for attempt in range(attempts):
            check_url(self.spec.base_url, self.allowed_hosts)  # before each request
            try:
                with self._slots:
                    kwargs = {"max_tokens": self.max_tokens} if self.max_tokens else {}
                    response = self.client.chat.completions.with_raw_response.create(
                        model=self.spec.model,
                        messages=[{"role": "user", "content": prompt}],
                        temperature=temperature,
                        **kwargs,
                    )
                    body = response.http_response.text
            except openai.APIStatusError as exc:
                # The status and the error class only: an error body is never shown.
                status = exc.status_code
                if status != 429 and status < 500:
                    raise TeacherError(role, f"HTTP {status} ({type(exc).__name__}) from "
                                             f"{self.spec.base_url}") from exc
                last = f"HTTP {status} ({type(exc).__name__})"
                retry_after = _retry_after(exc)
                last_raw = ""
            except openai.APITimeoutError:
                last, retry_after, last_raw = f"no answer within {self.spec.timeout_s}s", None, ""
            except openai.APIConnectionError as exc:
                blocked = _blocked_cause(exc)
                if blocked is not None:
                    raise blocked from exc
                last, retry_after, last_raw = (f"connection failed: {self._redact(str(exc))}",
                                               None, "")
            else:
                return self._read_body(role, body)
            if attempt + 1 < attempts:
                self._sleep(backoff_delay(attempt, base=self.backoff_base, cap=self.backoff_max,
                                          retry_after=retry_after))
        raise TeacherError(
            role, f"{self.spec.base_url} failed after {attempts} attempts: {last}", last_raw
        )

    def _redact(self, text: str) -> str:
        """``text`` without the API key: an answer or error that echoes the request's
        headers must not carry it into pages, logs, failures or checkpoints."""
        key = self.spec.api_key
        # A "key" of a few characters (local servers take any) is no secret, and replacing
        # it would mangle ordinary text.
        if len(key) < MIN_REDACTED_KEY or not text:
            return text
        return text.replace(key, "[redacted]")

    def _read_body(self, role: str, body: str) -> str:
        """The assistant's text from a chat-completions body; ParseError if unreadable.
        Both carry no API key (``_redact``)."""
        raw = self._redact(body[:MAX_RAW])
        try:
            data = json.loads(body)
        except ValueError:
            self._count_usage()
            raise ParseError(role, "the response is not valid JSON", raw) from None
        usage = data.get("usage") if isinstance(data, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        self._count_usage(_int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens")))
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ParseError(role, "the response has no choices[0].message.content", raw) from None
        if not isinstance(content, str) or not content.strip():
            raise ParseError(role, "the response content is empty", raw)
        return self._redact(content)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _blocked_cause(exc: BaseException) -> OutboundBlocked | None:
    """The outbound refusal a client error wraps (a connection that reached a blocked
    address), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OutboundBlocked):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
