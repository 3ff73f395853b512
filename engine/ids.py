"""Prefixed, opaque identifiers: ``as_`` assets, ``job_`` jobs, ``up_`` uploads, ``pl_`` pipelines."""

from __future__ import annotations

import secrets
from enum import StrEnum

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class IdPrefix(StrEnum):
    ASSET = "as"
    JOB = "job"
    UPLOAD = "up"
    PIPELINE = "pl"
    ACCOUNT = "acct"
    KEY = "key"
    DERIVATIVE = "dv"
    USAGE = "ue"
    WEBHOOK = "wh"
    SCHEDULE = "sch"
    USER = "usr"
    TEAM = "team"
    SESSION = "ses"
    FOLDER = "fld"
    COLLECTION = "col"
    SHARE = "sh"
    DELIVERY = "msg"  # a webhook delivery; its id is the Standard Webhooks "webhook-id"


def new_id(prefix: IdPrefix, length: int = 16) -> str:
    # One draw from the OS's randomness for the whole id (a draw per character costs a system call each).
    number = secrets.randbelow(len(_ALPHABET) ** length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[digit])
    return f"{prefix.value}_" + "".join(chars)


def has_prefix(value: str, prefix: IdPrefix) -> bool:
    head, sep, tail = value.partition("_")
    return bool(sep) and head == prefix.value and tail.isalnum() and len(tail) <= 64
