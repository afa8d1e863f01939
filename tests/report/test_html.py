"""The page's small renderers: Markdown subset, TeX subset, value formatting, and the page itself
built from a hand-written results document."""

from __future__ import annotations

import re

import pytest

from backproplab.lessons.result import Claim
from backproplab.report import format_value, markdown_to_html, render_html, render_summary
from backproplab.report.html import tex_to_html

pytestmark = pytest.mark.report


def test_markdown_escapes_raw_html_and_unsafe_links():
    html = markdown_to_html('<img src=x onerror="alert(1)"> [bad](javascript:alert(1)) [ok](https://pytorch.org)')
    assert "<img" not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert 'href="javascript' not in html and "[bad](javascript:alert(1))" in html
    assert '<a href="https://pytorch.org">ok</a>' in html


def _flat(html: str) -> str:
    return re.sub(r">\s+<", "><", html)


def test_markdown_blocks():
    text = "# Title\n\nSome **bold**, *em* and `x < y`.\n\n| a | b |\n|---|---:|\n| 1 | 2 \\| 3 |\n\n" \
           "- one\n- two\n\n1. first\n2. second\n\n> quoted\n\n```\nif a < b:\n    pass\n```\n\n    indented\n"
    html = _flat(markdown_to_html(text))
    assert "<h3>Title</h3>" in html  # headings sit below the lesson's h2
    assert "<p>Some <strong>bold</strong>, <em>em</em> and <code>x &lt; y</code>.</p>" in html
    assert '<div class="table-wrap"><table><thead><tr><th>a</th><th style="text-align:right">b</th>' in html
    assert '<td>1</td><td style="text-align:right">2 | 3</td>' in html
    assert "<ul><li>one</li><li>two</li></ul>" in html and "<ol><li>first</li><li>second</li></ol>" in html
    assert "<blockquote><p>quoted</p></blockquote>" in html
    assert "<pre><code>if a &lt; b:\n    pass\n</code></pre>" in html
    assert "<pre><code>indented\n</code></pre>" in html


def test_markdown_is_commonmark():
    """What the old hand-written subset got wrong: nested lists, escapes, links with titles."""
    html = _flat(markdown_to_html("- a\n  - b\n\n\\*not em\\* and [t](https://x.org \"T\")"))
    assert "<ul><li>a\n<ul><li>b</li></ul></li></ul>" in html
    assert "*not em*" in html and '<a href="https://x.org" title="T">t</a>' in html


def test_tex_fractions_scripts_and_symbols():
    assert tex_to_html(r"\frac{\partial L}{\partial w^{(1)}_{11}}") == (
        '<span class="frac"><span>∂<i>L</i></span><span>∂<i>w</i><sup>(1)</sup><sub>11</sub></span></span>')
    assert tex_to_html(r"a \cdot b - c") == "<i>a</i> · <i>b</i> − <i>c</i>"
    assert tex_to_html(r"\hat y_{1}") == "<i>y\u0302</i><sub>1</sub>"  # combining circumflex
    assert tex_to_html(r"\max(0, s)") == '<span class="up">max</span>(0, <i>s</i>)'
    assert tex_to_html(r"\mathrm{leaky}'(s) \le \sigma") == '<span class="up">leaky</span>′(<i>s</i>) ≤ σ'
    assert tex_to_html(r"\left(x\right) < 1") == "(<i>x</i>) &lt; 1"
    assert tex_to_html(r"\unknowncmd{x}") == '<span class="up">unknowncmd</span><i>x</i>'
    assert tex_to_html("x_{") == "<i>x</i><sub></sub>"  # unbalanced input never raises


def test_markdown_math_inline_and_display():
    html = markdown_to_html("cost is $5 and $x_1$ here\n\n$$ a = \\tfrac{1}{2} $$\n$$ b $$")
    assert "cost is $5 and " in html and '<span class="math"><i>x</i><sub>1</sub></span>' in html
    assert html.count('<div class="math display">') == 2
    assert '<span class="frac"><span>1</span><span>2</span></span>' in html


@pytest.mark.parametrize("value, text", [
    (None, "—"), (True, "true"), (3, "3"), (0.000123456, "0.0001235"), (1.5e-30, "1.5e-30"),
    ("nan", "nan"), ([0.05, 0.4, 0.9, 1.0], "[0.05, 0.4, 0.9, 1]"),
    (list(range(10)), "[0, 1, 2, 3, 4, 5, … (10 items)]"), ({"a": 1}, '{"a": 1}'),
])
def test_format_value(value, text):
    assert format_value(value) == text


def _doc(**over):
    doc = {
        "format": "backproplab-report/1", "complete": True, "passed": True,
        "settings": {"quick": True, "seed": 0, "device": "cpu", "lessons": ["a"]},
        "versions": {"backproplab": "0.1.0", "python": "3.11", "numpy": "1", "torch": None, "matplotlib": "3"},
        "summary": {"lessons": 1, "lessons_done": 1, "lessons_failed": 0, "claims": 1, "claims_passed": 1,
                    "claims_failed": 0},
        "lessons": {"a": {"title": "A <b>", "status": "done", "passed": True, "params": {"lr": 0.1},
                          "claims": [{"name": "x < 1", "value": 0.5, "bound": "<= 1", "passed": True,
                                      "evidence": ""}],
                          "tables": {"t": [{"k": i} for i in range(100)]}, "text": {"print_x": "raw <text>"},
                          "figures": {"gone": "figures/a/gone.png"}, "error": None}},
        "timings": {"total_s": 1.0, "lessons": {"a": 1.0}},
    }
    doc.update(over)
    return doc


def test_page_from_a_document(tmp_path):
    html = render_html(_doc(), tmp_path)
    assert "<title>backproplab report: 1 of 1 claims pass</title>" in html
    assert "A &lt;b&gt;" in html and "x &lt; 1" in html
    assert "… 40 more rows in results.json" in html  # long tables are cut at 60 rows
    assert "figure file figures/a/gone.png is missing" in html
    assert ("<details class=\"terminal\"><summary>The terminal's x (as the command prints it)</summary>"
            "<pre>raw &lt;text&gt;") in html
    assert "torch None" not in html


def test_yes_no_claims_read_as_on_the_terminal_wherever_the_page_shows_claims(tmp_path):
    """"weights cycle: 1 (bound true)" read as if 1 were the verdict, and "revived: 0" as false."""
    claims = [Claim.holds("no dead unit revived", False, value=0, evidence="2 of 8"),
              Claim.holds("success rate never falls as width grows", True, value=[0.1, 0.5, 0.9]),
              Claim.holds("sigmoid is bounded", True), Claim.at_most("x < 1", 0.5, 1.0)]
    doc = _doc(passed=False)
    doc["lessons"]["a"].update(passed=False, claims=[c.to_dict() for c in claims])
    doc["summary"].update(claims=4, claims_passed=3, claims_failed=1)
    html = render_html(doc, tmp_path)
    shown = ["does not hold (measured: 0)", "holds (measured: [0.1, 0.5, 0.9])", "holds"]
    for claim, text in zip(claims, shown, strict=False):
        assert str(claim).split(": ", 1)[1].split("  (")[0] == text  # the terminal's words
        # the claims table: the reading as the value, "must hold" as the bound
        assert (f'<td class="claim">{claim.name}</td><td class="value mono">{text}</td>'
                f'<td class="bound mono">must hold</td>') in html
        # the lesson's claim list: the reading alone, no "(bound true)"
        assert f'{claim.name}: <span class="val mono">{text}</span><span class="evidence">' in html or \
            f'{claim.name}: <span class="val mono">{text}</span></li>' in html
    # the failed-claims banner at the top
    banner = html[html.index('id="failed-claims"'):html.index("</div>", html.index('id="failed-claims"'))]
    assert 'no dead unit revived: <span class="val mono">does not hold (measured: 0)</span> · 2 of 8' in banner
    assert "true" not in html.split('id="claims-table"')[1].split("</table>")[0]
    assert "(bound true)" not in html and "bound true" not in html
    # a claim held against a number keeps its value and bound
    assert '<td class="value mono">0.5</td><td class="bound mono">&lt;= 1</td>' in html
    assert '<span class="val mono">0.5</span> <span class="muted">(bound <span class="mono">&lt;= 1</span>)' in html


def test_a_failed_yes_no_claim_reads_as_on_the_terminal_in_summary_md_and_the_fail_line(capsys):
    """summary.md's failed-claims table and reproduce's FAIL lines wrote "0 (bound true)" too."""
    from types import SimpleNamespace

    from backproplab.report.signals import Log

    revived = Claim.holds("no dead unit revived", False, value=0, evidence="2 of 8").to_dict()
    number = Claim.at_most("x < 1", 1.5, 1.0).to_dict()
    doc = _doc(passed=False)
    doc["lessons"]["a"].update(passed=False, claims=[revived, number])
    doc["summary"].update(claims=2, claims_passed=0, claims_failed=2)
    text = render_summary(doc)
    assert "| a | no dead unit revived | does not hold (measured: 0) | must hold | 2 of 8 |" in text
    assert "| a | x < 1 | 1.5 | <= 1 |  |" in text and "true" not in text
    outcome = SimpleNamespace(results=doc, complete=True, html_path="r/index.html",
                              failed_claims=[{"lesson": "a", **{k: c[k] for k in ("name", "value", "bound", "evidence")}}
                                             for c in (revived, number)])  # as reproduce lists them
    Log(True).verdict(outcome, None, "")
    printed = capsys.readouterr().out
    assert "  FAIL a: no dead unit revived: does not hold (measured: 0)\n" in printed
    assert "  FAIL a: x < 1: 1.5 (bound <= 1)\n" in printed


def test_summary_of_an_incomplete_document():
    doc = _doc(complete=False, passed=False)
    doc["lessons"]["a"]["status"] = "pending"
    doc["summary"].update(lessons_done=0, claims=0, claims_passed=0)
    doc["lessons"]["a"]["claims"] = []
    text = render_summary(doc, resume_hint="backproplab reproduce --resume --out r")
    assert text.startswith("# backproplab reproduce: INCOMPLETE: 0 of 1 lessons done, 0 of 0 claims pass so far")
    assert "Continue it with `backproplab reproduce --resume --out r`." in text
    assert "| a | A <b> | not run | — | 1.0 |" in text


@pytest.mark.parametrize("key, words", [
    ("val_acc", "Validation accuracy"), ("ratio_first_to_third", "Ratio first to third"), ("eta0", "η₀"),
    ("grad_norm", "|∇f|"), ("NumpyANN", "NumpyANN"), ("max |f - torch|", "max |f - torch|"),
    ("dW1", "dW1"), ("learning_rate", "Learning rate"),
])
def test_headers_and_parameter_names_read_as_words(key, words):
    from backproplab.report.html import humanise

    assert humanise(key) == words


def test_a_lesson_opens_with_its_question():
    from backproplab.report.html import lesson_question

    text = lesson_question("gradient-descent")
    assert text.startswith("**Gradient descent on f(x, y)")
    assert text.endswith("Which step sizes get there, and how fast?")  # stops before the lesson's list
    assert lesson_question("no-such-lesson") == ""


def test_lesson_story_parts(tmp_path):
    doc = _doc()
    lesson = doc["lessons"]["a"]
    lesson["params"] = {"grid": {"eta0": [0.01, 0.1], "decay": [1.0]}, "learning_rate": 0.1, "quick": True}
    lesson["tables"]["short_one"] = [{"val_acc": 0.9, "why": "because " * 10, "ok": False}]
    lesson["text"]["caption:gone"] = "A *human* caption."
    html = render_html(doc, tmp_path)
    # parameters as a key/value list, not JSON
    assert "<dt>Grid</dt><dd>η₀: 0.01, 0.1; Decay: 1</dd>" in html and "<dt>Learning rate</dt><dd>0.1</dd>" in html
    assert '{"eta0"' not in html
    # a 100-row table is folded under its name; a one-row table is open, with humanised headers
    assert '<details class="table-fold"><summary>t <span class="muted">(100 rows)</span>' in html
    assert "<h3>Short one</h3>" in html and "<th>Validation accuracy</th>" in html
    assert '<td class="prose">because' in html and "<td>no</td>" in html
    assert "<figcaption>A <em>human</em> caption.</figcaption>" in html
    # the order of the story: summary, then the lesson's measurements, then its claims
    assert html.index('id="summary"') < html.index("What was measured") < html.index("<h3>Claims</h3>")
    assert 'class="side"' in html and 'href="#lesson-a"' in html


def test_css_never_breaks_words_in_tables():
    from backproplab.report.html import _css

    css = _css()
    assert "table.claims td { overflow-wrap: anywhere" not in css and "text-transform: uppercase; letter" not in \
        css.split("th {")[1].split("}")[0]
