# SPDX-License-Identifier: Apache-2.0
"""The server's persistent signing key and its federation TLS certificate, made on first start."""
from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from .protocol.signing import SigningKey, decode_signing_key, encode_signing_key, generate_signing_key
from .protocol.signing import random_key_version


def load_or_create_signing_key(data_dir: Path) -> SigningKey:
    path = data_dir / "signing.key"
    if path.exists():
        return decode_signing_key(path.read_text(encoding="utf-8").strip())
    key = generate_signing_key(random_key_version())
    path.write_text(encode_signing_key(key) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def load_or_create_tls(data_dir: Path, server_name: str) -> tuple[Path, Path]:
    """A self-signed certificate for the federation listener (test networks only)."""
    cert_path, key_path = data_dir / "tls.crt", data_dir / "tls.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    host = server_name.rsplit(":", 1)[0] if not server_name.endswith("]") else server_name
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        alt = x509.DNSName(host)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path
