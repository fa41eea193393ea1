# SPDX-License-Identifier: Apache-2.0
"""The run's certificate authority, which signs the TLS certificates of the fake peers.

Federation is HTTPS between servers, and a target checks the certificate of every server
it talks to. A throwaway CA made with trustme lets the suite's peers present real
certificates (for an IP address or a host name) that a target accepts once it is told to
trust one PEM file, so the target's TLS verification stays on and is exercised too.

The CA lives in a directory holding `ca.pem` (give this to the target) and `ca.key`
(only the suite reads it, to issue certificates in every pytest-xdist worker).
"""
from __future__ import annotations

import ipaddress
import ssl
import tempfile
import threading
from pathlib import Path

import trustme

CA_FILE = "ca.pem"
KEY_FILE = "ca.key"


class PeerCA:
    """A trustme CA stored in a directory, with a TLS context per peer host name."""

    def __init__(self, ca: trustme.CA, directory: Path) -> None:
        self._ca = ca
        self.directory = directory
        self._contexts: dict[tuple[str, ...], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, directory: Path | str | None = None) -> PeerCA:
        """The CA in `directory`, made there first if it holds none (a fresh temp dir if None)."""
        if directory is None:
            directory = tempfile.mkdtemp(prefix="matrix-peer-ca-")
        directory = Path(directory)
        cert, key = directory / CA_FILE, directory / KEY_FILE
        if cert.exists() and key.exists():
            return cls(trustme.CA.from_pem(cert.read_bytes(), key.read_bytes()), directory)
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="Matrix conformance suite (fake peers)")
        key.write_bytes(ca.private_key_pem.bytes())
        key.chmod(0o600)
        cert.write_bytes(ca.cert_pem.bytes())  # written last: its presence means "complete"
        return cls(ca, directory)

    @property
    def pem_path(self) -> Path:
        """The CA certificate a target must trust to accept the peers' certificates."""
        return self.directory / CA_FILE

    def server_context(self, *hosts: str) -> ssl.SSLContext:
        """A server-side TLS context with a certificate for `hosts` (names or IP addresses)."""
        names = tuple(dict.fromkeys(h.strip("[]") for h in hosts if h and not _is_wildcard(h)))
        with self._lock:
            context = self._contexts.get(names)
            if context is None:
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                self._ca.issue_cert(*names).configure_cert(context)
                self._contexts[names] = context
        return context

    def issue_files(self, directory: Path, *hosts: str) -> tuple[Path, Path]:
        """A certificate for `hosts` and its key, written as PEM files into `directory`
        (for a server process, such as a second reference server, to present)."""
        leaf = self._ca.issue_cert(*(h.strip("[]") for h in hosts))
        cert, key = directory / "tls.crt", directory / "tls.key"
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        key.write_bytes(leaf.private_key_pem.bytes())
        key.chmod(0o600)
        return cert, key

    def client_context(self, *, system_roots: bool = False) -> ssl.SSLContext:
        """A client-side TLS context trusting this CA (and the system's, if asked)."""
        if system_roots:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, checks host names
        self._ca.configure_trust(context)
        return context


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False
