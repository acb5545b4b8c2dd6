"""The wire format (msgspec Structs, camelCase JSON); see ../shared/API.md for the contract.

Offsets: ``start``/``end`` are Unicode code points into the original ``text`` (Python slicing);
``offset``/``length`` are UTF-16 code units (JavaScript, the DOM and LanguageTool).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

MAX_TEXT_CHARS = 5000

Count = Annotated[int, Meta(ge=0, le=1_000_000_000)]
ShortStr = Annotated[str, Meta(max_length=300)]
Words = Annotated[list[ShortStr], Meta(max_length=100)]
Action = Literal["accept", "review", "decline"]
CheckStatus = Literal["passed", "failed", "unknown"]


class Base(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=False):
    """camelCase JSON; unknown fields are ignored (tolerant reader)."""


# --- request --------------------------------------------------------------------------------


class Activity(Base):
    articles: Count | None = None
    group_posts: Count | None = None
    promotional_posts: Count | None = None


class Sender(Base):
    """The sender's profile as the network shows it; ``null``/missing means unknown, never failed."""

    id: Annotated[str, Meta(max_length=300, description="Opaque id of the sender (e.g. a hash of the profile URL); "
                                                         "counts distinct senders of a text.")] | None = None
    name: ShortStr | None = None
    headline: ShortStr | None = None
    profession: ShortStr | None = None
    position: ShortStr | None = None
    company: ShortStr | None = None
    experience_years: Annotated[int, Meta(ge=0, le=80)] | None = None
    contacts: Count | None = None
    profile_visitors: Count | None = None
    member_since: Annotated[str, Meta(pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$")] | None = None
    visited_recipient_profile: bool | None = None
    shared_contacts: Count | None = None
    shared_interests: Words | None = None
    profile_completeness: Annotated[float, Meta(ge=0.0, le=1.0)] | None = None
    activity: Activity | None = None
    membership: Literal["basic", "premium"] | None = None


class Recipient(Base):
    first_name: ShortStr | None = None
    last_name: ShortStr | None = None
    company: ShortStr | None = None
    position: ShortStr | None = None
    interests: Words = msgspec.field(default_factory=list)
    groups: Words = msgspec.field(default_factory=list)


class AnalyzeRequest(Base):
    text: Annotated[
        str,
        Meta(max_length=MAX_TEXT_CHARS, description="The request message; may be empty."),
    ]
    language: Annotated[
        str,
        Meta(
            max_length=35,
            description='"auto" (default), "de" or "en" (a region such as "de-DE" is accepted).',
        ),
    ] = "auto"
    platform: Literal["xing", "linkedin", "other"] | None = None
    level: Literal["default", "picky"] = "default"
    sender: Sender | None = None
    recipient: Recipient | None = None
    client_token: Annotated[str, Meta(max_length=200)] | None = None


# --- response -------------------------------------------------------------------------------


class Replacement(Base):
    value: str


class Match(Base):
    rule_id: str
    category: str
    text: str
    start: Annotated[int, Meta(description="Code-point index into the original text.")]
    end: Annotated[int, Meta(description="Code-point index (exclusive); text[start:end] == match.text.")]
    offset: Annotated[int, Meta(description="UTF-16 code units from the start of the text.")]
    length: Annotated[int, Meta(description="Length in UTF-16 code units.")]
    message: str
    short_message: str
    replacements: Annotated[list[Replacement], Meta(
        description="Concrete wordings that can take the span's place; '…' marks what the writer fills in.")]
    weight: float
    hint: str = ""


class TemplateMatch(Base):
    template_id: str
    similarity: Annotated[float, Meta(ge=0, le=100)]
    times_seen: int
    level: Literal["exact", "near_exact", "similar"]


class Evidence(Base):
    text: str
    start: int
    end: int
    rule_id: str | None = None


class Signal(Base):
    id: str
    present: bool
    points: int
    detail: str
    evidence: list[Evidence] = msgspec.field(default_factory=list)


class Personalization(Base):
    score: Annotated[int, Meta(ge=0, le=100)]
    base: int
    clamp: Annotated[int, Meta(description="Points added or removed to stay within 0–100.")]
    signals: list[Signal]


class ProfileCheck(Base):
    id: str
    status: CheckStatus
    message: str
    value: float | None = None
    threshold: float | None = None


class Explanation(Base):
    id: str
    points: int
    detail: str


class Verdict(Base):
    action: Action
    score: Annotated[int, Meta(ge=0, le=100)]
    reasons: list[str]


class Language(Base):
    code: Literal["de", "en"]
    detected: bool
    confidence: float | None = None


class Software(Base):
    name: str
    version: str
    pipeline: str
    ruleset_version: str
    api_version: int = 1


class SightingOut(Base):
    """How often this text's skeleton was analysed before (only a salted hash of it is kept)."""

    total: int
    distinct_senders: int
    first_seen: str
    last_seen: str
    mass_sent: bool


class AnalyzeResponse(Base):
    verdict: Verdict
    personalization: Personalization
    matches: list[Match]
    template_matches: list[TemplateMatch]
    profile_checks: list[ProfileCheck]
    explanations: list[Explanation]
    language: Language
    software: Software
    sighting: SightingOut | None = None
    client_token: str | None = None


class BatchItem(AnalyzeRequest, kw_only=True):
    id: Annotated[str, Meta(min_length=1, max_length=200, description="The caller's id, echoed in the result.")]


class BatchRequest(Base):
    items: Annotated[list[BatchItem], Meta(min_length=1, max_length=100)]


class BatchResult(AnalyzeResponse, kw_only=True):
    id: str


class BatchResponse(Base):
    results: list[BatchResult]


# --- templates ------------------------------------------------------------------------------


class TemplateIn(Base):
    text: Annotated[str, Meta(min_length=20, max_length=MAX_TEXT_CHARS)]
    language: Literal["de", "en"]
    platform: Literal["xing", "linkedin", "any", "other"] | None = None
    source: Annotated[str, Meta(min_length=1, max_length=100)] = "api"
    tags: Annotated[list[Annotated[str, Meta(max_length=40)]], Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )


class TemplateImport(TemplateIn, kw_only=True):
    """One line of an import; an export line carries its id, status and counts and reads back as is."""

    id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")] | None = None
    status: Literal["active", "pending", "suspended"] = "active"
    times_seen: Annotated[int, Meta(ge=0)] = 0
    created_at: Annotated[str, Meta(max_length=40)] | None = None
    updated_at: Annotated[str, Meta(max_length=40)] | None = None


class TemplateOut(Base):
    """A template with its provenance: where it came from, its status and how it was judged."""

    id: str
    text: str
    language: str
    platform: str | None
    source: str
    tags: list[str]
    status: Literal["active", "pending", "suspended"]
    times_seen: int
    reports: int
    disputes: int
    fingerprint_version: int
    created_at: str
    updated_at: str
    duplicate: bool = False


class TemplatePatch(Base):
    language: Literal["de", "en"] | None = None
    platform: Literal["xing", "linkedin", "any", "other"] | None = None
    source: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    tags: Annotated[list[Annotated[str, Meta(max_length=40)]], Meta(max_length=20)] | None = None
    status: Literal["active", "suspended"] | None = None


class TemplatePage(Base):
    items: list[TemplateOut]
    next_cursor: str | None


class ImportRejected(Base):
    line: int
    detail: str


class ImportReport(Base):
    received: int
    inserted: int
    duplicates: int
    rejected: list[ImportRejected]


class FeedbackIn(Base, kw_only=True):
    text: Annotated[str, Meta(max_length=MAX_TEXT_CHARS)] = ""
    label: Literal["template", "not_template", "false_alarm"]
    reporter: Annotated[str, Meta(min_length=1, max_length=200,
                                  description="Opaque id of the reporting user (e.g. a hashed user id).")]
    language: Literal["de", "en"] | None = None
    rule_id: Annotated[str, Meta(max_length=100)] | None = None
    template_id: Annotated[str, Meta(max_length=100)] | None = None


class FeedbackOut(Base):
    status: Literal["recorded", "already_recorded", "ignored"]
    template_id: str | None = None
    template_status: Literal["active", "pending", "suspended"] | None = None


# --- operations -----------------------------------------------------------------------------


class RuleExample(Base):
    text: str
    kind: Literal["hit", "miss"]
    start: int | None = None
    end: int | None = None


class Rule(Base):
    id: str
    language: str
    category: str
    group: str
    message: str
    weight: float
    replacements: list[str]
    examples: list[RuleExample]
    hint: str = ""
    false_alarm_reports: Annotated[int, Meta(description="Distinct users who reported this rule as a false alarm.")] = 0
    signal: str | None = None


class RulesResponse(Base):
    rules: list[Rule]
    ruleset_version: str


class Health(Base):
    status: Literal["ok"]


class Ready(Base):
    status: Literal["ready", "not_ready"]
    pipelines: dict[str, str]
    templates: int
    ruleset_version: str
    database: Literal["ok", "not_writable"]


class ProblemError(Base):
    pointer: str
    detail: str


class Problem(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """RFC 9457 problem details; ``errors`` lists each invalid field with a JSON pointer."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


# --- coach ----------------------------------------------------------------------------------


class Suggestion(Base):
    """Something to add or fix in a draft; ``start``/``end`` point at the words concerned."""

    id: str
    severity: Literal["blocker", "improvement"]
    message: str
    replacements: list[Replacement] = msgspec.field(default_factory=list)
    start: int | None = None
    end: int | None = None
    offset: int | None = None
    length: int | None = None


class CheckVerdict(Base):
    action: Literal["ready", "revise"]
    score: Annotated[int, Meta(ge=0, le=100, description="The personalization score of the draft.")]


class Length(Base):
    chars: int
    limit: int | None


class CheckResponse(Base):
    verdict: CheckVerdict
    personalization: Personalization
    matches: list[Match]
    template_matches: list[TemplateMatch]
    suggestions: list[Suggestion]
    length: Length
    language: Language
    software: Software
    client_token: str | None = None
