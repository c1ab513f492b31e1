"""Listing quality: would a seller publish this concept after a light edit? A grade A-F with its reasons.

The validator says whether Etsy accepts a concept; this module says whether it is a good listing, following
Etsy's seller guidance as DOMAIN.md states it: the title says plainly what the item is, first, in readable
words (not a list of search phrases, no cut fragments, no repeated words), tags carry the niche's other
search phrases (long-tail first, no near-duplicates), occasions and recipients appear only when the niche's
evidence supports them, the description has substance (what it is, materials, size or format,
personalization, delivery), materials come from the evidence, and the design brief fits the product (a
physical item is photographed or made, a printable is print-ready art).

:func:`grade` is pure and works for any concept from any provider; :func:`review` is the decision a
provider loop applies: accept, repair from the niche's evidence, or send the reasons back.
"""

from __future__ import annotations

import itertools
import re
from typing import Final, Literal

import msgspec

from etsygen_common.contracts.products import DesignPrompt, ProductConcept
from etsygen_common.listing_terms import MATERIALS, OCCASIONS, RECIPIENTS, find_terms, fold_words
from etsygen_generator.domain.compose import compose_tags
from etsygen_generator.domain.niche import (
    DANGLING_WORDS,
    GENERIC_ADJECTIVES,
    MINOR_WORDS,
    NicheBrief,
    NicheFacts,
    is_generic_phrase,
    read_niche,
)
from etsygen_generator.domain.text import singular_word
from etsygen_generator.domain.validator import TAG_COUNT, TAG_MAX_CHARS, validate

Letter = Literal["A", "B", "C", "D", "F"]
Severity = Literal["major", "minor", "info"]
LETTERS: Final[tuple[Letter, ...]] = ("A", "B", "C", "D", "F")
DEFAULT_MINIMUM: Final[Letter] = "B"

TITLE_MAX_WORDS: Final = 15
"""Etsy's guidance asks for short titles; past about fifteen words a title reads as a keyword list."""
TITLE_MAX_SEGMENTS: Final = 4
"""Parts separated by commas or dashes: a lead and up to three details before it becomes a phrase list."""
TITLE_LEAD_WORDS: Final = 8
"""The item's head noun must come within the title's first words."""
WORD_REPEAT_MAX: Final = 2
DESCRIPTION_MIN_WORDS: Final = 35
COVERAGE_MAJOR: Final = 0.5
COVERAGE_MINOR: Final = 0.7
COVERAGE_PHRASES: Final = 8

_SEGMENT_BREAKS: Final = re.compile(r"\s*(?:,|;|\s[-\u2013\u2014]\s|/)\s*")
_DELIVERY: Final = re.compile(
    r"\b(?:ship\w*|deliver\w*|download\w*|dispatch\w*|care|wash\w*|processing)\b", re.I
)
_PERSONALIZATION: Final = re.compile(r"\bpersonali[sz]\w*|\bengrav\w*|\bcustomi[sz]\w*", re.I)


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One quality problem (or, as ``info``, something the evidence did not say)."""

    code: str
    severity: Severity
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} ({self.field}): {self.message}"


class Grade(msgspec.Struct, frozen=True, kw_only=True):
    """A letter and every finding behind it."""

    letter: Letter
    findings: list[Finding] = msgspec.field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Every finding as a sentence, problems first and what the evidence lacked last."""
        ordered = sorted(self.findings, key=lambda finding: finding.severity == "info")
        return [str(finding) for finding in ordered]

    @property
    def problems(self) -> list[str]:
        """The findings a provider can fix (majors and minors)."""
        return [str(finding) for finding in self.findings if finding.severity != "info"]


def at_least(letter: Letter, minimum: Letter) -> bool:
    """True when ``letter`` is ``minimum`` or better."""
    return LETTERS.index(letter) <= LETTERS.index(minimum)


def _key(word: str) -> str:
    return singular_word(word)


def _content_words(text: str) -> list[str]:
    return [word for word in fold_words(text).split() if word not in MINOR_WORDS]


# --- title --------------------------------------------------------------------------------------------


def _segments(title: str) -> list[str]:
    return [segment for segment in _SEGMENT_BREAKS.split(title.replace("|", ",")) if segment.strip()]


def _cut_segment(segment: str, facts: NicheFacts) -> str | None:
    words = fold_words(segment).split()
    if not words:
        return None
    whole = " ".join(words)
    # the item itself is what the niche is called, even when that is an adjective ("modern")
    if words[-1] in DANGLING_WORDS or (words[-1] in GENERIC_ADJECTIVES and whole != facts.item):
        return f"{segment!r} ends in {words[-1]!r}, a word that needs a noun after it"
    if whole in facts.known_phrases or whole == facts.item or facts.head in words:
        return None
    keyword = facts.keyword.split()
    # Two words or more: "Birthday Gift" ending in the first word of "gift cat" is not a cut "gift".
    for size in range(2, len(keyword)):
        prefix = keyword[:size]
        if words[-size:] == prefix and keyword[size] not in MINOR_WORDS:
            return f"{segment!r} stops at {' '.join(prefix)!r}, cut from {facts.keyword!r}"
    return None


# Whole words a title may end on besides the niche's own: the gift line's ("Gift for Dad" is not "Daddy" cut).
_WHOLE_WORDS: Final = frozenset(
    {"gift", "gifts"}
    | {
        word
        for vocabulary in (OCCASIONS, RECIPIENTS, MATERIALS)
        for term, phrases in vocabulary.items()
        for phrase in (term, *phrases)
        for word in phrase.split()
    }
)


def _cut_last_word(title: str, facts: NicheFacts) -> str | None:
    words = fold_words(title).split()
    if not words or words[-1] in facts.vocabulary or words[-1] in _WHOLE_WORDS or len(words[-1]) < 2:
        return None
    last = words[-1]
    longer = sorted(word for word in facts.vocabulary if word.startswith(last) and len(word) > len(last) + 1)
    return f"the title ends in {last!r}, a fragment of {longer[0]!r}" if longer else None


def _repeats(title: str) -> list[str]:
    words = [_key(word) for word in _content_words(title)]
    problems = [
        f"{word!r} appears {words.count(word)} times (at most {WORD_REPEAT_MAX})"
        for word in dict.fromkeys(words)
        if words.count(word) > WORD_REPEAT_MAX
    ]
    pairs: list[str] = []
    for segment in _segments(title):
        keys = [_key(word) for word in _content_words(segment)]
        pairs += [f"{a} {b}" for a, b in itertools.pairwise(keys)]
    problems += [f"the phrase {pair!r} is repeated" for pair in dict.fromkeys(pairs) if pairs.count(pair) > 1]
    return problems


def _claims(text: str) -> tuple[set[str], set[str]]:
    return set(find_terms(text, OCCASIONS)), set(find_terms(text, RECIPIENTS))


def _unsupported(texts: list[str], facts: NicheFacts) -> list[str]:
    found: list[str] = []
    for text in texts:
        occasions, recipients = _claims(text)
        # a claim the keyword itself makes ("teacher appreciation gift") is the niche, not an addition
        keyword_occasions, keyword_recipients = _claims(facts.keyword)
        found += sorted(occasions - set(facts.occasions) - keyword_occasions)
        found += sorted(recipients - set(facts.recipients) - keyword_recipients)
    return list(dict.fromkeys(found))


def title_findings(title: str, facts: NicheFacts) -> list[Finding]:
    """Readability and honesty of the title (its Etsy rules are the validator's)."""
    found: list[Finding] = []

    def add(code: str, severity: Severity, message: str) -> None:
        found.append(Finding(code=code, severity=severity, field="title", message=message))

    segments = _segments(title)
    if "|" in title or len(segments) > TITLE_MAX_SEGMENTS:
        add(
            "title_phrase_list", "major", f"{len(segments)} phrases strung together; write one readable title"
        )
    cuts = [problem for segment in segments if (problem := _cut_segment(segment, facts))]
    last = _cut_last_word(title, facts)
    if cuts or last:
        add("title_cut_word", "major", "; ".join([*cuts, *([last] if last else [])]))
    repeats = _repeats(title)
    if repeats:
        add("title_repeated", "major", "; ".join(repeats))
    words = fold_words(title).split()
    if len(words) > TITLE_MAX_WORDS:
        add("title_long", "minor", f"{len(words)} words; keep it under {TITLE_MAX_WORDS + 1} so it reads")
    lead = {_key(word) for word in words[:TITLE_LEAD_WORDS]}
    if facts.head and _key(facts.head) not in lead:
        add("title_lead", "major", f"the first {TITLE_LEAD_WORDS} words do not say it is a {facts.head}")
    elif not {_key(word) for word in _content_words(facts.item)} <= lead:
        add("title_lead", "minor", f"lead with what the item is: {facts.item!r}")
    unsupported = _unsupported(segments, facts)
    if unsupported:
        add(
            "title_unsupported_claim",
            "major",
            f"names {', '.join(unsupported)}, which few of the niche's listings do",
        )
    return found


# --- tags -----------------------------------------------------------------------------------------------


def tag_key(tag: str) -> tuple[str, ...]:
    """Words of a tag, singular and sorted: tags with the same key are near-duplicates."""
    return tuple(sorted(_key(word) for word in fold_words(tag).split()))


def tag_findings(tags: list[str], facts: NicheFacts) -> list[Finding]:
    """Near-duplicates, long-tail order, unsupported claims and how much of the niche the tags cover."""
    found: list[Finding] = []

    def add(code: str, severity: Severity, message: str) -> None:
        found.append(Finding(code=code, severity=severity, field="tags", message=message))

    cut = [
        tag
        for tag in tags
        if (folded := fold_words(tag)) not in facts.known_phrases
        and folded.split()
        and folded.split()[-1] in DANGLING_WORDS
    ]
    if cut:
        add("tags_cut_word", "major", f"tags end in a word that needs a noun after it: {cut!r}")
    keys = [tag_key(tag) for tag in tags]
    near = [tag for index, tag in enumerate(tags) if keys[index] in keys[:index]]
    if near:
        add("tags_near_duplicate", "major", f"word-order or plural variants of other tags: {near!r}")
    sizes = [len(key) for key in keys]
    if any(size == 1 for size in sizes) and any(
        later > 1 for index, size in enumerate(sizes) if size == 1 for later in sizes[index + 1 :]
    ):
        add("tags_order", "minor", "put multi-word (long-tail) tags before single words")
    unsupported = _unsupported(tags, facts)
    if unsupported:
        add(
            "tags_unsupported_claim", "minor", f"tags name {', '.join(unsupported)}, unsupported by the niche"
        )
    # Only phrases a tag can carry count: Etsy cuts a tag at 20 characters, so a longer phrase is the
    # title's and description's to use, not a gap in the tags.
    wanted = [
        phrase for phrase in facts.phrases if not is_generic_phrase(phrase) and len(phrase) <= TAG_MAX_CHARS
    ][:COVERAGE_PHRASES]
    if wanted:
        tag_text = {tag_key(tag) for tag in tags}
        covered = [phrase for phrase in wanted if tag_key(phrase) in tag_text]
        share = len(covered) / len(wanted)
        if share < COVERAGE_MINOR:
            missing = [phrase for phrase in wanted if phrase not in covered]
            add(
                "tags_coverage",
                "major" if share < COVERAGE_MAJOR else "minor",
                f"tags carry {len(covered)} of the niche's {len(wanted)} top phrases; missing {missing!r}",
            )
    generic = [tag for tag in tags if is_generic_phrase(fold_words(tag))]
    if len(generic) > 2:
        add("tags_generic", "minor", f"{len(generic)} tags are an adjective plus a noun: {generic!r}")
    return found


# --- description, materials, design ---------------------------------------------------------------------


def description_findings(concept: ProductConcept, facts: NicheFacts) -> list[Finding]:
    """Does the description say what it is, what it is made of, its size or format, and how it arrives?"""
    found: list[Finding] = []
    text = concept.description

    def add(code: str, severity: Severity, message: str) -> None:
        found.append(Finding(code=code, severity=severity, field="description", message=message))

    folded = f" {fold_words(text)} "
    if len(folded.split()) < DESCRIPTION_MIN_WORDS:
        add(
            "description_thin",
            "major",
            f"{len(folded.split())} words; say what it is, its materials and size",
        )
    if facts.head and f" {facts.head} " not in folded and f" {_key(facts.head)} " not in folded:
        add("description_item", "major", f"never says it is a {facts.head}")
    if concept.materials and not any(f" {fold_words(m)} " in folded for m in concept.materials):
        add("description_materials", "minor", "does not name the materials")
    if facts.sizes and not any(f" {size} " in folded or size in text.lower() for size in facts.sizes):
        add(
            "description_size",
            "minor",
            f"does not give the size or format (the niche names {facts.sizes[0]!r})",
        )
    if facts.personalized and not _PERSONALIZATION.search(text):
        add("description_personalization", "minor", "does not say how personalization works")
    if not _DELIVERY.search(text):
        add("description_delivery", "minor", "does not say how it is delivered or cared for")
    return found


def material_findings(concept: ProductConcept, facts: NicheFacts) -> list[Finding]:
    """Materials from the evidence: present for a physical item when the niche names them, never invented."""
    found: list[Finding] = []
    if facts.kind == "physical" and facts.materials and not concept.materials:
        found.append(
            Finding(
                code="materials_missing",
                severity="major",
                field="materials",
                message=f"no materials, though the niche's listings name {', '.join(facts.materials)}",
            )
        )
    return found


def design_findings(design: DesignPrompt, facts: NicheFacts) -> list[Finding]:
    """A physical item gets a product or making brief; a printable gets print-ready art."""
    print_ready = "print-ready" in design.prompt.lower()
    if facts.kind == "physical" and print_ready:
        message = f"asks for print-ready art for a physical {facts.head}; brief the product photo instead"
        return [Finding(code="design_kind", severity="major", field="design", message=message)]
    if facts.kind == "digital" and not print_ready:
        message = "a digital download needs print-ready artwork in the brief"
        return [Finding(code="design_kind", severity="minor", field="design", message=message)]
    return []


# --- grade and review -----------------------------------------------------------------------------------


def _letter(findings: list[Finding], invalid: bool) -> Letter:
    majors = sum(finding.severity == "major" for finding in findings)
    minors = sum(finding.severity == "minor" for finding in findings)
    if invalid or majors >= 3:
        return "F"
    if majors == 2:
        return "D"
    if majors == 1 or minors > 2:
        return "C"
    return "B" if minors else "A"


def grade(concept: ProductConcept, niche: NicheBrief, *, design: DesignPrompt | None = None) -> Grade:
    """Grade any concept against its niche: A (publish as is) to F (not a listing), with every reason.

    A concept that breaks Etsy's rules (the validator's violations) is F. Otherwise each major problem
    (phrase-list or cut title, unsupported claim, tags that miss the niche, an empty or thin part) costs a
    letter from B down; two minor ones are still a B, three a C. What the niche's evidence did not say is
    reported as ``info`` and costs nothing.
    """
    facts = read_niche(niche)
    violations = validate(concept)
    findings = [
        Finding(code=violation.code, severity="major", field=violation.field, message=violation.message)
        for violation in violations
    ]
    findings += title_findings(concept.title, facts)
    findings += tag_findings(concept.tags, facts)
    findings += description_findings(concept, facts)
    findings += material_findings(concept, facts)
    if design is not None:
        findings += design_findings(design, facts)
    findings += [
        Finding(code="evidence_missing", severity="info", field="evidence", message=m) for m in facts.missing
    ]
    return Grade(letter=_letter(findings, bool(violations)), findings=findings)


class Review(msgspec.Struct, frozen=True, kw_only=True):
    """The quality decision for one concept: accepted (maybe repaired), or its reasons for the provider."""

    accepted: bool
    concept: ProductConcept
    grade: Grade
    repairs: list[str] = msgspec.field(default_factory=list)


def repair_from_evidence(concept: ProductConcept, niche: NicheBrief) -> tuple[ProductConcept, list[str]]:
    """Fix what the niche's evidence can fix without rewriting the concept's words.

    Tags naming unsupported occasions or recipients and near-duplicate tags are dropped, the set is topped up
    to 13 from the niche's own phrases (as the composer picks them) and put long-tail first;
    a physical item without materials gets the niche's. Titles and descriptions are left to the provider.
    """
    facts = read_niche(niche)
    notes: list[str] = []
    kept: list[str] = []
    keys: set[tuple[str, ...]] = set()
    for tag in concept.tags:
        if _unsupported([tag], facts):
            notes.append(f"tags: dropped {tag!r} (names a claim the niche does not support)")
        elif tag_key(tag) in keys:
            notes.append(f"tags: dropped {tag!r} (a near-duplicate)")
        else:
            kept.append(tag)
            keys.add(tag_key(tag))
    for tag in compose_tags(niche):
        if len(kept) >= TAG_COUNT:
            break
        if tag_key(tag) not in keys:
            kept.append(tag)
            keys.add(tag_key(tag))
            notes.append(f"tags: added {tag!r} from the niche's search phrases")
    ordered = sorted(kept, key=lambda tag: len(tag.split()) == 1)
    if ordered != kept and notes:
        notes.append("tags: multi-word tags first")
    materials = concept.materials
    if facts.kind == "physical" and not materials and facts.materials:
        materials = list(facts.materials)
        notes.append(f"materials: {materials!r} from the niche's listings")
    if not notes:
        return concept, []
    return msgspec.structs.replace(concept, tags=ordered, materials=materials), notes


def review(concept: ProductConcept, niche: NicheBrief, *, minimum: Letter = DEFAULT_MINIMUM) -> Review:
    """Accept a concept at ``minimum`` or better; else repair it from the evidence and grade it again.

    When the repaired concept still falls short, ``accepted`` is False and ``grade.problems`` are the reasons
    to send back to the provider (or to reject with, once attempts run out). A repair that breaks an Etsy
    rule is never returned: the original is kept.
    """
    graded = grade(concept, niche)
    if at_least(graded.letter, minimum):
        return Review(accepted=True, concept=concept, grade=graded)
    repaired, notes = repair_from_evidence(concept, niche)
    if not notes or validate(repaired):
        return Review(accepted=False, concept=concept, grade=graded)
    regraded = grade(repaired, niche)
    return Review(
        accepted=at_least(regraded.letter, minimum), concept=repaired, grade=regraded, repairs=notes
    )
