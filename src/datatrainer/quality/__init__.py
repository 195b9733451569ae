"""Data quality: metrics, heuristic filters, deduplication and the quality report."""
