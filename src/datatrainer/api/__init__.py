"""The Python API that reads like the CLI: every command is one call from a `Workspace`.

    ws.embed("web@2"); ws.score("ask-llm", "web@2", model="smollm2"); ws.sample("web@2", by="density",
    budget="20%"); ws.quality_report("web@2"); ws.dedup(...); ws.filter(...); ws.train(...); ws.evaluate(...);
    ws.jobs.list_jobs()

The functions here do the commands' work; the CLI calls them (or the same library function) and adds the
terminal: progress bars, tables, messages. `twins.TWINS` maps each command to its call. The deeper modules
(scorers, samplers, language-model backends, operations) stay the place to extend.
"""
