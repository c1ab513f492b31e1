"""One niche's listings in one seed's market: their prices, expected orders and text, all derived per rank.

A niche's listings are numbered by rank (0 is the best seller the niche's search shows first). Per rank one
seeded stream gives a price, a noise on orders and 64 bits that choose the listing's text: how strongly it
carries the niche's keyword (``Form``), which niche phrases lead its title, which one its tags leave out, an
adjective, an occasion (only in niches where one belongs) and its shop. Because the text is chosen from a
few parts, a search can match a query against every listing from the parts' terms without writing titles.
"""

from __future__ import annotations

import enum
import math
import random
from array import array
from functools import cached_property

from etsygen_simulators.etsy.hashing import mix
from etsygen_simulators.etsy.profiles import KeywordProfile
from etsygen_simulators.etsy.text import STOP_WORDS, term_set
from etsygen_simulators.etsy.truth import NicheTruth, acceptance
from etsygen_simulators.etsy.vocabulary import ADJECTIVES, FILLER_TAG_PATTERNS, SYNTHETIC_NOTE

MAX_TAGS = 13
MAX_TAG_CHARS = 20
_STREAM = 0x5EED
ORDER_NOISE = 0.3
"""Sigma of the log-normal noise on one listing's orders around its rank's share."""


class Form(enum.IntEnum):
    """How strongly a listing carries its niche's keyword."""

    FULL = 0
    """The keyword leads the title and is a tag."""
    ITEM = 1
    """The title names the item in the niche's own words; the keyword is a tag."""
    TAGGED = 2
    """A niche phrase leads the title; only the tags carry the keyword."""
    LOOSE = 3
    """A niche phrase leads the title and the keyword is nowhere: about the niche, not its search phrase."""


_FORM_CUTS = (154, 205, 235)
"""Thresholds on a byte: about 60 % FULL, 20 % ITEM, 12 % TAGGED, 8 % LOOSE."""


def form_of(bits: int) -> Form:
    """The listing's ``Form`` from its text bits."""
    byte = bits & 0xFF
    for form, cut in zip(Form, _FORM_CUTS, strict=False):
        if byte < cut:
            return form
    return Form.LOOSE


def capitalized(phrase: str) -> str:
    """Each word's first letter in upper case (``str.title`` would write "Mother'S")."""
    return " ".join(word[:1].upper() + word[1:] for word in phrase.split())


def short_tag(phrase: str) -> str:
    """``phrase`` cut at a word boundary to Etsy's 20 characters per tag, never ending on a stop word."""
    if len(phrase) <= MAX_TAG_CHARS:
        return phrase
    words: list[str] = []
    for word in phrase.split():
        if len(" ".join([*words, word])) > MAX_TAG_CHARS:
            break
        words.append(word)
    while len(words) > 1 and words[-1] in STOP_WORDS:  # "felt busy book for" reads cut
        words.pop()
    return " ".join(words) or phrase[:MAX_TAG_CHARS]


class Choice:
    """The text choices one listing's 64 bits make (see the module's docstring)."""

    __slots__ = ("adjective", "dropped", "form", "lead", "occasion", "second", "shop_unit")

    def __init__(self, bits: int, profile: KeywordProfile) -> None:
        words = len(profile.words)
        self.form = form_of(bits)
        self.lead = (bits >> 8 & 0xFF) % words
        self.second = (self.lead + 1 + (bits >> 16 & 0xFF) % (words - 1)) % words
        self.dropped = (bits >> 24 & 0xFF) % words
        adjective = bits >> 32 & 0xFF
        self.adjective = adjective % len(ADJECTIVES) if adjective < 100 else -1
        occasion = bits >> 40 & 0xFF
        occasions = len(profile.occasions)
        self.occasion = occasion % occasions if occasions and occasion < 90 else -1
        self.shop_unit = (bits >> 48) / 65_536.0


class NicheListings:
    """Every listing of one niche in one seed's market, as arrays indexed by rank."""

    def __init__(self, seed: int, truth: NicheTruth, profile: KeywordProfile) -> None:
        self.seed = seed
        self.truth = truth
        self.profile = profile

    @cached_property
    def _columns(self) -> tuple[array[int], array[int], array[float]]:
        """Text bits, price in cents and expected monthly orders of every rank (built on first use: a
        search reads them only for niches whose words the query shares)."""
        truth = self.truth
        stream = random.Random(mix(self.seed, truth.code, _STREAM))
        bits, cents, orders = array("Q"), array("q"), array("d")
        norm = math.fsum((rank + 1) ** -truth.concentration for rank in range(truth.listings))
        for rank in range(truth.listings):
            bits.append(stream.getrandbits(64))
            price = truth.seller_price * math.exp(truth.price_spread * stream.gauss(0.0, 1.0))
            amount = max(100, round(price * 100))
            cents.append(amount)
            share = (rank + 1) ** -truth.concentration / norm
            noise = math.exp(ORDER_NOISE * stream.gauss(0.0, 1.0) - ORDER_NOISE**2 / 2)
            orders.append(truth.demand * share * acceptance(truth, amount / 100) * noise)
        return bits, cents, orders

    @property
    def bits(self) -> array[int]:
        return self._columns[0]

    @property
    def cents(self) -> array[int]:
        return self._columns[1]

    @property
    def orders(self) -> array[float]:
        """Expected orders a month of each rank: its share of demand, less what its price loses."""
        return self._columns[2]

    @cached_property
    def realised_orders(self) -> float:
        """Orders a month the niche's listings take at the prices they ask (at most ``demand``)."""
        return math.fsum(self.orders)

    def choice(self, rank: int) -> Choice:
        return Choice(self.bits[rank], self.profile)

    def shop_index(self, rank: int) -> int:
        # Squaring the uniform concentrates listings on the first (biggest) shops.
        return int(self.truth.sellers * self.choice(rank).shop_unit ** 2)

    # -- text -------------------------------------------------------------------------------------------

    def head(self, choice: Choice) -> str:
        """What leads the title."""
        profile = self.profile
        if choice.form is Form.FULL:
            adjective = ADJECTIVES[choice.adjective] if choice.adjective >= 0 else ""
            if adjective and adjective not in profile.keyword.split():
                return f"{adjective} {profile.keyword}"
            return profile.keyword
        if choice.form is Form.ITEM:
            return profile.item
        return profile.words[choice.lead]

    def title_parts(self, choice: Choice) -> list[str]:
        parts = [self.head(choice), self.profile.words[choice.second]]
        if choice.occasion >= 0:
            parts.append(self.profile.occasions[choice.occasion])
        return parts

    def title(self, rank: int) -> str:
        parts = [capitalized(part) for part in self.title_parts(self.choice(rank))]
        text = ", ".join(parts[:2]) + (f" - {parts[2]}" if len(parts) > 2 else "")
        return text[:140]

    def tags(self, form: Form, dropped: int) -> list[str]:
        """The listing's tags: its keyword (unless LOOSE), the item, the niche's phrases but one, the first
        material, the occasions, then fillers up to 13; each cut to 20 characters at a word boundary."""
        profile = self.profile
        leading = [] if form is Form.LOOSE else [profile.keyword]
        phrases = [word for index, word in enumerate(profile.words) if index != dropped]
        materials = list(profile.materials[:1])
        noun = profile.item.split(" for ")[0].split()[-1]
        fillers = [pattern.format(noun=noun) for pattern in FILLER_TAG_PATTERNS]
        tags = [short_tag(tag) for tag in [*leading, profile.item, *phrases, *materials, *profile.occasions]]
        tags = list(dict.fromkeys(tags))
        for filler in fillers:
            if len(tags) >= MAX_TAGS:
                break
            if filler not in tags:
                tags.append(short_tag(filler))
        return tags[:MAX_TAGS]

    @cached_property
    def tag_terms(self) -> dict[tuple[Form, int], frozenset[str]]:
        """Search terms of the tags of every (form, dropped phrase) a listing can have."""
        return {
            (form, dropped): term_set(self.tags(form, dropped))
            for form in Form
            for dropped in range(len(self.profile.words))
        }

    @cached_property
    def vocabulary(self) -> frozenset[str]:
        """Every search term any of the niche's listings can carry."""
        profile = self.profile
        titles = term_set([profile.keyword, profile.item, *profile.words, *profile.occasions, *ADJECTIVES])
        return titles.union(*self.tag_terms.values())

    def description(self, rank: int) -> str:
        """What it is, material, size or format, personalization, care or delivery; labelled synthetic."""
        profile = self.profile
        made = "a digital download" if profile.digital else "made from " + " and ".join(self.materials(rank))
        lines = [
            f"This {profile.item} is {made}.",
            f"Size and format: {profile.size}.",
        ]
        if profile.personalization:
            lines.append(f"Personalization: {profile.personalization}.")
        lines.append(profile.care)
        lines.append(SYNTHETIC_NOTE)
        return "\n".join(lines)

    def materials(self, rank: int) -> list[str]:
        profile = self.profile
        if not profile.materials:
            return []
        return list(profile.materials[: 1 + rank % len(profile.materials)])
