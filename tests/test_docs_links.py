"""docs/check_links.py, which CI runs on the built site, finds broken local links."""

import subprocess
import sys
from pathlib import Path

CHECKER = Path(__file__).resolve().parents[1] / "docs" / "check_links.py"


def write(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>")


def check(site):
    return subprocess.run([sys.executable, str(CHECKER), str(site)],
                          capture_output=True, text=True, timeout=60)


def test_reports_a_missing_file_and_a_missing_anchor(tmp_path):
    write(tmp_path / "index.html", """
        <a href="api.html">fine</a>
        <a href="api.html#module-skvae.plotting">fine, with its anchor</a>
        <a href="#top">fine, on this page</a><span id="top"></span>
        <a href="guide/">fine, a folder's index.html</a>
        <a href="https://example.org/missing.html">not checked: a scheme</a>
        <a href="mailto:someone@example.org">not checked: mailto</a>
        <a href="missing.html">broken: no file</a>
        <a href="api.html#module-skvae.likelihoods">broken: no anchor</a>
    """)
    write(tmp_path / "api.html", '<section id="module-skvae.plotting"></section>')
    write(tmp_path / "guide" / "index.html",
          '<a href="../api.html#module-skvae.plotting">fine</a>')
    # Not a page: Sphinx copies the theme's templates into _static.
    write(tmp_path / "_static" / "macros.html", '<a href="{{ pathto() }}">x</a>')

    result = check(tmp_path)

    assert result.returncode == 1
    broken = [line for line in result.stdout.splitlines() if ": " in line
              and not line.endswith("page(s).")]
    assert broken == [
        "index.html: api.html#module-skvae.likelihoods: no such anchor",
        "index.html: missing.html: no such file",
    ]
    assert "2 broken local link(s) in 3 page(s)." in result.stdout


def test_a_site_without_broken_links_passes(tmp_path):
    write(tmp_path / "index.html", '<a href="sub/page.html#a">x</a>')
    write(tmp_path / "sub" / "page.html", '<h1 id="a">A</h1><a href="../index.html">up</a>')

    result = check(tmp_path)

    assert result.returncode == 0, result.stdout
    assert "0 broken local link(s) in 2 page(s)." in result.stdout
