"""The Analyzer: one request in, one explained verdict out. Orchestration only (no HTTP, no SQL).

Built once at start-up (pipelines, compiled lexicons, policy, template index) and shared by every
request. Order of work: language → one spaCy doc → phrases → templates → personalization →
profile checks → verdict.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from textsvc import __version__
from textsvc.candidates import CandidateIndex
from textsvc.classifier import SentenceClassifier
from textsvc.errors import InvalidFeedback, InvalidTemplate, NotFound, UnsupportedLanguage
from textsvc.lexicon import load_lexicon
from textsvc.messages import Messages, load_messages
from textsvc.nlp import SUPPORTED_LANGUAGES, ZIPF_FLOOR, build_pipeline, detect_language, rare_words, slips
from textsvc.normalize import utf16_span
from textsvc.personalization import TextFacts, score_personalization
from textsvc.phrases import PhraseChecker, PhraseHit
from textsvc.policy import load_policy
from textsvc.profile import check_profile
from textsvc.schemas import (
    AnalyzeRequest,
    AnalyzeResponse,
    CheckResponse,
    FeedbackIn,
    FeedbackOut,
    Language,
    Match,
    Personalization,
    ProfileCheck,
    Replacement,
    Rule,
    RuleExample,
    SightingOut,
    Software,
    TemplateMatch,
)
from textsvc.scoring import decide
from textsvc.settings import Settings
from textsvc.store import Store, Template
from textsvc.templates import FINGERPRINT_VERSION, TemplateIndex, find_placeholders, fingerprint, name_words


@dataclass(frozen=True, slots=True)
class Findings:
    """Everything the text shows, shared by triage (``analyze``) and coaching (``check``)."""

    language: Language
    messages: Messages
    hits: list[PhraseHit]
    sentences: list[tuple[int, int]]
    placeholders: list[tuple[int, int]]
    matches: list[Match]
    templates: list[TemplateMatch]
    best: TemplateMatch | None
    strength: float
    personalization: Personalization
    sighting: SightingOut | None
    slips: list[tuple[int, int, str]]  # coaching only: words typed with one slip, and the word meant


SAVE_AFTER_CHANGES = 1000  # applied changes after which a worker saves the candidate index


class Analyzer:
    """Everything an analysis needs, loaded once."""

    def __init__(self, settings: Settings, store: Store) -> None:
        corpora = settings.corpora_dir
        self.policy = load_policy(corpora / "policy.toml")
        if self.policy.personalization.rare_word_zipf < ZIPF_FLOOR:
            raise ValueError(f"policy: rare_word_zipf must be at least {ZIPF_FLOOR} (rarer words are not kept)")
        self.pipelines = {
            lang: build_pipeline(lang, settings.spacy_model if lang == "de" else None)
            for lang in SUPPORTED_LANGUAGES
        }
        lexicons = {lang: load_lexicon(corpora / "lexicon", lang) for lang in SUPPORTED_LANGUAGES}
        self.checkers = {lang: PhraseChecker(self.pipelines[lang], lexicons[lang]) for lang in SUPPORTED_LANGUAGES}
        self.classifiers = {lang: SentenceClassifier.load(corpora / "classifier", lang) for lang in SUPPORTED_LANGUAGES}
        self._rule_ids = frozenset([p.id for lx in lexicons.values() for p in lx.phrases]
                                   + [c.rule.id for c in self.classifiers.values()])
        self.messages: dict[str, Messages] = {
            lang: load_messages(corpora / "messages", lang) for lang in SUPPORTED_LANGUAGES
        }
        digest = hashlib.sha256("".join(lexicons[lang].version + self.classifiers[lang].version
                                        for lang in SUPPORTED_LANGUAGES).encode())
        self.ruleset_version = f"{self.policy.version}+{digest.hexdigest()[:8]}"
        self.store = store
        if settings.seed:
            store.seed(sorted((corpora / "templates").glob("*.jsonl")))
        self._nlp_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._open_index()
        self.refresh_index()

    # --- the analysis ------------------------------------------------------------------------

    def analyze(self, req: AnalyzeRequest, *, today: date | None = None) -> AnalyzeResponse:
        """Triage an incoming request; a template match counts one more sighting of it."""
        f = self.findings(req, record_sightings=True)
        checks = check_profile(req.sender, self.policy.profile, f.messages, today or date.today())
        verdict, explanations = decide(
            empty_text=not req.text.strip(), personalization=f.personalization, template=f.best,
            template_strength=f.strength, placeholders=len(f.placeholders), checks=checks,
            policy=self.policy, messages=f.messages, mass_sent=f.sighting,
        )
        return AnalyzeResponse(
            verdict=verdict,
            personalization=f.personalization,
            matches=f.matches,
            template_matches=f.templates,
            profile_checks=[
                ProfileCheck(id=c.id, status=c.status, message=c.message, value=c.value, threshold=c.threshold)  # type: ignore[arg-type]
                for c in checks
            ],
            explanations=explanations,
            language=f.language,
            software=self.software(f.language.code),
            sighting=f.sighting,
            client_token=req.client_token,
        )

    def check(self, req: AnalyzeRequest) -> CheckResponse:
        """Coach an outgoing draft; nothing is stored, not even a template sighting."""
        from textsvc.coach import coach

        f = self.findings(req, record_sightings=False, coaching=True)
        verdict, suggestions, length = coach(req, f, self.policy.coach)
        return CheckResponse(
            verdict=verdict, personalization=f.personalization, matches=f.matches, template_matches=f.templates,
            suggestions=suggestions, length=length, language=f.language, software=self.software(f.language.code),
            client_token=req.client_token,
        )

    def findings(self, req: AnalyzeRequest, *, record_sightings: bool, coaching: bool = False) -> Findings:
        """What the text itself shows: phrases, merge fields, templates, personalization; when
        ``coaching``, also the words typed with a slip."""
        lang, detected, confidence = self.resolve_language(req.language, req.text)
        messages = self.messages[lang]
        text = req.text
        with self._nlp_lock:
            doc = self.pipelines[lang](text)
            hits = self.checkers[lang].find(doc, picky=req.level == "picky")
            sentences = [(s.start_char, s.end_char) for s in doc.sents if not s.text.isspace()]
            rare = rare_words(doc, self.policy.personalization.rare_word_zipf)
            typed = slips(doc) if coaching else []
            backoff = self.classifiers[lang].find(doc, hits, rare)
            if backoff:
                hits = sorted(hits + backoff, key=lambda h: (h.start, h.end))
        placeholders = find_placeholders(text)
        fp = self.skeleton(req)
        templates = self.match_templates(fp, record=record_sightings)
        best = templates[0] if templates else None
        sighting = None
        if record_sightings and not self.index.too_short(fp):
            sender = req.sender and (req.sender.id or req.sender.name)
            seen = self.store.sight(fp, sender)
            sighting = SightingOut(total=seen.total, distinct_senders=seen.senders, first_seen=seen.first_seen,
                                   last_seen=seen.last_seen,
                                   mass_sent=seen.senders >= self.policy.sightings.mass_sent_senders)
        strength = self.policy.template_strength(best.similarity) if best else 0.0
        facts = TextFacts(text=text, sentences=sentences, hits=hits, placeholders=placeholders, rare=rare)
        personalization = score_personalization(
            facts, req.recipient, (best.similarity, strength) if best else None, self.policy.personalization, messages,
        )
        return Findings(
            language=Language(code=lang, detected=detected, confidence=confidence),  # type: ignore[arg-type]
            messages=messages, hits=hits, sentences=sentences, placeholders=placeholders,
            matches=self._matches(text, hits, placeholders, req, messages), templates=templates,
            best=best, strength=strength, personalization=personalization, sighting=sighting, slips=typed,
        )

    def resolve_language(self, requested: str | None, text: str) -> tuple[str, bool, float | None]:
        code = (requested or "auto").strip().lower()
        if code in ("auto", ""):
            lang, confidence = detect_language(text)
            return lang, True, confidence
        base = code.replace("_", "-").split("-")[0]
        if base not in SUPPORTED_LANGUAGES:
            raise UnsupportedLanguage(
                f"language {requested!r} is not supported; use one of: auto, {', '.join(SUPPORTED_LANGUAGES)}"
            )
        return base, False, None

    def software(self, lang: str) -> Software:
        return Software(name="textsvc", version=__version__, pipeline=self.pipelines[lang].name,
                        ruleset_version=self.ruleset_version)

    def _matches(self, text: str, hits: Iterable[PhraseHit], placeholders: list[tuple[int, int]],
                 req: AnalyzeRequest, messages: Messages) -> list[Match]:
        out = []
        for h in hits:
            if h.phrase.category != "GENERIC_PHRASE":
                continue
            offset, length = utf16_span(text, h.start, h.end)
            out.append(Match(
                rule_id=h.phrase.id, category="GENERIC_PHRASE", text=text[h.start:h.end], start=h.start,
                end=h.end, offset=offset, length=length, message=h.phrase.message,
                short_message=h.phrase.short_message, hint=h.phrase.hint,
                replacements=[Replacement(value=s) for s in h.phrase.replacements],
                weight=h.phrase.weight,
            ))
        name = req.recipient.first_name if req.recipient and req.recipient.first_name else None
        for start, end in placeholders:
            offset, length = utf16_span(text, start, end)
            out.append(Match(
                rule_id="LEFTOVER_PLACEHOLDER", category="TEMPLATE", text=text[start:end], start=start, end=end,
                offset=offset, length=length, message=messages.get("signals", "LEFTOVER_PLACEHOLDER"),
                short_message="Serienbrief" if messages.lang == "de" else "Mail merge",
                replacements=[Replacement(value=name)] if name else [],
                weight=float(self.policy.personalization.placeholder_penalty),
            ))
        return sorted(out, key=lambda m: (m.start, m.end))

    # --- templates ---------------------------------------------------------------------------

    @staticmethod
    def skeleton(req: AnalyzeRequest) -> str:
        """The text's fingerprint with the sender's and recipient's names, companies, positions as slots."""
        r, s = req.recipient, req.sender
        slots = name_words([
            r and r.first_name, r and r.last_name, r and r.company, r and r.position,
            s and s.name, s and s.company, s and s.position,
        ])
        return fingerprint(req.text, slots)

    def match_templates(self, fp: str, *, record: bool) -> list[TemplateMatch]:
        """Templates similar to fingerprint ``fp``, best first; with ``record`` each counts a sighting."""
        self.refresh_index()
        with self._index_lock:
            candidates = self.index.search(fp)
        t = self.policy.templates
        return [
            TemplateMatch(
                template_id=c.template_id, similarity=c.similarity,
                times_seen=self.store.record_match(c.template_id) if record else self.store.times_seen(c.template_id),
                level="exact" if c.similarity >= t.exact else "near_exact" if c.similarity >= t.near_exact else "similar",
            )
            for c in candidates
        ]

    def _open_index(self) -> None:
        """The saved candidate index, caught up from the change log; built (and saved) when missing or
        made for another fingerprint version."""
        t = self.policy.templates
        state = {"fingerprint_version": FINGERPRINT_VERSION}
        try:
            candidates = CandidateIndex.load(self.store.index_dir)
            if candidates.state.get("fingerprint_version") != FINGERPRINT_VERSION:
                raise ValueError("fingerprint version changed")
            self._seq = int(candidates.state["seq"])
        except (OSError, ValueError, KeyError):
            self._seq = self.store.last_change()  # before reading: later changes are replayed
            candidates = CandidateIndex.build(self.store.iter_fingerprints())
            candidates.save(self.store.index_dir, state={**state, "seq": self._seq})
        self._unsaved = 0
        self.index = TemplateIndex(candidates, min_words=t.min_words, min_similarity=t.min_similarity)
        self._seen_versions: tuple[int, int] = (-1, -1)

    def index_is_current(self) -> bool:
        """No template changed since the index last caught up, and no catch-up is running: an
        analysis now does no index work, just ~1 ms of CPU. (The corpus version, not SQLite's
        data_version, which every count flush moves: sending the next analysis to a thread each
        time doubled the p99 latency under load.)"""
        return self.store.corpus_version() == self._seen_versions[1] and not self._index_lock.locked()

    def refresh_index(self) -> None:
        """Apply the corpus changes another process (or this one) made since the last look."""
        versions = (self.store.data_version(), self.store.corpus_version())
        if versions == self._seen_versions:
            return
        with self._index_lock:
            if versions[1] != self._seen_versions[1]:
                self._seq, changes = self.store.changes_since(self._seq)
                for tid, fp in changes:
                    if fp is None:
                        self.index.remove(tid)
                    else:
                        self.index.put(tid, fp)
                self._unsaved += len(changes)
                if self._unsaved >= SAVE_AFTER_CHANGES:
                    self.save_index()
            self._seen_versions = versions

    def save_index(self) -> None:
        """Persist the candidate index with its change-log position (also at shutdown)."""
        self.index.candidates.save(self.store.index_dir,
                                   state={"fingerprint_version": FINGERPRINT_VERSION, "seq": self._seq})
        self._unsaved = 0

    def feedback(self, fb: FeedbackIn) -> FeedbackOut:
        """A user's judgement: a text is a template (report) or a match or rule was wrong (dispute)."""
        activate = self.policy.governance.activate_after_reports
        if fb.label == "template":
            if self.index.too_short(fingerprint(fb.text)):
                raise InvalidFeedback(f"a reported template needs at least {self.policy.templates.min_words} words")
            language = fb.language or self.resolve_language("auto", fb.text)[0]
            template, new = self.store.report(fb.text, reporter=fb.reporter, language=language, activate_at=activate)
        elif fb.template_id or (fb.text and self.store.id_for_text(fb.text)):
            tid = fb.template_id or self.store.id_for_text(fb.text)
            template, new = self.store.dispute(tid, reporter=fb.reporter, activate_at=activate)  # type: ignore[arg-type]
        elif fb.rule_id:
            if fb.rule_id not in self._rule_ids:
                raise NotFound(f"rule {fb.rule_id} does not exist")
            new = self.store.report_rule(fb.rule_id, reporter=fb.reporter)
            return FeedbackOut(status="recorded" if new else "already_recorded")
        else:
            raise InvalidFeedback("a dispute names a templateId, a ruleId, or the text of a known template")
        self.refresh_index()
        return FeedbackOut(status="recorded" if new else "already_recorded", template_id=template.id,
                           template_status=template.status)  # type: ignore[arg-type]

    def add_template(self, text: str, *, language: str, source: str, platform: str | None,
                     tags: list[str]) -> tuple[Template, bool]:
        if self.index.too_short(fingerprint(text)):
            raise InvalidTemplate(f"a template needs at least {self.policy.templates.min_words} words besides "
                                  "greeting, sign-off, numbers and merge fields")
        template, created = self.store.add(text, language=language, source=source, platform=platform, tags=tags)
        self.refresh_index()
        return template, created

    # --- rules -------------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        """Every lexicon rule with its examples and how often users reported it as a false alarm."""
        reports = self.store.rule_reports()
        out = []
        for lang, checker in self.checkers.items():
            for p in (*checker.lexicon.phrases, self.classifiers[lang].rule):
                examples = [RuleExample(text=e.text, kind="hit", start=e.spans[0][0], end=e.spans[0][1]) for e in p.hits]
                examples += [RuleExample(text=e.text, kind="miss") for e in p.misses]
                out.append(Rule(id=p.id, language=lang, category=p.category, group=p.group, message=p.message,
                                weight=p.weight, hint=p.hint, replacements=list(p.replacements), examples=examples,
                                signal=p.signal, false_alarm_reports=reports.get(p.id, 0)))
        return out
