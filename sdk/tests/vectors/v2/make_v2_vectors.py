#!/usr/bin/env python3
"""Independent APIv2 vectors for wechatpay-notify (TEST ONLY keys).

Made once with Python's hashlib, hmac and `cryptography` (OpenSSL), not with the SDK, so the
SDK's APIv2 sign, AES-256-ECB and AES-256-GCM code is checked against another
implementation. The output is checked in; running this again makes new nonces and
ciphertexts (and the tests still pass, as they read everything from the file).

    python3 sdk/tests/vectors/v2/make_v2_vectors.py      # from the repository root

Reads the catalogue's APIv2 examples (schema/examples/v2/) and writes, next to this script,
v2_vectors.json:
  sign_examples   the official 签名算法 example (MD5, and HMAC-SHA256 of the same fields)
  bodies          one signed (and, where the kind says so, encrypted) body per example, and
                  negative bodies: tampered sign, wrong key, disallowed sign type, missing
                  sign, bad padding, truncated XML, entity expansion, DTD, duplicate element,
                  oversize body, a FAIL envelope, wrong APIv3 key
"""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import string

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
EXAMPLES = os.path.join(ROOT, "schema", "examples", "v2")

# TEST ONLY keys.
API_V2_KEY = "Tq7Vw2Xz9Ab4Cd6Ef8Gh1Jk3Lm5Np0Rs"
OTHER_API_V2_KEY = "Zz7Vw2Xz9Ab4Cd6Ef8Gh1Jk3Lm5Np0Rs"
API_V3_KEY = "Kx3Pq8Rt2Wv6Yz1Bc5Df9Gh4Jm7Ln0Sr"
OTHER_API_V3_KEY = "Ox3Pq8Rt2Wv6Yz1Bc5Df9Gh4Jm7Ln0Sr"
ALNUM = string.ascii_letters + string.digits


def fields_of(xml):
    """(name, text) of each child element, in order; CDATA unwrapped, whitespace around
    CDATA dropped (the examples hold no entities)."""
    out = []
    inner = re.search(r"<(xml|root)>(.*)</\1>", xml, re.S).group(2)
    for m in re.finditer(r"<([A-Za-z_][\w]*)\s*>(.*?)</\1\s*>", inner, re.S):
        name, raw = m.group(1), m.group(2)
        c = re.fullmatch(r"\s*<!\[CDATA\[(.*)\]\]>\s*", raw, re.S)
        out.append((name, c.group(1) if c else raw))
    return out


def set_field(xml, name, value):
    """Replaces the text of element `name`, keeping CDATA where it was."""
    pattern = re.compile(r"(<%s\s*>)(\s*<!\[CDATA\[)?(.*?)(\]\]>\s*)?(</%s\s*>)" % (name, name), re.S)
    m = pattern.search(xml)
    assert m, name
    if m.group(2):
        new = m.group(1) + "<![CDATA[" + value + "]]>" + m.group(5)
    else:
        new = m.group(1) + value + m.group(5)
    return xml[: m.start()] + new + xml[m.end():]


def sign_string(fields, key):
    kept = sorted((k, v) for k, v in fields if k != "sign" and v != "")
    return "&".join("%s=%s" % kv for kv in kept) + "&key=" + key


def sign(fields, key, sign_type):
    s = sign_string(fields, key).encode("utf-8")
    if sign_type == "MD5":
        return hashlib.md5(s).hexdigest().upper()
    return hmac.new(key.encode(), s, hashlib.sha256).hexdigest().upper()


def resign(xml, key, sign_type):
    return set_field(xml, "sign", sign(fields_of(xml), key, sign_type))


def ecb_encrypt(plaintext, api_v2_key, pad=True):
    key = hashlib.md5(api_v2_key.encode()).hexdigest().encode()
    if pad:
        n = 16 - len(plaintext) % 16
        plaintext = plaintext + bytes([n]) * n
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(plaintext) + enc.finalize()).decode()


def nonce():
    return "".join(secrets.choice(ALNUM) for _ in range(12))


def read(name):
    with open(os.path.join(EXAMPLES, name), encoding="utf-8") as f:
        return f.read()


def event_body(event_type, api_v3_key=API_V3_KEY, aad="payscore"):
    xml = read(event_type + ".xml")
    plaintext = read(event_type + ".event_ciphertext.xml").encode("utf-8")
    n = nonce()
    ct = AESGCM(api_v3_key.encode()).encrypt(n.encode(), plaintext, aad.encode())
    xml = set_field(xml, "event_nonce", n)
    xml = set_field(xml, "event_associated_data", aad)
    xml = set_field(xml, "event_ciphertext", base64.b64encode(ct).decode())
    xml = set_field(xml, "nonce_str", secrets.token_hex(16))
    return resign(xml, API_V2_KEY, "HMAC-SHA256")


def refund_body(pad=True, key=API_V2_KEY):
    xml = read("refund-processed.xml")
    plaintext = read("refund-processed.req_info.xml").encode("utf-8")
    if not pad:
        plaintext = plaintext + b"\x00" * (16 - len(plaintext) % 16)
    return set_field(xml, "req_info", ecb_encrypt(plaintext, key, pad))


def case(name, body, expect, **extra):
    out = {"name": name, "body": body}
    out.update(extra)
    out["expect"] = expect
    return out


def main():
    official = [("appid", "wxd930ea5d5a258f4f"), ("mch_id", "10000100"), ("device_info", "1000"),
                ("body", "test"), ("nonce_str", "ibuaiVcKdpRxkhJA")]
    official_key = "192006250b4c09247ec02edce69f6a2d"
    md5 = sign(official, official_key, "MD5")
    assert md5 == "9A0A8659F005D6984697E2CA0A9CF3B7", md5
    sign_examples = [
        {"fields": official, "key": official_key, "sign_type": "MD5", "sign": md5,
         "sign_string": sign_string(official, official_key)},
        {"fields": official, "key": official_key, "sign_type": "HMAC-SHA256",
         "sign": sign(official, official_key, "HMAC-SHA256")},
    ]

    bodies = []
    # Every example, signed (and encrypted) as its kind says.
    tx = resign(read("transaction-success.xml"), API_V2_KEY, "MD5")
    bodies.append(case("transaction-success (page example, MD5 by length)", tx,
                       {"ok": True, "kind": "v2:transaction-success", "sign_type": "MD5"}))
    partner = resign(read("transaction-success-partner.xml"), API_V2_KEY, "HMAC-SHA256")
    bodies.append(case("transaction-success partner (HMAC-SHA256 by length)", partner,
                       {"ok": True, "kind": "v2:transaction-success", "sign_type": "HMAC-SHA256"}))
    promo = resign(read("transaction-success-promotion.xml"), API_V2_KEY, "MD5")
    bodies.append(case("transaction-success with promotion_detail (sign_type MD5)", promo,
                       {"ok": True, "kind": "v2:transaction-success", "sign_type": "MD5"}))
    combined = resign(read("combined-transactions-success.xml"), API_V2_KEY, "HMAC-SHA256")
    bodies.append(case("combined-transactions-success (sign_type HMAC-SHA256)", combined,
                       {"ok": True, "kind": "v2:combined-transactions-success", "sign_type": "HMAC-SHA256"}))
    vehicle = resign(read("vehicle-state-changed-for-parking.xml"), API_V2_KEY, "HMAC-SHA256")
    bodies.append(case("vehicle-state-changed-for-parking", vehicle,
                       {"ok": True, "kind": "v2:vehicle-state-changed-for-parking", "sign_type": "HMAC-SHA256"}))
    refund = refund_body()
    bodies.append(case("refund-processed (req_info AES-256-ECB)", refund,
                       {"ok": True, "kind": "v2:refund-processed"}))
    for et in ["CHECK.SUCCESS", "CHECK.FAIL", "TRANSACTION.SUCCESS", "TRANSACTION.FAIL"]:
        bodies.append(case("%s (event_ciphertext AES-256-GCM, sign HMAC-SHA256)" % et, event_body(et),
                           {"ok": True, "kind": "v2:" + et, "sign_type": "HMAC-SHA256"}))
    bodies.append(case("CHECK.SUCCESS with empty associated data", event_body("CHECK.SUCCESS", aad=""),
                       {"ok": True, "kind": "v2:CHECK.SUCCESS", "sign_type": "HMAC-SHA256"}))

    # Negative cases.
    bodies.append(case("tampered: total_fee changed after signing", set_field(tx, "total_fee", "100"),
                       {"ok": False, "error": "signature_mismatch", "path": "sign"}))
    partner_sign = dict(fields_of(partner))["sign"]
    flipped = ("F" if partner_sign[0] != "F" else "0") + partner_sign[1:]
    bodies.append(case("tampered: sign altered", set_field(partner, "sign", flipped),
                       {"ok": False, "error": "signature_mismatch", "path": "sign"}))
    bodies.append(case("signed with another APIv2 key", resign(read("transaction-success.xml"), OTHER_API_V2_KEY, "MD5"),
                       {"ok": False, "error": "signature_mismatch", "path": "sign"}))
    bodies.append(case("MD5 where only HMAC-SHA256 is accepted", tx,
                       {"ok": False, "error": "sign_type_not_accepted", "path": "sign_type"},
                       sign_types="hmac-sha256"))
    bodies.append(case("promotion: sign_type MD5 where only HMAC-SHA256 is accepted", promo,
                       {"ok": False, "error": "sign_type_not_accepted", "path": "sign_type"},
                       sign_types="hmac-sha256"))
    bodies.append(case("HMAC-SHA256 where only MD5 is accepted", vehicle,
                       {"ok": False, "error": "sign_type_not_accepted", "path": "sign_type"},
                       sign_types="md5"))
    bodies.append(case("an unknown sign_type", resign(set_field(read("vehicle-state-changed-for-parking.xml"), "sign_type", "SHA1"), API_V2_KEY, "HMAC-SHA256"),
                       {"ok": False, "error": "sign_type_not_accepted", "path": "sign_type"}))
    no_sign = re.sub(r"\s*<sign>.*?</sign>", "", tx)
    bodies.append(case("no sign on a kind that requires one", no_sign,
                       {"ok": False, "error": "missing_sign", "path": "sign"}))
    bodies.append(case("refund: req_info with bad PKCS#7 padding", refund_body(pad=False),
                       {"ok": False, "error": "bad_padding", "path": "req_info"}))
    bodies.append(case("refund: req_info under another APIv2 key", refund_body(key=OTHER_API_V2_KEY),
                       {"ok": False, "error": "bad_padding", "path": "req_info"}))
    bodies.append(case("refund: a FAIL envelope without req_info",
                       "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[参数格式校验错误]]></return_msg></xml>",
                       {"ok": False, "error": "v2_return_fail", "path": "return_code"}))
    bodies.append(case("event under another APIv3 key", event_body("CHECK.SUCCESS", api_v3_key=OTHER_API_V3_KEY),
                       {"ok": False, "error": "decrypt_failed", "path": "event_ciphertext"}))
    bodies.append(case("truncated XML", tx[: len(tx) // 2],
                       {"ok": False, "error": "malformed_xml"}))
    laughs = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
              '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
              '<xml><return_code>SUCCESS</return_code><out_trade_no>&c;</out_trade_no></xml>')
    bodies.append(case("entity expansion (billion laughs)", laughs,
                       {"ok": False, "error": "xml_entity", "path": "xml"}))
    bodies.append(case("external entity", '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><out_trade_no>&x;</out_trade_no></xml>',
                       {"ok": False, "error": "xml_entity", "path": "xml"}))
    bodies.append(case("an undefined entity without a DTD", tx.replace("<attach><![CDATA[支付测试]]></attach>", "<attach>&x;</attach>"),
                       {"ok": False, "error": "xml_entity", "path": "xml.attach"}))
    bodies.append(case("duplicated element", tx.replace("</xml>", "<total_fee>100</total_fee></xml>"),
                       {"ok": False, "error": "duplicate_element", "path": "xml.total_fee"}))
    bodies.append(case("nested element", tx.replace("</xml>", "<detail><a>1</a></detail></xml>"),
                       {"ok": False, "error": "xml_limit", "path": "xml.detail.a"}))
    big = tx.replace("</xml>", "<attach_more>" + "a" * (70 * 1024) + "</attach_more></xml>")
    bodies.append(case("oversize body (over 64 KiB)", big,
                       {"ok": False, "error": "body_too_large"}))
    bodies.append(case("no kind recognised", "<xml><return_code>SUCCESS</return_code><foo>1</foo></xml>",
                       {"ok": False, "error": "unknown_v2_kind"}))

    out = {
        "comment": "TEST ONLY keys. Made by make_v2_vectors.py with hashlib, hmac and cryptography (OpenSSL).",
        "api_v2_key": API_V2_KEY,
        "api_v3_key": API_V3_KEY,
        "sign_examples": sign_examples,
        "bodies": bodies,
    }
    with open(os.path.join(HERE, "v2_vectors.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
