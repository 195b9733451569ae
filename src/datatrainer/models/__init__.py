"""Model backends: sentence embedders (and, later, language models for Ask-LLM and perplexity)."""
