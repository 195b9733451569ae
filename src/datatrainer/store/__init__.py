"""Versioned dataset storage: Parquet files per version, a SQL catalog of versions and their lineage."""
