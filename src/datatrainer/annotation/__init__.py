"""Annotation workbench: span model, projects and tasks, agreement, file formats, pre-annotation."""
