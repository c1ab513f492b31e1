"""Prompts, the structured-output schema and decoding of AI answers, shared by the HTTP providers.

The user message carries the niche as a JSON block between ``<request>`` tags, so a model sees exact values
and the local fake servers can compose an answer from the same data.
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

import msgspec

from etsygen_common.contracts.products import ProductConcept, WhenMade, WhoMade
from etsygen_generator.adapters.providers.base import ConceptRequest, ProviderBadOutput
from etsygen_generator.domain.niche import NicheBrief
from etsygen_generator.domain.quality import TITLE_MAX_WORDS
from etsygen_generator.domain.validator import (
    AI_DISCLOSURE_LINE,
    STYLES_MAX,
    TAG_COUNT,
    TAG_MAX_CHARS,
    TITLE_MAX_CHARS,
    WHEN_MADE_VALUES,
    WHO_MADE_VALUES,
)

SCHEMA_NAME: Final = "product_concept"
TOOL_NAME: Final = "record_product_concept"

SYSTEM_PROMPT: Final = f"""\
You write product concepts for Etsy listings from market data about one niche.
Answer only with the structured product concept. Rules:
- title: at most {TITLE_MAX_CHARS} characters and about {TITLE_MAX_WORDS} words; say plainly what the item is,
  first, in readable words (no list of search phrases, no "|", no cut-off words, no word more than twice);
  each of % : & + at most once; no emoji.
- occasions and recipients ("Birthday Gift", "Gift for Him"): only those the niche's evidence names
  (niche.evidence.occasions / recipients, used by a good share of its listings).
- tags: exactly {TAG_COUNT}, each at most {TAG_MAX_CHARS} characters, only letters, digits, spaces,
  hyphens and apostrophes; no duplicates, no singular/plural pairs such as "mug" and "mugs" and no
  word-order variants such as "cat mug" and "mug cat"; multi-word phrases first, covering the niche's
  own search phrases (niche.evidence.phrases, else niche.top_tags).
- materials: those the niche's listings name (niche.evidence.materials), none for a digital download;
  only letters, digits and spaces. styles: at most {STYLES_MAX}.
- who_made: one of {", ".join(WHO_MADE_VALUES)}. when_made: one of {", ".join(WHEN_MADE_VALUES)}.
- taxonomy_id: null unless you know the Etsy taxonomy id.
- is_supply: false unless the product is a craft supply.
- description: what the item is, its materials, its size or file format, how personalization works when
  the niche offers it, and how it is delivered; a few short paragraphs, and one line disclosing AI help:
  "{AI_DISCLOSURE_LINE}"
- Never use brand names, trademarks, celebrities or licensed characters, not even as "inspired by X" or
  "X style". Use the niche's own top tags and title phrases where they fit.
"""

_STRING_LIST: Final[dict[str, Any]] = {"type": "array", "items": {"type": "string"}}

# Only keywords that OpenAI's strict structured outputs accept (every property required, no extra ones);
# limits are stated in descriptions and enforced by the validator.
CONCEPT_JSON_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "title",
        "tags",
        "description",
        "materials",
        "styles",
        "taxonomy_id",
        "who_made",
        "when_made",
        "is_supply",
    ],
    "properties": {
        "title": {"type": "string", "description": f"At most {TITLE_MAX_CHARS} characters."},
        "tags": {
            **_STRING_LIST,
            "description": f"Exactly {TAG_COUNT} tags of at most {TAG_MAX_CHARS} chars.",
        },
        "description": {"type": "string", "description": "Listing description with an AI-disclosure line."},
        "materials": {**_STRING_LIST, "description": "Letters, digits and spaces only."},
        "styles": {**_STRING_LIST, "description": f"At most {STYLES_MAX}."},
        "taxonomy_id": {"type": ["integer", "null"], "description": "Etsy taxonomy id, or null."},
        "who_made": {"type": "string", "enum": list(WHO_MADE_VALUES)},
        "when_made": {"type": "string", "enum": list(WHEN_MADE_VALUES)},
        "is_supply": {"type": "boolean"},
    },
}


class PromptPayload(msgspec.Struct, frozen=True, kw_only=True):
    """The machine-readable block inside the user message."""

    niche: NicheBrief
    variant: int = 0


_PAYLOAD = re.compile(r"<request>(.*?)</request>", re.DOTALL)


def user_message(request: ConceptRequest) -> str:
    """The user turn: the niche data, and on a re-ask the previous answer and its violations."""
    payload = msgspec.json.encode(PromptPayload(niche=request.niche, variant=request.variant)).decode()
    lines = [
        f"Write product concept number {request.variant + 1} for this Etsy niche.",
        f"<request>{payload}</request>",
    ]
    if request.previous_violations:
        if request.previous_output is not None:
            previous = msgspec.json.encode(request.previous_output).decode()
            lines.append(f"Your previous answer was:\n<previous>{previous}</previous>")
        lines.append("It broke these rules. Fix every one and keep what was right:")
        lines += [f"- {violation}" for violation in request.previous_violations]
    return "\n".join(lines)


def extract_payload(text: str) -> PromptPayload | None:
    """The niche block from a user message written by :func:`user_message`, if there is one."""
    match = _PAYLOAD.search(text)
    if match is None:
        return None
    try:
        return msgspec.json.decode(match.group(1), type=PromptPayload)
    except msgspec.DecodeError:
        return None


class _WireConcept(msgspec.Struct, kw_only=True):
    """A concept as providers send it: shapes enforced, values left for the validator to judge."""

    title: str
    tags: list[str]
    description: str
    materials: list[str] = msgspec.field(default_factory=list)
    styles: list[str] = msgspec.field(default_factory=list)
    taxonomy_id: int | None = None
    who_made: str = "i_did"
    when_made: str = "made_to_order"
    is_supply: bool = False


def _to_concept(wire: _WireConcept) -> ProductConcept:
    # who_made/when_made are passed through unchecked on purpose: the validator reports a wrong value
    # in words the provider can act on, which a decode error would not.
    return ProductConcept(
        title=wire.title,
        tags=wire.tags,
        description=wire.description,
        materials=wire.materials,
        styles=wire.styles,
        taxonomy_id=wire.taxonomy_id,
        who_made=cast(WhoMade, wire.who_made),
        when_made=cast(WhenMade, wire.when_made),
        is_supply=wire.is_supply,
    )


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)


def decode_concept(raw: str | bytes, *, provider: str) -> ProductConcept:
    """Decode a concept from JSON text, tolerating a Markdown code fence around it (local models add one).

    Raises:
        ProviderBadOutput: the text is not JSON, or not a concept-shaped object.
    """
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        return _to_concept(msgspec.json.decode(text, type=_WireConcept))
    except msgspec.ValidationError as exc:
        raise ProviderBadOutput(f"schema violation: {exc}", provider=provider) from exc
    except msgspec.DecodeError as exc:
        raise ProviderBadOutput(f"invalid JSON: {exc}", provider=provider) from exc
