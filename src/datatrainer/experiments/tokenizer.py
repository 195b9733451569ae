"""A small byte-level BPE tokenizer trained on the experiment's pool, cached in the workspace.

A tiny model spends most of its time in the output softmax when the vocabulary is GPT-2's 50k; a 4k
vocabulary fitted to the pool makes each training step several times cheaper with no out-of-vocabulary
text (byte-level). It is trained once per pool version and vocabulary size and written as a folder that
`transformers.AutoTokenizer.from_pretrained` loads, so training reads it like any other tokenizer.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from datatrainer.store.schema import TEXT
from datatrainer.store.versions import DatasetVersion

EOS = "<|endoftext|>"
PAD = "<|pad|>"


def tokenizer_folder(version: DatasetVersion, vocab_size: int, root: Path) -> Path:
    """The tokenizer for the version's texts: loaded from `root` if trained before, else trained and stored
    atomically (a temporary folder renamed into place, so a killed run leaves no half-written tokenizer)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    folder = root / f"{version.info.dataset}-{version.info.number}-bpe{vocab_size}"
    if (folder / "tokenizer.json").exists():
        return folder
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS, PAD], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    texts = version.to_table(columns=[TEXT])[TEXT].to_pylist()
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, bos_token=EOS, pad_token=PAD)  # type: ignore[no-untyped-call]
    temporary = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    fast.save_pretrained(temporary)
    if (folder / "tokenizer.json").exists():  # another process finished first: its tokenizer is the same
        shutil.rmtree(temporary)
        return folder
    temporary.rename(folder)
    return folder
