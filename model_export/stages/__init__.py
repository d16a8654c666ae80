"""The stages of the build, one module each, in the order the pipeline runs them.

Each stage module defines

    INPUTS              the stages whose output it reads
    settings(profile)   the part of the profile it reads: part of its cache key
    run(ctx)            compute, and write its files into ctx.out

and reads nothing else: its inputs come from ctx.inputs (their folders), its
settings from ctx.settings. pipeline.py computes each stage's cache key from
the code it imports (every model_export module, followed through imports), its
settings and its inputs' keys, and runs only the stages whose key is new.
"""
