"""The report: ``backproplab reproduce`` runs the lessons and writes ``index.html``, ``summary.md``,
``results.json`` and the figures into one directory.

:func:`reproduce` is the entry point; :func:`render_html` and :func:`render_summary` turn a
``results.json`` document back into the page and the summary; :data:`RESULTS_SCHEMA` describes the
document.
"""

from backproplab.report.html import markdown_to_html, render_html
from backproplab.report.markdown import format_value, render_summary
from backproplab.report.reproduce import ReproduceOutcome, failed_claims, reproduce
from backproplab.report.schema import FORMAT, RESULTS_SCHEMA

__all__ = ["reproduce", "ReproduceOutcome", "failed_claims", "render_html", "render_summary",
           "markdown_to_html", "format_value", "RESULTS_SCHEMA", "FORMAT"]
