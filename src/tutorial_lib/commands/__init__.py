"""Subcommands of ``python -m tutorial_lib``, one module each."""
