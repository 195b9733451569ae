"""Errors of the annotation workflow; the server maps them to 422 and 409 (403 is `PermissionDenied`)."""

from __future__ import annotations

from datatrainer.errors import DatatrainerError


class AnnotationValidationError(DatatrainerError):
    """A submitted result that does not fit the task type or label schema; the message names the field."""


class ConflictError(DatatrainerError):
    """An action that the current state forbids (a taken username, a task already accepted, no assignment)."""
