"""The outbound policy of teacher calls: loopback, private, link-local (cloud metadata) and
other non-public addresses are refused before any connection, unless allow-listed."""

import json
import socket

import pytest

from tests.engine.teacher_helpers import SumFamily
from tests.engine.test_teacher_openai import FakeServer, completion
from workers.engine.api import OutboundBlocked, TeacherError, check_url
from workers.engine.spec import RunSpec, TeacherSpec
from workers.engine.teachers import build_teacher, outbound


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def connections(monkeypatch):
    """Every TCP connection the client opens, by address (they still go through)."""
    made: list[tuple] = []
    real = socket.create_connection

    def recording(address, *args, **kwargs):
        made.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return made


def dns(monkeypatch, answers: dict[str, list[str]]):
    """Play a DNS answer for the policy's resolver (names not listed resolve for real)."""
    real = outbound._getaddrinfo

    def fake(host, port):
        if host in answers:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (a, port)) for a in answers[host]]
        return real(host, port)

    monkeypatch.setattr(outbound, "_getaddrinfo", fake)


def openai_teacher(url, **fields):
    spec = TeacherSpec(kind="openai", base_url=url, model="m", timeout_s=2.0, max_retries=2,
                       **fields)
    return build_teacher(spec, SumFamily(), backoff_base=0.0, sleep=lambda s: None)


# -- the exploit: a teacher URL pointing inside the machine's network ------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_is_refused_before_any_connection(connections, host):
    if host == "::1" and not _ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    with FakeServer([(200, completion("<answer>5</answer>"), 0)], host=host.replace(
            "localhost", "127.0.0.1")) as server:
        url = server.url.replace("127.0.0.1", host) if host == "localhost" else server.url
        with pytest.raises(OutboundBlocked, match="loopback address"):
            openai_teacher(url)
        # allowed for another port only: still refused
        with pytest.raises(OutboundBlocked):
            openai_teacher(url, allowed_hosts=(f"{host}:1", "example.org"))
        assert server.requests == []
    assert connections == []


@pytest.mark.parametrize(("url", "reason"), [
    ("http://10.0.0.1:8000/v1", "private"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[::1]:8000/v1", "loopback"),
    ("http://[::ffff:127.0.0.1]/v1", "loopback"),
    ("http://[::ffff:a9fe:a9fe]/v1", "cloud metadata"),
    ("http://2130706433/v1", "loopback"),  # 127.0.0.1 written as one number
    ("http://0.0.0.0:8000/v1", "unspecified"),
])
def test_internal_addresses_are_refused_before_any_connection(connections, url, reason):
    with pytest.raises(OutboundBlocked, match=reason):
        openai_teacher(url)
    assert connections == []


def test_the_check_runs_again_before_each_request(connections):
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as server:
        teacher = openai_teacher(server.url, allowed_hosts=("127.0.0.1",))
        assert teacher.call_raw("solve", "hi") == "<answer>5</answer>"
        teacher.allowed_hosts = ()  # the setting changed under a live teacher
        with pytest.raises(OutboundBlocked):
            teacher.call_raw("solve", "hi")
        assert len(server.requests) == 1


def test_a_dns_answer_that_changes_after_the_check_is_refused(monkeypatch, connections):
    """DNS rebinding: the check sees a public address, the connection lands on loopback."""
    dns(monkeypatch, {"localhost": ["93.184.216.34"]})
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as server:
        teacher = openai_teacher(server.url.replace("127.0.0.1", "localhost"))
        with pytest.raises(OutboundBlocked, match="the connection reached 127.0.0.1"):
            teacher.call_raw("solve", "hi")
        assert server.requests == []
    assert len(connections) == 1  # connected, checked, closed before sending anything
    assert teacher.failures == []  # call_raw records nothing; _ask would record it once


def test_redirects_are_not_followed(connections):
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as target:
        with FakeServer([(307, "{}", 0)],
                        headers={"Location": target.url + "/chat/completions"}) as first:
            teacher = openai_teacher(first.url, allowed_hosts=(f"127.0.0.1:{first.port}",))
            with pytest.raises(TeacherError, match="HTTP 307"):
                teacher.call_raw("solve", "hi")
            assert len(first.requests) == 1
        assert target.requests == []


def test_an_error_answer_shows_status_and_class_never_the_body():
    body = json.dumps({"error": {"message": "internal: db password is hunter2"}})
    with FakeServer([(403, body, 0)]) as server:
        teacher = openai_teacher(server.url, allowed_hosts=("127.0.0.1",))
        with pytest.raises(TeacherError) as caught:
            teacher.call_raw("solve", "hi")
    assert "HTTP 403 (PermissionDeniedError)" in str(caught.value)
    assert "hunter2" not in str(caught.value) and caught.value.raw == ""


def test_the_allow_list_lets_a_local_server_through():
    with FakeServer([(200, completion("<answer>5</answer>"), 0)]) as server:
        for allowed in (("127.0.0.1",), (f"127.0.0.1:{server.port}",)):
            assert openai_teacher(server.url, allowed_hosts=allowed).call_raw("s", "hi")
    assert len(server.requests) == 2


def test_the_spec_file_carries_the_allow_list():
    spec = RunSpec.from_dict({"teacher": {"kind": "openai", "base_url": "http://ollama:11434/v1",
                                          "allowed_hosts": ["ollama:11434"]}})
    assert spec.teacher.allowed_hosts == ("ollama:11434",)
    check_url(spec.teacher.base_url, spec.teacher.allowed_hosts)  # no DNS lookup needed


# -- the policy itself --------------------------------------------------------------------
@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254",
    "169.254.1.1", "100.100.100.200", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255",
    "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
    "2001:db8::1",
])
def test_non_public_addresses_are_blocked(address):
    assert outbound.blocked_reason(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_pass(address):
    assert outbound.blocked_reason(address) is None


def test_every_resolved_address_must_pass(monkeypatch):
    dns(monkeypatch, {"teacher.example.org": ["8.8.8.8", "10.0.0.7"],
                      "good.example.org": ["8.8.8.8", "2001:4860:4860::8888"]})
    with pytest.raises(OutboundBlocked, match=r"teacher.example.org \(resolves to 10.0.0.7\)"):
        check_url("https://teacher.example.org/v1")
    check_url("https://good.example.org/v1")


@pytest.mark.parametrize("url", ["ftp://example.org/", "file:///etc/passwd", "gopher://x/",
                                 "example.org/v1", "http:///v1", "http://example.org:99999/"])
def test_only_http_and_https_urls(url):
    with pytest.raises(OutboundBlocked):
        check_url(url, allowed_hosts=("example.org",))


def test_an_unresolvable_host_is_refused(monkeypatch):
    def fail(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(outbound, "_getaddrinfo", fail)
    with pytest.raises(OutboundBlocked, match="does not resolve"):
        check_url("http://nowhere.invalid/v1")


@pytest.mark.parametrize(("url", "allowed", "ok"), [
    ("http://127.0.0.1:8000/v1", ["127.0.0.1"], True),
    ("http://127.0.0.1:8000/v1", ["127.0.0.1:8000"], True),
    ("http://127.0.0.1:8001/v1", ["127.0.0.1:8000"], False),
    ("http://LocalHost.:11434/v1", ["localhost:11434"], True),
    ("http://localhost:11434/v1", ["127.0.0.1"], False),  # the name is what is allowed
    ("http://[::1]:8000/v1", ["[::1]:8000"], True),
    ("http://[::1]:8000/v1", ["::1"], True),
    ("http://[0:0::1]/v1", ["[::1]"], True),
    ("http://127.0.0.1/v1", ["127.0.0.1:80"], True),
    ("https://127.0.0.1/v1", ["127.0.0.1:80"], False),
    ("http://10.1.2.3:8000/v1", ["", " 10.1.2.3:8000 "], True),
])
def test_the_allow_list_names_a_host_or_a_host_and_port(url, allowed, ok):
    if ok:
        check_url(url, allowed)
    else:
        with pytest.raises(OutboundBlocked):
            check_url(url, allowed)
