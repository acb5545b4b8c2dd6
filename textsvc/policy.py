"""The scoring policy (``corpora/policy.toml``): weights and thresholds as validated data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from textsvc.errors import PolicyError

NEXT_STEP = "NEXT_STEP"  # a proposed call or meeting: pitches propose them too (textsvc/classifier.py)
SIGNALS = (
    "RECIPIENT_NAME_USED",
    "CONCRETE_REFERENCE",
    "SHARED_CONTEXT",
    "REASON_TO_CONNECT",
    NEXT_STEP,
    "SPECIFIC_DETAILS",
)
PROFILE_CHECKS = (
    "PROFILE_VISITORS_PER_CONTACT",
    "SENDER_VISITED_PROFILE",
    "PROFILE_COMPLETENESS",
    "SHARED_CONTACTS_OR_INTERESTS",
    "SENDER_ACTIVITY",
    "MEMBERSHIP_DURATION",
)


class PersonalizationPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    base: int
    signal_saturation: float
    generic_cap: int
    template_penalty: int
    placeholder_penalty: int
    rare_word_zipf: float
    points: dict[str, int]
    factors: dict[str, float]


class TemplatePolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min_words: int
    min_similarity: float
    near_exact: float
    exact: float
    full_strength: float


class VerdictPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    base: int
    text_factor: float
    template_points: int
    placeholder_points: int
    accept_at: int
    decline_below: int


class ProfilePolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    visitors_per_contact: float
    min_contacts_for_ratio: int
    completeness: float
    membership_months: int
    points: dict[str, tuple[int, int]]


class CoachPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ready_requires: list[list[str]]
    length_limits: dict[str, int]


class GovernancePolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    activate_after_reports: int


class SightingsPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mass_sent_senders: int


class Policy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str
    personalization: PersonalizationPolicy
    templates: TemplatePolicy
    verdict: VerdictPolicy
    profile: ProfilePolicy
    coach: CoachPolicy
    governance: GovernancePolicy
    sightings: SightingsPolicy

    def template_strength(self, similarity: float) -> float:
        """How fully a match counts: 0 below ``min_similarity``, 0.5 there, 1 from ``full_strength``.

        A fingerprint at ``min_similarity`` is already a true variant in our measurements, so it
        starts at half strength rather than near zero.
        """
        t = self.templates
        if similarity < t.min_similarity:
            return 0.0
        return min(1.0, (similarity - t.min_similarity) / max(t.full_strength - t.min_similarity, 1e-9) * 0.5 + 0.5)


def load_policy(path: Path) -> Policy:
    """Read and validate the policy; every signal and profile check must have its points."""
    try:
        policy = msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), Policy)
    except (OSError, tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    missing = [s for s in SIGNALS if s not in policy.personalization.points]
    missing += [c for c in PROFILE_CHECKS if c not in policy.profile.points]
    if missing:
        raise PolicyError(f"{path}: no points for {', '.join(missing)}")
    return policy
