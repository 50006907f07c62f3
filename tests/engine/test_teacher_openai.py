"""The openai teacher against a chat-completions server on loopback."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.engine.teacher_helpers import SumFamily, make_item
from workers.engine.errors import SpecError, TeacherError
from workers.engine.spec import TeacherSpec
from workers.engine.teachers import build_teacher
from workers.engine.teachers.openai_teacher import OpenAITeacher, backoff_delay

ITEM = make_item(47, 38)
SKILLS = ["add", "carry"]
GOOD_GRADE = "<judge>incorrect</judge><reason>no carry</reason><skill>carry</skill>"


def completion(content, prompt_tokens=11, completion_tokens=7):
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })


class FakeServer:
    """Each request pops the next scripted reply: (status, body, delay_s)."""

    def __init__(self, replies, host="127.0.0.1", headers=None):
        self.replies = list(replies)
        extra_headers = dict(headers or {})
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with server.lock:
                    server.requests.append({"path": self.path, "body": body,
                                            "auth": self.headers.get("Authorization")})
                    reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                status, payload, delay = reply
                if delay:
                    time.sleep(delay)
                data = payload.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in extra_headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self.httpd = server_class((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.port}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def teacher_for(server, **spec_fields):
    # The fake server listens on loopback, which the outbound policy refuses unless allowed.
    fields = {"kind": "openai", "base_url": server.url, "model": "m", "api_key": "k",
              "timeout_s": 2.0, "max_retries": 3, "concurrency": 2,
              "allowed_hosts": ("127.0.0.1",), **spec_fields}
    sleeps: list[float] = []
    teacher = build_teacher(TeacherSpec(**fields), SumFamily(), backoff_base=0.01,
                            backoff_max=0.05, sleep=sleeps.append)
    return teacher, sleeps


def test_success_sends_the_rendered_prompt_and_counts_usage():
    with FakeServer([(200, completion(GOOD_GRADE), 0)]) as server:
        teacher, sleeps = teacher_for(server)
        assert isinstance(teacher, OpenAITeacher)
        assert teacher.diagnose(ITEM, "75", SKILLS) == ("carry",)
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer k"
    assert request["body"]["model"] == "m"
    assert "Student answer: 75" in request["body"]["messages"][0]["content"]
    assert (teacher.usage.calls, teacher.usage.prompt_tokens, teacher.usage.completion_tokens) \
        == (1, 11, 7)
    assert sleeps == [] and teacher.failures == []


def test_429_then_success_is_retried_with_backoff():
    replies = [(429, json.dumps({"error": {"message": "slow down"}}), 0),
               (503, "{}", 0),
               (200, completion(GOOD_GRADE, 5, 3), 0)]
    with FakeServer(replies) as server:
        teacher, sleeps = teacher_for(server)
        assert teacher.diagnose(ITEM, "75", SKILLS) == ("carry",)
    assert len(server.requests) == 3
    assert sleeps == [0.01, 0.02]
    assert teacher.usage.calls == 1 and teacher.usage.prompt_tokens == 5
    assert teacher.failures == []


def test_timeout_is_retried_then_recorded():
    with FakeServer([(200, completion(GOOD_GRADE), 1.0)]) as server:
        teacher, sleeps = teacher_for(server, timeout_s=0.2, max_retries=1)
        started = time.monotonic()
        assert teacher.diagnose(ITEM, "75", SKILLS) == ()
        assert time.monotonic() - started < 1.5
    assert len(server.requests) == 2
    assert sleeps == [0.01]
    [failure] = teacher.failures
    assert failure.role == "grade"
    assert "failed after 2 attempts: no answer within 0.2s" in failure.message
    assert failure.attempts == 1  # one teacher attempt, its transport retries exhausted


def test_malformed_json_is_retried_three_times_then_recorded_with_raw_text():
    with FakeServer([(200, "{not json", 0)]) as server:
        teacher, _ = teacher_for(server)
        with pytest.raises(TeacherError, match="not valid JSON"):
            teacher.solve(ITEM)
    assert len(server.requests) == 3
    [failure] = teacher.failures
    assert (failure.role, failure.attempts, failure.raw) == ("solve", 3, "{not json")


def test_unparsable_content_is_retried_then_recorded():
    with FakeServer([(200, completion("The answer is 85."), 0)]) as server:
        teacher, _ = teacher_for(server)
        with pytest.raises(TeacherError):
            teacher.solve(ITEM)
    assert len(server.requests) == 3
    assert teacher.failures[0].raw == "The answer is 85."
    assert teacher.usage.calls == 3 and teacher.usage.prompt_tokens == 33


def test_skill_not_on_the_list_is_retried_then_recorded():
    bad = "<judge>incorrect</judge><reason>r</reason><skill>division</skill>"
    with FakeServer([(200, completion(bad), 0)]) as server:
        teacher, _ = teacher_for(server)
        assert teacher.diagnose(ITEM, "75", SKILLS) == ()
    assert len(server.requests) == 3
    [failure] = teacher.failures
    assert "skill 'division' is not in the skill list" in failure.message
    assert failure.raw == bad


def test_skill_not_on_the_list_then_a_good_answer():
    bad = "<judge>incorrect</judge><reason>r</reason><skill>division</skill>"
    with FakeServer([(200, completion(bad), 0), (200, completion(GOOD_GRADE), 0)]) as server:
        teacher, _ = teacher_for(server)
        assert teacher.diagnose(ITEM, "75", SKILLS) == ("carry",)
    assert len(server.requests) == 2 and teacher.failures == []


def test_client_errors_are_not_retried():
    with FakeServer([(401, json.dumps({"error": {"message": "bad key"}}), 0)]) as server:
        teacher, sleeps = teacher_for(server)
        with pytest.raises(TeacherError, match="HTTP 401"):
            teacher.call_raw("solve", "hi")
    assert len(server.requests) == 1 and sleeps == []


def test_call_raw_returns_the_text_unparsed():
    with FakeServer([(200, completion("hello"), 0)]) as server:
        teacher, _ = teacher_for(server)
        assert teacher.call_raw("solve", "say hello") == "hello"
    assert server.requests[0]["body"]["messages"] == [{"role": "user", "content": "say hello"}]


def test_concurrency_is_bounded_by_the_spec():
    with FakeServer([(200, completion(GOOD_GRADE), 0.1)]) as server:
        teacher, _ = teacher_for(server, concurrency=2)
        teacher.concurrency = 6  # more workers than request slots: the semaphore must hold
        live, peak, lock = [0], [0], threading.Lock()
        original = teacher.client.chat.completions.with_raw_response.create

        def counted(**kwargs):
            with lock:
                live[0] += 1
                peak[0] = max(peak[0], live[0])
            try:
                return original(**kwargs)
            finally:
                with lock:
                    live[0] -= 1

        teacher.client.chat.completions.with_raw_response.create = counted
        results = teacher.diagnose_many([(ITEM, "75")] * 6, SKILLS)
    assert results == [("carry",)] * 6
    assert peak[0] == 2


def test_backoff_is_exponential_and_capped():
    assert [backoff_delay(i, base=0.5, cap=3.0) for i in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(0, base=0.5, cap=3.0, retry_after=2.0) == 2.0
    assert backoff_delay(0, base=0.5, cap=3.0, retry_after=60.0) == 3.0


def test_spec_errors_name_the_field():
    with pytest.raises(SpecError, match="spec.teacher.base_url"):
        build_teacher(TeacherSpec(kind="openai", model="m"), SumFamily())
    with pytest.raises(SpecError, match="spec.teacher.model"):
        build_teacher(TeacherSpec(kind="openai", base_url="http://127.0.0.1:9/v1"), SumFamily())
