"""No typed passwords at rest: what an unknown actor typed becomes a keyed token.

A failed sign-in by a user Okta does not know (docs/okta.md §3) has ``actor.id`` ``"unknown"``
and in ``actor.alternateId`` whatever was typed into the user-name field — often a password.
Before an event is written anywhere (journal, raw JSON, columns) that text is replaced by
``unknown:<32 hex digits>``, an HMAC-SHA256 of the text under a key of the data dir: the same text
always gives the same token, so distinct counts and password-spray rules still work, and without
the key a token cannot be checked against guesses.

Events travel as the bytes Okta sent; only an event whose ``actor`` (as msgspec found it) holds
the bytes ``"unknown"`` is opened: its top-level members and its actor are read as raw JSON, the
one value is replaced, and every other member value is kept byte for byte (the whitespace
between members goes). A token is never hashed again, so an event that passes twice (a
hand-off, a re-ingested export) keeps its token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

import msgspec

TOKEN_PREFIX = "unknown:"
TOKEN_HEX = 32
UNKNOWN_ID = "unknown"
_TOKEN = re.compile(f"{TOKEN_PREFIX}[0-9a-f]{{{TOKEN_HEX}}}")
_MARK = b'"unknown"'
_MEMBERS = msgspec.json.Decoder(dict[str, msgspec.Raw])
_TEXT = msgspec.json.Decoder(object)


class TypedNames:
    """Replaces the typed name of unknown actors with a keyed token (see the module)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the typed-name key must be at least 16 bytes")
        self._key = key

    def token(self, typed: str) -> str:
        if _TOKEN.fullmatch(typed):
            return typed
        digest = hmac.new(self._key, typed.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return TOKEN_PREFIX + digest.hexdigest()[:TOKEN_HEX]

    def rewrite(self, raws: list[bytes], actors: Sequence[bytes | msgspec.Raw]) -> int:
        """Replace, in ``raws``, the events whose actor is unknown; ``actors[i]`` is event i's
        ``actor`` as raw JSON. Returns how many changed. RecursionError: too deep to rewrite."""
        if _MARK not in b"".join(actors):
            return 0  # the common case: one C-level pass over the actors only
        changed = 0
        for index, actor in enumerate(actors):
            if _MARK in bytes(actor):
                rewritten = self.event(raws[index])
                if rewritten is not None:
                    raws[index] = rewritten
                    changed += 1
        return changed

    def event(self, raw: bytes) -> bytes | None:
        """``raw`` with its unknown actor's typed name replaced; None if there is nothing to do."""
        try:
            members = _MEMBERS.decode(raw)
            actor = _MEMBERS.decode(members["actor"])
            if _TEXT.decode(actor["id"]) != UNKNOWN_ID:
                return None
            typed = _TEXT.decode(actor["alternateId"])
        except (KeyError, msgspec.ValidationError, msgspec.DecodeError):
            return None  # no actor object, no id or typed name, or not JSON text
        if not isinstance(typed, str) or _TOKEN.fullmatch(typed):
            return None
        actor["alternateId"] = msgspec.Raw(msgspec.json.encode(self.token(typed)))
        members["actor"] = msgspec.Raw(msgspec.json.encode(actor))
        return msgspec.json.encode(members)
