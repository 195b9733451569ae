"""Readers and writers for the formats data trainers use: JSONL, CSV, Parquet, text folders, HF datasets."""
