"""Small fixes to the book's HTML: a local Sphinx extension, listed in _config.yml.

- Each ``<script>`` once per page. Sphinx 7.4 adds an inline script registered after the
  builder started (sphinx-thebe's ``const THEBE_JS_URL = ...``) a second time, and a
  ``const`` declared twice is a console error on every page ("Identifier 'THEBE_JS_URL' has
  already been declared"). Found by tests/test_browser.py.
- A light or dark theme from the first page on. With no ``default_mode`` the theme reads an
  empty mode on a reader's first visit and logs a console error ("Got invalid theme mode")
  before it falls back to ``auto``; ``auto`` (the reader's system setting) is now said
  outright.
"""

from __future__ import annotations

from typing import Any


def _script_key(script: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    filename = getattr(script, "filename", script) or ""  # None and "" alike: inline
    attributes = getattr(script, "attributes", {}) or {}
    return filename, tuple(sorted((k, str(v)) for k, v in attributes.items()))


def unique_scripts(app: Any, pagename: str, templatename: str, context: dict,
                   doctree: Any) -> None:
    """Drop repeated scripts (same file or same inline body, same attributes) from a page."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: the builder's list for this page


def default_mode(app: Any, config: Any) -> None:
    config.html_context.setdefault("default_mode", "auto")  # pydata-sphinx-theme reads it


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", default_mode)
    app.connect("html-page-context", unique_scripts, priority=900)  # after the others add
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
