"""How batches run: `LocalEngine` streams Arrow record batches in-process (a Ray engine comes later)."""

from datatrainer.engine.local import LocalEngine

__all__ = ["LocalEngine"]
