"""textsvc's own errors: each carries a stable code, mapped to HTTP problems in one place (app.py)."""

from __future__ import annotations


class TextsvcError(Exception):
    """Base class; ``code`` names the problem type (``/problems/<code>``)."""

    code = "textsvc-error"


class LexiconError(TextsvcError):
    """The lexicon data is broken: raised at start-up with file, phrase id and reason."""

    code = "lexicon-error"


class PolicyError(TextsvcError):
    """The scoring policy file is missing a value or has a wrong one."""

    code = "policy-error"


class UnsupportedLanguage(TextsvcError):
    """A request named a language textsvc has no pipeline for (HTTP 422)."""

    code = "unsupported-language"


class NotFound(TextsvcError):
    """A template id that does not exist (HTTP 404)."""

    code = "not-found"


class InvalidFeedback(TextsvcError):
    """Feedback that cannot be acted on (HTTP 400)."""

    code = "invalid-feedback"


class InvalidTemplate(TextsvcError):
    """A template text that could never match anything (HTTP 400)."""

    code = "invalid-template"
