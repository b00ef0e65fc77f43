#!/usr/bin/env python3
"""Generate hris_vendors.json: signed webhook deliveries for each HR vendor scheme.

Computed from each vendor's documented algorithm with the Python standard library only
(hmac, hashlib, base64), independently of the Rust verifiers. Run from this directory:

    python3 make_vectors.py > hris_vendors.json

Each case lists request headers, the raw body, the receiver's clock, and the expected outcome:
{"ok": {"secret_index": N, "delivery_id": "..."}} or {"error": "<VerifyError code>"}.
"""

import base64
import hashlib
import hmac
import json

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z


def hmac256(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def hmac512(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha512).digest()


def digest_id(*parts: bytes) -> str:
    return "sha256:" + hashlib.sha256(b"".join(parts)).hexdigest()


def alter_one_byte(body: str) -> str:
    """Change one character in the middle of the body (still valid UTF-8)."""
    i = len(body) // 2
    c = body[i]
    return body[:i] + ("X" if c != "X" else "Y") + body[i + 1:]


def ok(index, delivery_id):
    return {"ok": {"secret_index": index, "delivery_id": delivery_id}}


def err(code):
    return {"error": code}


def case(name, headers, body, expect, now=NOW):
    return {"name": name, "headers": headers, "body": body, "now": now, "expect": expect}


# ---------------------------------------------------------------- BambooHR
def bamboohr():
    secrets = ["bhr-private-key-old-7f3a9c", "bhr-private-key-new-22d0e1"]
    body = json.dumps({
        "type": "employee.updated",
        "timestamp": "2025-12-31T23:59:41+0000",
        "data": {"companyId": "12345", "employeeId": "40417", "changedFields": ["status", "terminationDate"]},
    })
    form_body = "type=employee.deleted&data%5BcompanyId%5D=12345&data%5BemployeeId%5D=40418"

    def sign(key, body, ts):
        return hmac256(key.encode(), body.encode() + ts.encode()).hex()

    def headers(sig, ts):
        return [["X-BambooHR-Signature", sig], ["X-BambooHR-Timestamp", ts]]

    ts = str(NOW - 20)
    iso = "2025-12-31T23:59:50Z"
    cases = [
        case("valid unix timestamp", headers(sign(secrets[0], body, ts), ts), body,
             ok(0, digest_id(body.encode(), ts.encode()))),
        case("valid ISO 8601 timestamp", headers(sign(secrets[0], body, iso), iso), body,
             ok(0, digest_id(body.encode(), iso.encode()))),
        case("valid form-encoded body", headers(sign(secrets[0], form_body, ts), ts), form_body,
             ok(0, digest_id(form_body.encode(), ts.encode()))),
        case("rotation: second secret", headers(sign(secrets[1], body, ts), ts), body,
             ok(1, digest_id(body.encode(), ts.encode()))),
        case("edge of window (300 s old)", headers(sign(secrets[0], body, str(NOW - 300)), str(NOW - 300)), body,
             ok(0, digest_id(body.encode(), str(NOW - 300).encode()))),
        case("wrong secret", headers(sign("not-the-key", body, ts), ts), body, err("bad_signature")),
        case("body altered by one byte", headers(sign(secrets[0], body, ts), ts), alter_one_byte(body),
             err("bad_signature")),
        case("signature for a different timestamp", headers(sign(secrets[0], body, ts), str(NOW - 10)), body,
             err("bad_signature")),
        case("timestamp.body order (third-party myth)",
             headers(hmac256(secrets[0].encode(), (ts + "." + body).encode()).hex(), ts), body,
             err("bad_signature")),
        case("stale timestamp", headers(sign(secrets[0], body, str(NOW - 301)), str(NOW - 301)), body,
             err("stale_timestamp")),
        case("future timestamp", headers(sign(secrets[0], body, str(NOW + 301)), str(NOW + 301)), body,
             err("future_timestamp")),
        case("missing signature", [["X-BambooHR-Timestamp", ts]], body, err("missing_header")),
        case("missing timestamp", [["X-BambooHR-Signature", sign(secrets[0], body, ts)]], body,
             err("missing_header")),
        case("signature not hex", headers("z" * 64, ts), body, err("invalid_header")),
        case("signature base64 instead of hex",
             headers(base64.b64encode(bytes.fromhex(sign(secrets[0], body, ts))).decode(), ts), body,
             err("invalid_header")),
        case("signature truncated", headers(sign(secrets[0], body, ts)[:62], ts), body, err("invalid_header")),
        case("timestamp unreadable", headers(sign(secrets[0], body, "yesterday"), "yesterday"), body,
             err("invalid_timestamp")),
    ]
    return {"vendor": "bamboohr", "secrets": secrets, "cases": cases}


# ---------------------------------------------------------------- HiBob
def hibob():
    secrets = ["hibob-webhook-secret-one", "hibob-webhook-secret-two"]
    body = json.dumps({
        "companyId": 636192,
        "type": "employee.left",
        "triggeredBy": "3332883804594373380",
        "triggeredAt": "2025-12-31T23:00:00.013377",
        "version": "v2",
        "data": {"employeeId": "3332883854254932743"},
    })

    def sign(key, body):
        return base64.b64encode(hmac512(key.encode(), body.encode())).decode()

    sig = sign(secrets[0], body)
    cases = [
        case("valid", [["Bob-Signature", sig]], body, ok(0, digest_id(body.encode()))),
        case("valid without padding", [["Bob-Signature", sig.rstrip("=")]], body, ok(0, digest_id(body.encode()))),
        case("rotation: second secret", [["Bob-Signature", sign(secrets[1], body)]], body,
             ok(1, digest_id(body.encode()))),
        case("wrong secret", [["Bob-Signature", sign("wrong", body)]], body, err("bad_signature")),
        case("body altered by one byte", [["Bob-Signature", sig]], alter_one_byte(body), err("bad_signature")),
        case("sha256 instead of sha512",
             [["Bob-Signature", base64.b64encode(hmac256(secrets[0].encode(), body.encode())).decode()]], body,
             err("invalid_header")),
        case("missing signature", [], body, err("missing_header")),
        case("signature not base64", [["Bob-Signature", "!!!" + sig[3:]]], body, err("invalid_header")),
        case("signature hex instead of base64",
             [["Bob-Signature", hmac512(secrets[0].encode(), body.encode()).hex()]], body, err("invalid_header")),
    ]
    return {"vendor": "hibob", "secrets": secrets, "cases": cases}


# ---------------------------------------------------------------- Gusto
def gusto():
    secrets = ["gusto-verification-token-a1", "gusto-verification-token-b2"]
    body = json.dumps({
        "uuid": "0a6d1b1e-94cc-4b7a-9d5e-d4a3c1e5a001",
        "event_type": "employee.terminated",
        "resource_type": "Company",
        "resource_uuid": "5df911a0-e8e9-412d-8aaf-a46ad193dd96",
        "entity_type": "Employee",
        "entity_uuid": "bcfc9744-0ab3-4ef3-ab0d-e728255d659c",
        "timestamp": NOW - 60,
    })
    old_body = json.dumps({
        "event_type": "employee.updated",
        "resource_type": "Company",
        "resource_uuid": "5df911a0-e8e9-412d-8aaf-a46ad193dd96",
        "entity_type": "Employee",
        "entity_uuid": "bcfc9744-0ab3-4ef3-ab0d-e728255d659c",
        "timestamp": NOW - 3600,
    })

    def sign(key, body):
        return hmac256(key.encode(), body.encode()).hex()

    h = lambda s: [["X-Gusto-Signature", s]]
    cases = [
        case("valid: delivery id is the event uuid", h(sign(secrets[0], body)), body,
             ok(0, "0a6d1b1e-94cc-4b7a-9d5e-d4a3c1e5a001")),
        case("valid without uuid: digest id", h(sign(secrets[0], old_body)), old_body,
             ok(0, digest_id(old_body.encode()))),
        case("rotation: second secret", h(sign(secrets[1], body)), body,
             ok(1, "0a6d1b1e-94cc-4b7a-9d5e-d4a3c1e5a001")),
        case("wrong secret", h(sign("wrong", body)), body, err("bad_signature")),
        case("body altered by one byte", h(sign(secrets[0], body)), alter_one_byte(body), err("bad_signature")),
        case("missing signature", [], body, err("missing_header")),
        case("signature base64 instead of hex",
             h(base64.b64encode(hmac256(secrets[0].encode(), body.encode())).decode()), body, err("invalid_header")),
        case("signature truncated", h(sign(secrets[0], body)[:40]), body, err("invalid_header")),
    ]
    return {"vendor": "gusto", "secrets": secrets, "cases": cases}


# ---------------------------------------------------------------- Merge
def merge():
    secrets = ["merge-signature-key-x1", "merge-signature-key-y2"]
    body = json.dumps({
        "hook": {"id": "164f934e-5b1a-433e-9f7f-85c72b8cd155", "event": "Employee.changed",
                 "target": "https://passage.example.com/hooks/merge"},
        "linked_account": {"id": "7a3e1c2d-0000-4000-8000-000000000001", "integration": "BambooHR",
                           "integration_slug": "bamboohr", "category": "hris", "end_user_origin_id": "acme",
                           "end_user_organization_name": "Acme", "end_user_email_address": "it@acme.example"},
        "data": {"id": "a8f3e2b1-3c4d-4e5f-8a9b-0c1d2e3f4a5b", "remote_id": "40417",
                 "employment_status": "INACTIVE", "termination_date": "2026-01-15T00:00:00Z",
                 "modified_at": "2025-12-31T23:58:00Z"},
    })

    def sign(key, body, pad=True):
        s = base64.urlsafe_b64encode(hmac256(key.encode(), body.encode())).decode()
        return s if pad else s.rstrip("=")

    h = lambda s: [["X-Merge-Webhook-Signature", s]]
    std = base64.b64encode(hmac256(secrets[0].encode(), body.encode())).decode()
    cases = [
        case("valid with padding", h(sign(secrets[0], body)), body, ok(0, digest_id(body.encode()))),
        case("valid without padding", h(sign(secrets[0], body, pad=False)), body, ok(0, digest_id(body.encode()))),
        case("rotation: second secret", h(sign(secrets[1], body)), body, ok(1, digest_id(body.encode()))),
        case("wrong secret", h(sign("wrong", body)), body, err("bad_signature")),
        case("body altered by one byte", h(sign(secrets[0], body)), alter_one_byte(body), err("bad_signature")),
        case("missing signature", [], body, err("missing_header")),
        case("signature not base64url", h("*" * 43), body, err("invalid_header")),
        case("signature hex instead of base64url", h(hmac256(secrets[0].encode(), body.encode()).hex()), body,
             err("invalid_header")),
    ]
    # A standard-alphabet signature differs from base64url only where it has '+' or '/'.
    if "+" in std or "/" in std:
        cases.append(case("standard base64 alphabet refused", h(std), body, err("invalid_header")))
    return {"vendor": "merge", "secrets": secrets, "cases": cases}


# ---------------------------------------------------------------- Finch
def finch():
    raw = [bytes(range(1, 33)), bytes(range(101, 133))]
    secrets = ["whsec_" + base64.b64encode(raw[0]).decode(), base64.b64encode(raw[1]).decode()]
    body = json.dumps({
        "company_id": "514aa2b7-898f-4ce7-bc05-c2fe993713e8",
        "account_id": "9c5dcf2f-1f0b-4c4f-9d3f-4bd4b0b1f001",
        "connection_id": "2e4f6a8c-1b3d-4f5a-8c7e-9d0b1a2c3e4f",
        "event_type": "employment.updated",
        "data": {"individual_id": "5a1c9e3d-7b2f-4e6a-8d0c-3f5b7a9c1e2d"},
    })
    eid = "evt_2Wq4Bz8yQm"

    def sig(key, body, ts, eid=eid):
        return "v1," + base64.b64encode(hmac256(key, f"{eid}.{ts}.".encode() + body.encode())).decode()

    def headers(s, ts, eid=eid):
        return [["finch-event-id", eid], ["finch-timestamp", str(ts)], ["finch-signature", s]]

    ts = NOW - 5
    cases = [
        case("valid", headers(sig(raw[0], body, ts), ts), body, ok(0, eid)),
        case("rotation: second secret", headers(sig(raw[1], body, ts), ts), body, ok(1, eid)),
        case("several v1 entries, one valid",
             headers("v1,AAAA " + sig(b"other", body, ts) + " " + sig(raw[1], body, ts), ts), body, ok(1, eid)),
        case("wrong secret", headers(sig(b"other-key", body, ts), ts), body, err("bad_signature")),
        case("secret used undecoded", headers(sig(secrets[1].encode(), body, ts), ts), body,
             err("bad_signature")),
        case("body altered by one byte", headers(sig(raw[0], body, ts), ts), alter_one_byte(body),
             err("bad_signature")),
        case("signature for a different timestamp", headers(sig(raw[0], body, ts), ts - 1), body,
             err("bad_signature")),
        case("signature for a different event id", headers(sig(raw[0], body, ts, "evt_other"), ts), body,
             err("bad_signature")),
        case("stale timestamp", headers(sig(raw[0], body, NOW - 301), NOW - 301), body, err("stale_timestamp")),
        case("future timestamp", headers(sig(raw[0], body, NOW + 301), NOW + 301), body, err("future_timestamp")),
        case("missing event id", headers(sig(raw[0], body, ts), ts)[1:], body, err("missing_header")),
        case("missing timestamp", [headers(sig(raw[0], body, ts), ts)[i] for i in (0, 2)], body,
             err("missing_header")),
        case("missing signature", headers(sig(raw[0], body, ts), ts)[:2], body, err("missing_header")),
        case("signature without version", headers("garbage", ts), body, err("malformed_signature_header")),
        case("only unsupported versions", headers("v1a,AAAA v2,AAAA", ts), body,
             err("unsupported_signature_version")),
        case("timestamp not an integer", headers(sig(raw[0], body, ts), f"{ts}.0"), body,
             err("invalid_timestamp")),
    ]
    return {"vendor": "finch", "secrets": secrets, "cases": cases}


# ---------------------------------------------------------------- Personio / Rippling
def personio():
    secrets = ["personio-token-Q1w2E3", "personio-token-R4t5Y6"]
    body = json.dumps({
        "company_id": "92847",
        "event_name": "employment.terminated",
        "occurred_at": "2026-01-01T00:00:00Z",
        "payload": {"id": "emp-771", "person": {"id": "1829344"}},
    })
    h = lambda t: [["Authorization", t]]
    altered = alter_one_byte(body)
    cases = [
        case("valid", h(secrets[0]), body, ok(0, digest_id(body.encode()))),
        case("rotation: second token", h(secrets[1]), body, ok(1, digest_id(body.encode()))),
        case("body is not protected: altered body still accepted", h(secrets[0]), altered,
             ok(0, digest_id(altered.encode()))),
        case("wrong token", h("personio-token-guess"), body, err("bad_token")),
        case("token with Bearer prefix is a different token", h("Bearer " + secrets[0]), body, err("bad_token")),
        case("token prefix only", h(secrets[0][:-1]), body, err("bad_token")),
        case("missing Authorization", [], body, err("missing_header")),
        case("X-Personio-Signature is not a scheme",
             [["X-Personio-Signature", hmac256(secrets[0].encode(), body.encode()).hex()]], body,
             err("missing_header")),
    ]
    return {"vendor": "personio", "secrets": secrets, "cases": cases}


def rippling():
    secrets = ["rippling-bearer-AbC123", "rippling-bearer-DeF456"]
    body = ("event_name=employee.deleted&id=5ed540606c9a4e3e61c0d383"
            "&company_primary_email=admin%40acme.example&company_id=595f75ffd2a5f80ae22ce88e")
    now = NOW + 137
    bucket = now - now % 300
    did = digest_id(body.encode(), b"|", str(bucket).encode())
    h = lambda t: [["Authorization", t]]
    cases = [
        case("valid", h("Bearer " + secrets[0]), body, ok(0, did), now=now),
        case("scheme is case-insensitive", h("bearer " + secrets[0]), body, ok(0, did), now=now),
        case("rotation: second token", h("Bearer " + secrets[1]), body, ok(1, did), now=now),
        case("same body in the same 5-minute window: same id", h("Bearer " + secrets[0]), body, ok(0, did),
             now=bucket + 299),
        case("same body in a later window: new id", h("Bearer " + secrets[0]), body,
             ok(0, digest_id(body.encode(), b"|", str(bucket + 300).encode())), now=bucket + 300),
        case("wrong token", h("Bearer rippling-bearer-guess"), body, err("bad_token"), now=now),
        case("token without Bearer", h(secrets[0]), body, err("invalid_header"), now=now),
        case("Basic scheme", h("Basic " + base64.b64encode(b"u:p").decode()), body, err("invalid_header"), now=now),
        case("Bearer without token", h("Bearer "), body, err("invalid_header"), now=now),
        case("missing Authorization", [], body, err("missing_header"), now=now),
    ]
    return {"vendor": "rippling", "secrets": secrets, "cases": cases}


def main():
    doc = {
        "description": "HR vendor webhook verification vectors; generated by make_vectors.py (Python stdlib).",
        "vendors": [bamboohr(), hibob(), gusto(), merge(), finch(), personio(), rippling()],
    }
    print(json.dumps(doc, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
