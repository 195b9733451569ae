"""Errors the server maps to HTTP statuses: a refused action (403) and failed authentication (401)."""

from __future__ import annotations

from datatrainer.errors import DatatrainerError


class PermissionDenied(DatatrainerError):
    """The acting user lacks the role the action needs; the message names the action and the role."""


class AuthenticationError(DatatrainerError):
    """No valid credentials; deliberately vague so it reveals nothing about which part was wrong."""
