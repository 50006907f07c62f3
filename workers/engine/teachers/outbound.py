"""The outbound policy of teacher calls: which URLs a teacher may reach.

A teacher URL is typed by a person in the browser and called from the web process ("test
connection", "try it") and from the workers (runs, skill extraction). Without a policy it is
a way into the machines' own network: loopback services, the private network, the cloud
metadata service (169.254.169.254). So:

- only ``http`` and ``https`` URLs;
- the host is resolved (``getaddrinfo``) and **every** address it resolves to must be public:
  loopback, private, link-local, multicast, reserved, unspecified and other non-global
  addresses are refused, IPv4 and IPv6 alike (an IPv4-mapped, NAT64, 6to4 or Teredo IPv6
  address is judged by the IPv4 address inside it);
- unless the host (``host``) or the host and port (``host:port``) is on the allow list
  (``TeacherSpec.allowed_hosts``: the web fills it from ``STUDIO_TEACHER_ALLOWED_HOSTS``, a
  spec file of the headless command gives ``teacher.allowed_hosts``) -- for a local vLLM or
  Ollama server, e.g. ``127.0.0.1:8000`` or ``ollama:11434``.

:func:`check_url` runs before each request. :func:`guarded_http_client` is the HTTP client the
OpenAI teacher uses: it never follows redirects, and it checks the address each new
connection actually reached before anything is sent, so a DNS answer that changes between the
check and the connection (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from workers.engine.errors import OutboundBlocked

DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA_ADDRESSES = frozenset({
    ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
})
NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOW_HINT = ("teacher calls reach only public addresses unless the host is on the allow list "
              "(STUDIO_TEACHER_ALLOWED_HOSTS on the server, teacher.allowed_hosts in a spec "
              "file)")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _getaddrinfo(host: str, port: int) -> list[tuple[Any, ...]]:
    """The resolver (tests replace it to play a DNS answer)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


# -- the allow list -------------------------------------------------------------------------
def _canonical_host(host: str) -> str:
    """Lower case, no trailing dot, no brackets; an IP address in its compressed form."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def _parse_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address."""
    entry = entry.strip()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    return _canonical_host(host), (int(port) if port.isdigit() else None)


def host_allowed(host: str, port: int, allowed_hosts: Iterable[str]) -> bool:
    """Whether ``host`` (any port) or ``host:port`` is on the allow list."""
    host = _canonical_host(host)
    for entry in allowed_hosts:
        if not isinstance(entry, str) or not entry.strip():
            continue
        allowed_host, allowed_port = _parse_entry(entry)
        if allowed_host == host and allowed_port in (None, port):
            return True
    return False


# -- addresses ------------------------------------------------------------------------------
def blocked_reason(address: str | Address) -> str | None:
    """Why ``address`` may not be called (``"loopback"``, ``"private"``...), or None."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "unreadable"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        # Addresses that carry an IPv4 address: the IPv4 one is what is reached.
        if ip.ipv4_mapped is not None:
            return blocked_reason(ip.ipv4_mapped)
        if ip in NAT64:
            return blocked_reason(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and blocked_reason(embedded):
            return f"{blocked_reason(embedded)} (inside {ip})"
    if ip in METADATA_ADDRESSES:
        return "link-local (the cloud metadata service)"
    for name, test in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                       ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                       ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if test:
            return name
    if not ip.is_global:  # shared (100.64/10, incl. some clouds' metadata), documentation...
        return "non-public"
    return None


def _split_url(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an http(s) URL; OutboundBlocked otherwise."""
    try:
        parts = urlsplit(str(url).strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError as exc:
        raise OutboundBlocked(f"the teacher URL is not a valid URL: {exc}") from None
    if scheme not in DEFAULT_PORTS:
        raise OutboundBlocked(f"the teacher URL must start with http:// or https:// "
                              f"(got {scheme + '://' if scheme else 'no scheme'})")
    if not host:
        raise OutboundBlocked("the teacher URL names no host")
    return scheme, host, port or DEFAULT_PORTS[scheme]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to; OutboundBlocked when it resolves to none."""
    try:
        infos = _getaddrinfo(host, port)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise OutboundBlocked(f"the teacher host {host!r} does not resolve: {reason}") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise OutboundBlocked(f"the teacher host {host!r} does not resolve")
    return addresses


def check_url(url: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Raise :class:`OutboundBlocked` unless a teacher may call ``url`` (see the module)."""
    _, host, port = _split_url(url)
    allowed_hosts = tuple(allowed_hosts)
    if host_allowed(host, port, allowed_hosts):
        return
    for address in resolve(host, port):
        reason = blocked_reason(address)
        if reason:
            shown = host if _canonical_host(host) == _canonical_host(address) else (
                f"{host} (resolves to {address})")
            raise OutboundBlocked(f"refused to call {shown}: a {reason} address; {ALLOW_HINT}")


def check_peer(host: str, port: int, peer: str, allowed_hosts: Iterable[str]) -> None:
    """Raise :class:`OutboundBlocked` if a connection to ``host`` reached a blocked ``peer``
    address (the host changed its DNS answer after :func:`check_url`)."""
    if host_allowed(host, port, allowed_hosts):
        return
    reason = blocked_reason(peer)
    if reason:
        raise OutboundBlocked(f"refused to call {host}: the connection reached {peer}, a "
                              f"{reason} address; {ALLOW_HINT}")


# -- the HTTP client ------------------------------------------------------------------------
class _GuardedBackend:
    """A network backend of httpcore that checks where each new connection landed."""

    def __init__(self, inner: Any, allowed_hosts: tuple[str, ...]):
        self._inner = inner
        self._allowed_hosts = allowed_hosts

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        stream = self._inner.connect_tcp(host, port, *args, **kwargs)
        try:
            peer = stream.get_extra_info("server_addr")
            check_peer(host, port, str(peer[0]) if peer else "", self._allowed_hosts)
        except BaseException:
            stream.close()
            raise
        return stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def guarded_http_client(allowed_hosts: Iterable[str] = ()) -> Any:
    """An ``httpx`` client for the OpenAI client: no redirects followed, no proxies from the
    environment, and every new connection's address checked before a byte is sent."""
    try:
        import httpx2 as httpx
    except ImportError:  # pragma: no cover - older openai clients use httpx
        import httpx

    allowed = tuple(allowed_hosts)
    transport = httpx.HTTPTransport()
    pool = transport._pool
    if not hasattr(pool, "_network_backend"):  # pragma: no cover - a changed httpcore
        raise RuntimeError("the HTTP client has no network backend to guard; teacher calls "
                           "are refused rather than made unchecked")
    pool._network_backend = _GuardedBackend(pool._network_backend, allowed)
    return httpx.Client(transport=transport, follow_redirects=False)
