"""Kept for the journal tests, which import it by path: the builders live in ``kit.orders``."""

from kit.orders import ADDRESS, short_term_intent

__all__ = ("ADDRESS", "short_term_intent")
