"""The annotation server: FastAPI routes over the annotation service, and the static web UI."""

from datatrainer.server.app import create_app

__all__ = ["create_app"]
