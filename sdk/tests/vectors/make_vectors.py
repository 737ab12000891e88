#!/usr/bin/env python3
"""Independent crypto vectors for wechatpay-notify (TEST ONLY keys).

Made once with Python's `cryptography` (OpenSSL), not with the SDK, so the SDK's RSA and
AES-GCM code is checked against another implementation. The output is checked in; running
this again makes new keys, signatures and ciphertexts (and the tests still pass, as they
read everything from the files).

    python3 sdk/tests/vectors/make_vectors.py      # from the repository root

Writes, next to this script:
  private_key.pem        RSA-2048 private key, PKCS#8 (TEST ONLY — published, never trust it)
  public_key.pem         its public key, SubjectPublicKeyInfo ("BEGIN PUBLIC KEY")
  public_key_pkcs1.pem   the same public key, PKCS#1 ("BEGIN RSA PUBLIC KEY")
  certificate.pem        self-signed X.509 certificate for that key, serial CERT_SERIAL
  ec_public_key.pem      a P-256 public key (must be refused: not RSA)
  rsa1024_public_key.pem an RSA-1024 public key (must be refused: too small)
  other_public_key.pem   another RSA-2048 public key (signatures above must not verify with it)
  vectors.json           signatures over WeChat Pay style messages and AES-256-GCM ciphertexts
"""

import base64
import datetime
import json
import os
import secrets
import string

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))

# A serial with a leading zero digit, as platform certificate serials are written (40 hex
# digits); the SDK normalizes it to upper case without the leading zero.
CERT_SERIAL = "0A3B5C7D9E1F2A4B6C8D0E1F3A5B7C9D1E2F4A6B"
PUBLIC_KEY_ID = "PUB_KEY_ID_0114232134912410000"
ALPHANUMERIC = string.ascii_letters + string.digits


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(os.path.join(HERE, name), mode) as f:
        f.write(data)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def nonce_string():
    """A WeChat Pay style nonce: 12 alphanumeric characters, used as the raw GCM nonce."""
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(12))


def v3_message(timestamp, nonce, body):
    return timestamp.encode() + b"\n" + nonce.encode() + b"\n" + body + b"\n"


def main():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    write(
        "private_key.pem",
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write(
        "public_key.pem",
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    write(
        "public_key_pkcs1.pem",
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
    )

    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wechatpay-notify test vectors"),
            x509.NameAttribute(NameOID.COMMON_NAME, "TEST ONLY platform certificate"),
        ]
    )
    now = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(int(CERT_SERIAL, 16))
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    write("certificate.pem", cert.public_bytes(serialization.Encoding.PEM))

    ec_key = ec.generate_private_key(ec.SECP256R1())
    write(
        "ec_public_key.pem",
        ec_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    write(
        "rsa1024_public_key.pem",
        small.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write(
        "other_public_key.pem",
        other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )

    bodies = [
        ("ascii", '{"id":"EV-2018022511223320873","create_time":"2015-05-20T13:29:35+08:00",'
                  '"resource_type":"encrypt-resource","event_type":"TRANSACTION.SUCCESS",'
                  '"summary":"支付成功","resource":{"original_type":"transaction",'
                  '"algorithm":"AEAD_AES_256_GCM","ciphertext":"","associated_data":"",'
                  '"nonce":""}}'),
        ("chinese", '{"summary":"退款成功","description":"停车场月卡续费 · 粤B12345"}'),
        ("newlines", '{\n  "id": "EV-1",\n  "summary": "多行\\n正文"\n}'),
        ("empty", ""),
    ]
    signatures = []
    for label, body in bodies:
        timestamp = str(1_700_000_000 + len(signatures))
        nonce = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(32))
        body_bytes = body.encode("utf-8")
        message = v3_message(timestamp, nonce, body_bytes)
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        signatures.append(
            {
                "label": label,
                "timestamp": timestamp,
                "nonce": nonce,
                "body": body,
                "message_b64": b64(message),
                "signature_b64": b64(signature),
            }
        )

    api_v3_key = "".join(secrets.choice(ALPHANUMERIC) for _ in range(32))
    plaintexts = [
        ("transaction", "transaction",
         '{"mchid":"1230000109","out_trade_no":"1217752501201407033233368018",'
         '"trade_state":"SUCCESS","trade_state_desc":"支付成功","amount":{"total":100}}'),
        ("no-aad", "",
         '{"out_refund_no":"1217752501201407033233368018","refund_status":"SUCCESS"}'),
        ("certificate", "certificate", "-----BEGIN CERTIFICATE-----\n…\n"),
        ("empty-plaintext", "refund", ""),
    ]
    ciphertexts = []
    for label, aad, plaintext in plaintexts:
        nonce = nonce_string()
        sealed = AESGCM(api_v3_key.encode()).encrypt(
            nonce.encode(), plaintext.encode("utf-8"), aad.encode("utf-8")
        )
        ciphertexts.append(
            {
                "label": label,
                "nonce": nonce,
                "associated_data": aad,
                "plaintext": plaintext,
                "ciphertext_b64": b64(sealed),
            }
        )

    vectors = {
        "comment": "TEST ONLY. Made by make_vectors.py with Python cryptography "
        + __import__("cryptography").__version__
        + "; messages are \"timestamp\\nnonce\\nbody\\n\"; ciphertext_b64 is ciphertext||tag.",
        "certificate_serial": CERT_SERIAL,
        "public_key_id": PUBLIC_KEY_ID,
        "modulus_bits": public.key_size,
        "signatures": signatures,
        "api_v3_key": api_v3_key,
        "ciphertexts": ciphertexts,
    }
    write("vectors.json", json.dumps(vectors, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
