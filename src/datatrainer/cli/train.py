"""`datatrainer train VERSION --model ... --out NAME`: fine-tune or train from scratch, and register the model."""

from __future__ import annotations

from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.errors import DatatrainerError


def _tiny(settings: list[str]) -> dict[str, int] | None:
    """`--tiny n_layer=2 --tiny n_embd=64` -> {"n_layer": 2, "n_embd": 64}."""
    parsed: dict[str, int] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not value.strip().isdigit():
            raise DatatrainerError(f"--tiny {setting!r}: use KEY=INTEGER, e.g. --tiny n_layer=2")
        parsed[key.strip()] = int(value)
    return parsed or None


def train_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Version to train on, e.g. web@3.")],
    model: Annotated[str, typer.Option(help="Base model: tiny-gpt (from scratch), smollm2 (bundled), a .gguf "
                                            "file, a model folder or a cached Hugging Face id.")],
    out: Annotated[str, typer.Option(help="Name to register the trained model under.")],
    method: Annotated[str, typer.Option(help="full (all weights) or lora (adapters).")] = "full",
    text_field: Annotated[str, typer.Option(help="Field holding plain text.")] = "text",
    prompt_field: Annotated[str | None, typer.Option(help="Instruction data: the prompt field (SFT).")] = None,
    response_field: Annotated[str | None, typer.Option(help="Instruction data: the response field; the loss "
                                                            "covers only the response.")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="Tokenizer folder or tokenizer.json (tiny-gpt default: "
                                                       "SmolLM2's).")] = None,
    tiny: Annotated[list[str] | None, typer.Option(help="tiny-gpt architecture, KEY=N (n_layer, n_head, n_embd, "
                                                        "n_positions); repeatable.")] = None,
    seq_len: Annotated[int, typer.Option(help="Tokens per training sequence.")] = 256,
    packing: Annotated[bool, typer.Option("--packing/--no-packing",
                                          help="Pack documents into full sequences (plain text).")] = True,
    batch_size: Annotated[int, typer.Option(help="Sequences per device batch.")] = 8,
    grad_accum: Annotated[int, typer.Option(help="Batches per optimizer step.")] = 1,
    learning_rate: Annotated[float | None, typer.Option(help="Peak learning rate (default: 1e-3 tiny-gpt, 2e-4 "
                                                             "LoRA, 5e-5 full fine-tuning).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the training data.")] = 1.0,
    warmup_steps: Annotated[int, typer.Option(help="Linear warm-up steps.")] = 0,
    eval_fraction: Annotated[float, typer.Option(help="Held-out share of the version (by id hash).")] = 0.05,
    eval_version: Annotated[str | None, typer.Option(help="Evaluate on this version instead of a held-out "
                                                          "split.")] = None,
    eval_every: Annotated[int, typer.Option(help="Steps between evaluations.")] = 50,
    save_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 100,
    early_stopping_patience: Annotated[int | None, typer.Option(help="Stop after this many evaluations "
                                                                     "without improvement.")] = None,
    seed: Annotated[int, typer.Option(help="Seed for weights, data order and dropout.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA + bf16 when present), cpu or cuda.")] = "auto",
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 8,
    lora_alpha: Annotated[int, typer.Option(help="LoRA alpha (scale = alpha / r).")] = 16,
    lora_dropout: Annotated[float, typer.Option(help="LoRA dropout.")] = 0.0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the interrupted run named --out.")] = False,
) -> None:
    """Train a causal LM on a dataset version and register it (see `datatrainer models show NAME`).

    Ctrl-C saves a checkpoint; the same command with --resume continues from it.
    """
    cli = state(ctx)
    with cli.open() as ws:
        result = ws.train(
            ref, model, out, resume=resume, progress=cli.progress, method=method, text_field=text_field,
            prompt_field=prompt_field, response_field=response_field, tokenizer=tokenizer, tiny=_tiny(tiny or []),
            seq_len=seq_len, packing=packing, batch_size=batch_size, grad_accum=grad_accum,
            learning_rate=learning_rate, max_steps=max_steps, epochs=epochs, warmup_steps=warmup_steps,
            eval_fraction=eval_fraction, eval_version=eval_version, eval_every=eval_every, save_every=save_every,
            early_stopping_patience=early_stopping_patience, seed=seed, device=device, lora_r=lora_r,
            lora_alpha=lora_alpha, lora_dropout=lora_dropout)
    metrics = result.model.metrics
    evaluation = f", eval loss {metrics['eval_loss']:.4f}" if "eval_loss" in metrics else ""
    console.print(f"[green]trained[/] {result.model.name} on {result.model.dataset_ref}: {metrics['steps']} steps, "
                  f"{metrics['tokens']:,} tokens, final train loss {metrics['final_train_loss']:.4f}{evaluation} "
                  f"({metrics['train_seconds']:.1f} s)")
