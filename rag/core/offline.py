"""`RAG_NO_NETWORK=1`: this process may talk to this machine only.

The CLI (`rag …`), the loader worker and the app call `guard_from_environment()` first thing; with the
variable set, every socket connection (TCP or UDP) to an address that is not loopback and every name
look-up other than localhost fails with OSError naming the address, before a byte leaves the machine.
The tests set it for every subprocess they start, so the guard the test process has (tests/conftest.py)
covers the CLI, worker and app processes too. Standard library only.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

ENV = "RAG_NO_NETWORK"
_MARK = "_rag_offline_guard"


def is_local(address: object) -> bool:
    """Whether a socket address stays on this machine: loopback IPs, localhost, AF_UNIX paths."""
    if isinstance(address, (str, bytes)):
        return True  # an AF_UNIX path
    if isinstance(address, tuple) and address:
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        return local_name(host)
    return False


def local_name(host: str) -> bool:
    name = host.strip("[]").split("%")[0].lower()
    if name in ("", "localhost") or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _blocked(what: object) -> OSError:
    return OSError(f"network access blocked ({ENV}=1): {what!r} is not on this machine")


def _connect(real: Any) -> Any:
    def guarded(self: socket.socket, address: Any) -> Any:
        if not is_local(address):
            raise _blocked(address)
        return real(self, address)
    return guarded


def _sendto(real: Any) -> Any:
    def guarded(self: socket.socket, data: Any, *args: Any) -> Any:
        if not is_local(args[-1]):
            raise _blocked(args[-1])
        return real(self, data, *args)
    return guarded


def _getaddrinfo(real: Any) -> Any:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not local_name(str(name)):
            try:
                ipaddress.ip_address(str(name).strip("[]").split("%")[0])   # a literal address: connect decides
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, str(_blocked(name))) from None
        return real(host, *args, **kwargs)
    return guarded


_GUARDS = ((socket.socket, "connect", _connect), (socket.socket, "connect_ex", _connect),
           (socket.socket, "sendto", _sendto), (socket, "getaddrinfo", _getaddrinfo))


def install() -> None:
    """Block connections and look-ups beyond this machine in this process (idempotent)."""
    for owner, name, wrap in _GUARDS:
        current = getattr(owner, name)
        if not getattr(current, _MARK, False):
            guarded = wrap(current)
            setattr(guarded, _MARK, True)
            setattr(owner, name, guarded)


def guard_from_environment() -> bool:
    """Install the guard when $RAG_NO_NETWORK is set to 1 (or true/yes); True when it is in force."""
    if os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes"):
        install()
        return True
    return False
