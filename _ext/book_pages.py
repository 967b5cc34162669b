"""What a theory page takes from the runs: its notebook's figures and the stored results.

A local Sphinx extension, listed in _config.yml. Two pieces, so that a theory page never
holds a hand-typed run figure or a hand-placed picture:

``glued-figure``: a figure whose image is an output of the chapter's notebook, glued there
with :func:`tutorial_lib.glue.glue` (myst-nb's glue). myst-nb's own ``glue:figure`` reads
only from the same page; this directive takes the notebook from ``:doc:`` (myst-nb's
cross-document glue) and adds a caption, a label for ``{numref}`` and alt text, which it
requires::

    :::{glued-figure} vae-samples
    :doc: ../notebooks/ch04_vae.ipynb
    :alt: An 8 by 8 grid of digits drawn from the trained VAE.
    :name: fig-ch04-samples

    Samples from the prior. Look at the strokes: ...
    :::

``result``: a number read at build time from a stored result of ``tutorial_lib.results``
(the JSON a ``python -m tutorial_lib bench ...`` command printed), by a dotted path into it
and an optional Python format specification::

    the GAN's FID is {result}`bench_compare:models.gan.fid.mean:.1f`

A missing notebook output, result file or key is a build warning, so ``-W`` fails.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

LOGGER = logging.getLogger(__name__)


class GluedFigure(SphinxDirective):
    """A figure from a glued notebook output, with caption, label and alt text."""

    required_arguments = 1  # the glue key
    has_content = True  # the caption (first paragraph) and an optional legend
    option_spec = {
        "doc": directives.unchanged_required,
        "alt": directives.unchanged_required,
        "name": directives.unchanged,
        "width": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        from myst_nb.ext.glue.utils import create_pending_glue_ref

        for option in ("doc", "alt"):
            if not self.options.get(option):
                raise self.error(f"glued-figure {self.arguments[0]!r} needs :{option}:")
        if not self.content:
            raise self.error(f"glued-figure {self.arguments[0]!r} needs a caption")
        source, line = self.get_source_info()
        pending = create_pending_glue_ref(self.state.document, source, line,
                                          self.options["doc"], self.arguments[0],
                                          gtype="any")
        figure = nodes.figure("", pending, classes=["glued-figure"])
        figure["glued_alt"] = self.options["alt"]
        figure["glued_doc"], figure["glued_key"] = pending["refdoc"], self.arguments[0]
        if "width" in self.options:
            figure["glued_width"] = self.options["width"]
        self.set_source_info(figure)
        self.add_name(figure)
        holder = nodes.Element()
        self.state.nested_parse(self.content, self.content_offset, holder)
        first = holder[0]
        if not isinstance(first, nodes.paragraph):
            raise self.error("a glued-figure's caption must be a paragraph")
        figure += nodes.caption(first.rawsource, "", *first.children)
        if len(holder) > 1:
            figure += nodes.legend("", *holder[1:])
        return [figure]


class GluedFigureImage(SphinxPostTransform):
    """Give the pasted image its alt text, after myst-nb pasted it (priority 5), and make
    sure its file is in the output.

    myst-nb's cross-document paste points the image at ``_images/<sha256>.png`` but does
    not write that file: it exists only when the notebook's page displays the same image
    too. A glued figure the notebook does not display would be a broken image, so the PNG
    is written here from the notebook's glue cache when it is missing.
    """

    default_priority = 6

    def run(self, **kwargs: Any) -> None:
        for figure in self.document.findall(nodes.figure):
            if "glued_alt" not in figure:
                continue
            images = list(figure.findall(nodes.image))
            if not images:
                LOGGER.warning("glued-figure %s: the notebook output is not an image",
                               figure.get("ids"), location=figure)
            for image in images:
                image["alt"] = figure["glued_alt"]
                if "glued_width" in figure:
                    image["width"] = figure["glued_width"]
            if images:
                self._write_image(figure)

    def _write_image(self, figure: nodes.figure) -> None:
        import base64
        import hashlib
        from pathlib import Path

        from myst_nb.ext.glue.crossref import read_glue_cache

        builder = self.app.builder
        if not getattr(builder, "imagedir", None) or not getattr(builder, "outdir", None):
            return
        cached = read_glue_cache(self.env.mystnb_config.output_folder, figure["glued_doc"])
        data = cached.get(figure["glued_key"], {}).get("data", {}).get("image/png")
        if data is None:
            return
        png = base64.b64decode(data)
        path = Path(builder.outdir) / builder.imagedir / f"{hashlib.sha256(png).hexdigest()}.png"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png)


class DropdownProofTitle(SphinxPostTransform):
    """A collapsible proof gets a title to click.

    sphinx-proof writes "Proof." into the proof's first paragraph and gives the admonition
    no title; sphinx-togglebutton, which folds every ``.admonition.dropdown``, puts its
    button into the title and fails without one (a console error on the page, and a proof
    that cannot be opened). A proof with ``:class: dropdown`` gets the title "Proof".
    """

    default_priority = 6

    def run(self, **kwargs: Any) -> None:
        for admonition in self.document.findall(nodes.admonition):
            classes = admonition.get("classes", [])
            if "proof" in classes and "dropdown" in classes and not (
                    admonition.children and isinstance(admonition[0], nodes.title)):
                admonition.insert(0, nodes.title("Proof", "Proof"))


def stored_value(spec: str) -> str:
    """``"name:dotted.path[:format]"`` -> the formatted value from the stored result."""
    from tutorial_lib.results import load_result

    name, _, rest = spec.partition(":")
    path, _, fmt = rest.partition(":")
    if not name or not path:
        raise ValueError(f"expected name:dotted.path[:format], got {spec!r}")
    value: Any = load_result(name.strip())
    walked = []
    for key in path.strip().split("."):
        walked.append(key)
        if isinstance(value, list):
            value = value[int(key)]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        else:
            keys = ", ".join(map(str, value)) if isinstance(value, dict) else type(value).__name__
            raise KeyError(f"{name}: no {'.'.join(walked)!r} (keys there: {keys})")
    return format(value, fmt)


class ResultRole(SphinxRole):
    """``{result}`name:path[:format]```: a number from a stored result, as text."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        try:
            text = stored_value(self.text)
        except Exception as exc:  # any failure is the page's error; -W makes it fatal
            LOGGER.warning("result %r: %s", self.text, exc, location=self.get_location())
            text = "??"
        return [nodes.inline(text, text, classes=["stored-result"])], []


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("glued-figure", GluedFigure)
    app.add_post_transform(GluedFigureImage)
    app.add_post_transform(DropdownProofTitle)
    app.add_role("result", ResultRole())
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
