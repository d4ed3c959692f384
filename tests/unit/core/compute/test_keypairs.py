"""Key pair fingerprints, generation and names, as Nova computes and checks them."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from core import errors
from core.compute.keypairs import fingerprint, generate, validate_name


def _openssh(public_key) -> str:
    return public_key.public_bytes(serialization.Encoding.OpenSSH,
                                   serialization.PublicFormat.OpenSSH).decode()


def _md5(text: str) -> str:
    digest = hashlib.md5(base64.b64decode(text.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


@pytest.mark.parametrize("key", [
    rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(),
    ed25519.Ed25519PrivateKey.generate().public_key(),
    ec.generate_private_key(ec.SECP256R1()).public_key(),
], ids=["rsa", "ed25519", "ecdsa"])
def test_ssh_fingerprint_is_md5_of_the_blob(key):
    text = _openssh(key) + " me@host"
    assert fingerprint(text) == _md5(text)


@pytest.mark.parametrize("text", ["", "ssh-rsa", "ssh-rsa !!!", "ssh-rsa AAAA",
                                  "hello world", "ssh-ed25519 " + "A" * 68])
def test_invalid_keys(text):
    with pytest.raises(errors.InvalidInput,
                       match="^Keypair data is invalid: failed to generate fingerprint$"):
        fingerprint(text)


def test_generated_ssh_key_matches_its_private_key():
    private, public = generate("k1")
    key = serialization.load_pem_private_key(private.encode(), None)
    assert _openssh(key.public_key()) == " ".join(public.split()[:2])
    assert key.key_size == 2048


def test_generated_x509_certificate():
    private, cert_pem = generate("k1", "x509")
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    digest = cert.fingerprint(hashes.SHA1()).hex()
    assert fingerprint(cert_pem, "x509") == ":".join(digest[i:i + 2] for i in range(0, 40, 2))
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----")
    with pytest.raises(errors.InvalidInput, match="X509"):
        fingerprint("not a certificate", "x509")


@pytest.mark.parametrize("name", ["a", "my key", "key_1-2", "x" * 255])
def test_valid_names(name):
    validate_name(name)


@pytest.mark.parametrize(("name", "reason"), [
    ("", "between 1 and 255"), ("x" * 256, "between 1 and 255"),
    ("a/b", "unsafe"), ("a.b", "unsafe"), ("ключ", "unsafe"), ("a@b", "unsafe")])
def test_invalid_names(name, reason):
    with pytest.raises(errors.InvalidInput, match=reason):
        validate_name(name)
