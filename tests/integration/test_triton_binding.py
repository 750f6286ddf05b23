"""Triton listens on loopback only unless asked: every listening socket of the real tritonserver
process, read from /proc, is bound to 127.0.0.1."""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path

LISTEN = "0A"


def _address(hex_words: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp{,6} writes an address as 32-bit words in host (little-endian) order."""
    raw = b"".join(bytes.fromhex(hex_words[i:i + 8])[::-1] for i in range(0, len(hex_words), 8))
    address = ipaddress.ip_address(raw)
    return getattr(address, "ipv4_mapped", None) or address


def _listening_addresses(pid: int) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """(address, port) of each TCP socket `pid` listens on (/proc/<pid>/fd -> /proc/net/tcp{,6})."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and inode in inodes:
                address, port = local.split(":")
                found.append((_address(address), int(port, 16)))
    return found


def test_triton_listens_on_loopback_only(triton):
    addresses = _listening_addresses(triton.pid)
    ports = {triton.options.grpc_port, triton.options.http_port, triton.options.metrics_port}
    assert ports <= {port for _, port in addresses}, addresses
    assert all(str(address) == "127.0.0.1" for address, _ in addresses), addresses
