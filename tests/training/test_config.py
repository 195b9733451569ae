"""`TrainConfig`: validation with one-line errors, model-dependent defaults, and what its hash covers."""

from __future__ import annotations

import pytest

from datatrainer.errors import DatatrainerError
from datatrainer.training import TrainConfig


def test_hash_covers_what_decides_the_weights_only() -> None:
    base = TrainConfig(model="tiny-gpt")
    assert TrainConfig(model="tiny-gpt", save_every=7, extra={"sampler": "d4"}).config_hash() == base.config_hash()
    assert TrainConfig(model="tiny-gpt", learning_rate=1e-3).config_hash() == base.config_hash()  # the default
    for changed in (TrainConfig(model="tiny-gpt", seed=1), TrainConfig(model="tiny-gpt", tiny={"n_layer": 2}),
                    TrainConfig(model="tiny-gpt", learning_rate=2e-3), TrainConfig(model="smollm2")):
        assert changed.config_hash() != base.config_hash()
    assert TrainConfig.from_dict(base.to_dict()).config_hash() == base.config_hash()


def test_defaults_depend_on_model_and_method() -> None:
    assert TrainConfig(model="tiny-gpt").resolved_learning_rate() == 1e-3
    assert TrainConfig(model="smollm2", method="lora").resolved_learning_rate() == 2e-4
    assert TrainConfig(model="smollm2").resolved_learning_rate() == 5e-5
    assert TrainConfig(model="tiny-gpt", seq_len=64).tiny_config() == {"n_layer": 4, "n_head": 4, "n_embd": 128,
                                                                      "n_positions": 64}


@pytest.mark.parametrize(("settings", "message"), [
    ({"method": "qlora"}, "use full or lora"),
    ({"prompt_field": "q"}, "needs both --prompt-field and --response-field"),
    ({"batch_size": 0}, "--batch-size must be at least 1"),
    ({"eval_fraction": 1.0}, "--eval-fraction must be in"),
    ({"tiny": {"n_layers": 2}}, "unknown tiny-gpt setting(s) n_layers"),
    ({"device": "tpu"}, "use auto, cpu or cuda"),
])
def test_bad_settings_are_one_line(settings: dict[str, object], message: str) -> None:
    with pytest.raises(DatatrainerError) as info:
        TrainConfig(model="tiny-gpt", **settings)  # type: ignore[arg-type]
    assert message in str(info.value) and "\n" not in str(info.value)
