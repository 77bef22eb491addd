"""The platform's error type: a stable code for machines, a Chinese sentence for people, and
the HTTP status it maps to. A business-rule violation is not a 422."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
