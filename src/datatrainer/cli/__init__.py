"""The `datatrainer` command line: a thin layer over the Python API."""
