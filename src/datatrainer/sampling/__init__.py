"""Samplers: choose a budgeted subset of a version (random, score bands, density, k-center, SemDeDup,
SSL prototypes, D4, DSIR), the `sample` operation, and coverage of a sample in embedding space."""

from datatrainer.sampling.base import (
    Sampler,
    SamplerInputs,
    Selection,
    make_sampler,
    register_sampler,
    sampler_class,
    sampler_names,
)
from datatrainer.sampling.budget import Budget

__all__ = ["Budget", "Sampler", "SamplerInputs", "Selection", "make_sampler", "register_sampler", "sampler_class",
           "sampler_names"]
