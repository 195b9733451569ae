"""Model evaluation: held-out perplexity, multiple-choice log-likelihood (HellaSwag schema), HumanEval pass@k in
a sandbox, NER span F1 and classification accuracy on annotated versions, stored per model and reported.

Kept free of imports: suites load torch, transformers or spaCy only when they run, and the test fixtures in
`datatrainer.evaluation.fixtures` import this package cheaply.
"""
