"""The Hugging Face transformers backend: causal LMs and seq2seq (Flan-T5), from a folder, the local hub cache
or a GGUF file (de-quantised by transformers), on the CPU or whatever device torch has.

Speed comes from doing less work, not from cleverness: prompts are sorted by token length and cut into
batches by a token budget (little padding); for the next token only the last position's hidden state goes
through the output head (the head is ~20% of SmolLM2's weights and would otherwise run for every position);
for perplexity the head runs only on real (non-pad) positions, in chunks, so memory stays bounded; chat
prompts run the template's opening (system prompt, user header) once per call and continue from its cache.
Left padding with real-token position ids makes a padded row compute what it would alone. `dtype="bfloat16"` and
`quantize="int8"` (dynamic int8 for the transformer's nn.Linear layers; the output head stays float32 so the
answer distribution keeps its precision) trade exactness for speed; `config()` names both so their scores are
cached apart from float32 ones. Measured on SmolLM2-135M (benchmarks/ask_llm.py): bf16 takes ~0.55x the time
of float32 on a CPU with AMX/AVX512-BF16 and keeps a Spearman of ~0.95 with float32 P(yes) and a dev-set
ROC-AUC within 0.02 of float32's (benchmarks/ask_llm_quality.py: 95% bootstrap intervals of the difference
include 0); int8 saves ~15% and does not keep the ranking (Spearman ~0), so it is
for larger models, not the bundled one.

The default dtype, `auto`, is therefore bfloat16 where the CPU multiplies bf16 natively and float32 elsewhere:
without bf16 instructions torch emulates bf16 through float32 conversions, which is slower than float32 itself.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import torch

from datatrainer.errors import DatatrainerError
from datatrainer.models.lm.base import FloatArray
from datatrainer.models.lm.batching import IndexArray, left_padded, length_batches, shared_prefix
from datatrainer.models.lm.hf_tokenizer import chat_prompt, quiet_load, transformers_module, truncate_with
from datatrainer.models.lm.sources import hub_offline, resolve

Precision = Literal["float32", "bfloat16"]
Dtype = Literal["auto", Precision]
Quantize = Literal["none", "int8"]
LogProbs = np.ndarray[Any, np.dtype[np.float32]]

# Padded tokens per forward pass and rows per batch. On SmolLM2-135M, 2 busy cores, 64 Ask-LLM prompts of ~260
# tokens: a 1,024-token budget took 2.0x and 16,384 1.4x the time of 4,096 (small batches underuse the matmuls,
# huge ones fall out of cache).
BATCH_TOKENS = 4096
MAX_ROWS = 64
# Below this many shared leading tokens, running the prefix apart costs more than it saves.
MIN_SHARED_PREFIX = 8
HEAD_CHUNK = 1024  # positions per output-head call in sequence_nll: bounds the (positions x vocab) logits
CPUINFO = "/proc/cpuinfo"
# CPU feature flags (Linux /proc/cpuinfo) of native bf16 arithmetic: x86 AVX512-BF16 and AMX-BF16, ARM BF16.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU has bf16 arithmetic units, from its feature flags (`cpuinfo`: the text of
    /proc/cpuinfo, read when not given). torch has no public query for this: `get_cpu_capability()` says
    "AVX512" with or without BF16, and oneDNN's bf16 check accepts any AVX512 CPU, where bf16 is emulated.
    Without /proc/cpuinfo (macOS, Windows) the answer is no, so the default there stays float32."""
    if cpuinfo is None:
        try:
            with open(CPUINFO, encoding="utf-8", errors="replace") as handle:
                cpuinfo = handle.read()
        except OSError:
            return False
    flags = {flag for line in cpuinfo.splitlines() if line.split(":")[0].strip() in ("flags", "Features")
             for flag in line.partition(":")[2].split()}
    return bool(flags & NATIVE_BF16_FLAGS)


def resolve_dtype(dtype: Dtype) -> Precision:
    """`auto` is bfloat16 on CPUs with native bf16 (2-3x faster there, with the same Ask-LLM ranking quality on
    the dev set), float32 elsewhere; an explicit dtype is kept."""
    if dtype == "auto":
        return "bfloat16" if native_bf16() else "float32"
    return dtype


class TransformersLM:
    """A causal or seq2seq transformers model behind the `LanguageModel` protocol."""

    def __init__(self, model: str = "smollm2", *, gguf_file: str | None = None, dtype: Dtype = "auto",
                 quantize: Quantize = "none", batch_tokens: int = BATCH_TOKENS, max_rows: int = MAX_ROWS,
                 threads: int | None = None) -> None:
        if dtype not in ("auto", "float32", "bfloat16"):
            raise DatatrainerError(f"unknown dtype {dtype!r}: use auto, float32 or bfloat16")
        if quantize not in ("none", "int8"):
            raise DatatrainerError(f"unknown quantize {quantize!r}: use none or int8")
        if quantize == "int8" and dtype == "bfloat16":
            raise DatatrainerError("int8 quantisation works on float32 weights: use dtype=float32 with quantize=int8")
        # int8 under the default dtype quantises float32 weights
        resolved: Precision = "float32" if quantize == "int8" else resolve_dtype(dtype)
        hub_offline()
        self.source = resolve(model, gguf_file)
        self.dtype = resolved
        self.quantize = quantize
        self.batch_tokens, self.max_rows = batch_tokens, max_rows
        if threads is not None:
            torch.set_num_threads(threads)  # else torch's default: one thread per physical core
        self._tokenizer, self._model = _load(self.source.path, self.source.gguf_file, model)
        self.seq2seq = bool(self._model.config.is_encoder_decoder)
        if resolved == "bfloat16":
            self._model.to(torch.bfloat16)
        if quantize == "int8":
            _quantize_int8(self._model)
        self._model.eval()
        special = self._tokenizer
        self._pad_id = next(i for i in (special.pad_token_id, special.eos_token_id, 0) if i is not None)
        self._bos_id: int | None = special.bos_token_id
        self._context = _context_length(self._model.config)
        self._template_opening = self._opening_tokens()

    @property
    def name(self) -> str:
        return self.source.name

    def config(self) -> dict[str, Any]:
        template = self._tokenizer.chat_template
        return {"backend": "transformers", "model": self.source.model, "gguf_file": self.source.gguf_file,
                "weights": self.source.weights, "kind": "seq2seq" if self.seq2seq else "causal",
                "dtype": self.dtype, "quantize": self.quantize,
                "chat_template": hashlib.sha256(template.encode()).hexdigest()[:16] if template else None}

    def truncate(self, texts: Sequence[str], max_tokens: int) -> list[str]:
        return truncate_with(self._tokenizer, texts, max_tokens)

    def format_prompt(self, user_message: str) -> str:
        return chat_prompt(self._tokenizer, user_message)

    def next_token_logprobs(self, prompts: Sequence[str], candidates: Sequence[str]) -> FloatArray:
        ids = [self._first_token(candidate) for candidate in candidates]
        out = np.empty((len(prompts), len(ids)), dtype=np.float64)
        for rows, logprobs in self._next_token_batches(prompts):
            out[rows] = logprobs[:, ids]
        return out

    def next_token_distribution(self, prompts: Sequence[str]) -> LogProbs:
        """Full-vocabulary log-probabilities of the next token, (len(prompts), vocab), float32."""
        out: LogProbs | None = None
        for rows, logprobs in self._next_token_batches(prompts):
            if out is None:
                out = np.empty((len(prompts), logprobs.shape[1]), dtype=np.float32)
            out[rows] = logprobs
        return out if out is not None else np.empty((0, 0), dtype=np.float32)

    def sequence_nll(self, texts: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        encoded = self._tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        bos = [self._bos_id] if self._bos_id is not None else []
        per_token = self.token_logprobs([bos + ids for ids in encoded])
        nll = np.array([-float(lp.sum(dtype=np.float64)) for lp in per_token], dtype=np.float64)
        return nll, np.array([len(lp) for lp in per_token], dtype=np.float64)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text with the tokenizer's special tokens (never two BOS), as prompts are encoded:
        what multiple-choice scoring splits into context and continuation before `token_logprobs`."""
        return self._encode_prompts(texts)

    def token_logprobs(self, token_ids: Sequence[Sequence[int]]) -> list[LogProbs]:
        """log P(ids[i] | ids[:i]) for i >= 1 of each row (len(row) - 1 values): what an OpenAI-compatible
        server returns for an echoed prompt. Causal models only."""
        if self.seq2seq:
            raise DatatrainerError(f"perplexity needs a causal (decoder-only) model; {self.name} is encoder-decoder")
        self._check_context(token_ids)
        out: list[LogProbs] = [np.empty(0, dtype=np.float32)] * len(token_ids)
        scorable = np.array([i for i, ids in enumerate(token_ids) if len(ids) > 1], dtype=np.int64)
        with torch.inference_mode():
            for batch_rows in length_batches([len(token_ids[i]) for i in scorable], self.batch_tokens, self.max_rows):
                rows = scorable[batch_rows]
                batch = left_padded([token_ids[i] for i in rows], self._pad_id)
                hidden = self._model.base_model(**batch, use_cache=False).last_hidden_state[:, :-1]
                scored = batch["attention_mask"][:, 1:].bool() & batch["attention_mask"][:, :-1].bool()
                positions, targets = hidden[scored], batch["input_ids"][:, 1:][scored]
                values = torch.cat([self._logprobs(positions[start:start + HEAD_CHUNK])
                                    .gather(1, targets[start:start + HEAD_CHUNK, None])[:, 0]
                                    for start in range(0, len(targets), HEAD_CHUNK)])
                counts = scored.sum(dim=1).tolist()
                for i, row_values in zip(rows, values.split_with_sizes(counts), strict=True):
                    out[i] = row_values.numpy().astype(np.float32)
        return out

    def _next_token_batches(self, prompts: Sequence[str]) -> Iterator[tuple[IndexArray, LogProbs]]:
        """(row indices, their next-token log-probs) per length bucket.

        Chat prompts share the template's opening (SmolLM2's: its system prompt and the user turn's header,
        ~25 of an Ask-LLM prompt's ~280 tokens), so a causal model runs that opening once per call and every
        batch continues from its cached keys and values: the same attention over the same tokens at the same
        positions, ~10% fewer tokens through the model. Only the template's opening is reused, never a longer
        prefix the documents of one call happen to share, so a document's score does not depend on the
        other documents it is scored with.
        """
        encoded = self._encode_prompts(prompts)
        self._check_context(encoded)
        if empty := [i for i, ids in enumerate(encoded) if not ids]:
            raise DatatrainerError(f"prompt {empty[0]} is empty: there is nothing to predict the next token from")
        opening = self._template_opening
        prefix = len(opening) if opening and shared_prefix(encoded) >= len(opening) \
            and encoded[0][:len(opening)] == opening else 0
        with torch.inference_mode():
            cached = self._prefix_states(encoded[0][:prefix]) if prefix else []
            for rows in length_batches([len(ids) - prefix for ids in encoded], self.batch_tokens, self.max_rows):
                batch = left_padded([encoded[i][prefix:] for i in rows], self._pad_id, prefix)
                yield rows, self._last_logprobs(batch, cached).numpy()

    def _prefix_states(self, prefix: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer, the keys and values of the shared prefix (batch of one)."""
        cache = self._model.base_model(input_ids=torch.tensor([prefix]), use_cache=True).cache
        return [(layer.keys, layer.values) for layer in cache.layers]

    def _last_logprobs(self, batch: dict[str, torch.Tensor],
                       cached: Sequence[tuple[torch.Tensor, torch.Tensor]] = ()) -> torch.Tensor:
        if self.seq2seq:
            # The answer is the decoder's first token: one decoder step from the start token.
            start = torch.full((len(batch["input_ids"]), 1), self._model.config.decoder_start_token_id)
            logits = self._model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                 decoder_input_ids=start, use_cache=False).logits[:, -1]
            return torch.log_softmax(logits.float(), dim=-1)
        if not cached:
            hidden = self._model.base_model(**batch, use_cache=False).last_hidden_state[:, -1]
            return self._logprobs(hidden)
        rows = len(batch["input_ids"])
        cache = transformers_module().DynamicCache([(keys.expand(rows, -1, -1, -1), values.expand(rows, -1, -1, -1))
                              for keys, values in cached])
        hidden = self._model.base_model(**batch, cache=cache, use_cache=True).last_hidden_state[:, -1]
        return self._logprobs(hidden)

    def _logprobs(self, hidden: torch.Tensor) -> torch.Tensor:
        """Output head + log-softmax in float32 for a (positions, hidden) block."""
        logits = self._model.get_output_embeddings()(hidden).float()
        cap = getattr(self._model.config, "final_logit_softcapping", None)
        if cap:  # Gemma 2/3 soft-cap their logits inside the causal-LM forward we bypass
            logits = torch.tanh(logits / cap) * cap
        return torch.log_softmax(logits, dim=-1)

    def _encode_prompts(self, prompts: Sequence[str]) -> list[list[int]]:
        """Prompt token ids with the tokenizer's special tokens, but never two BOS: a chat template that writes
        its own BOS and a tokenizer that adds one would otherwise both do."""
        encoded: list[list[int]] = self._tokenizer(list(prompts), add_special_tokens=True)["input_ids"]
        if self._bos_id is None:
            return encoded
        return [ids[1:] if ids[:2] == [self._bos_id, self._bos_id] else ids for ids in encoded]

    def _opening_tokens(self) -> list[int]:
        """The tokens every chat prompt starts with, whatever the message, if there are enough of them to be
        worth running apart (`MIN_SHARED_PREFIX`); else none. Causal full-attention models only: a
        sliding-window model's cache keeps only its window, which a reused prefix would not respect."""
        if self.seq2seq or getattr(self._model.config, "sliding_window", None):
            return []
        first, second = self._encode_prompts([self.format_prompt("a"), self.format_prompt("b")])
        length = shared_prefix([first, second])
        return first[:length] if length >= MIN_SHARED_PREFIX else []

    def _first_token(self, candidate: str) -> int:
        ids = self._tokenizer.encode(candidate, add_special_tokens=False)
        if not ids:
            raise DatatrainerError(f"answer candidate {candidate!r} is empty in {self.name}'s vocabulary")
        return int(ids[0])

    def _check_context(self, rows: Sequence[Sequence[int]]) -> None:
        longest = max((len(ids) for ids in rows), default=0)
        if self._context and longest > self._context:
            index = next(i for i, ids in enumerate(rows) if len(ids) == longest)
            raise DatatrainerError(f"input {index} has {longest} tokens, more than {self.name}'s context of "
                                   f"{self._context}: truncate it first")


def _load(path: str, gguf_file: str | None, model: str) -> tuple[Any, Any]:
    def load() -> tuple[Any, Any]:
        auto = transformers_module()
        config = auto.AutoConfig.from_pretrained(path, gguf_file=gguf_file)
        kind = auto.AutoModelForSeq2SeqLM if config.is_encoder_decoder else auto.AutoModelForCausalLM
        return (auto.AutoTokenizer.from_pretrained(path, gguf_file=gguf_file),
                kind.from_pretrained(path, gguf_file=gguf_file, config=config, dtype=torch.float32))

    loaded: tuple[Any, Any] = quiet_load(model, load)
    return loaded


def _quantize_int8(model: Any) -> None:
    """Dynamic int8 (weights int8, activations quantised per batch) for the transformer's Linear layers.
    torch marks this API deprecated in favour of torchao; it is what ships in the CPU wheel, so its warnings are
    silenced rather than shown to every user."""
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:
        raise DatatrainerError("quantize=int8 needs torch.ao.quantization, which this torch lacks") from None
    parts = [model.get_encoder(), model.get_decoder()] if model.config.is_encoder_decoder else [model.base_model]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        for part in parts:
            quantize_dynamic(part, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)  # type: ignore[no-untyped-call]


def _context_length(config: Any) -> int:
    """The longest input the model was trained for, or 0 for relative-position models (T5) that have none."""
    return int(getattr(config, "max_position_embeddings", 0) or getattr(config, "n_positions", 0) or 0)
