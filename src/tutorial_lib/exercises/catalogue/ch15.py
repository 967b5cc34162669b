"""Chapter 15's exercises (to be written with the chapter)."""

from __future__ import annotations

from tutorial_lib.exercises.checker import Exercise

ALL: tuple[Exercise, ...] = ()  # this chapter's exercises, in the notebook's order
