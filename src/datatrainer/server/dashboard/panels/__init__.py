"""The built-in panels, one module per kind of page (versions, models, annotation projects)."""
