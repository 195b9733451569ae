"""Pre-annotation: suggestions from spaCy, rules, language models and embedding classifiers, and the
uncertainty measures that order tasks for active learning."""
