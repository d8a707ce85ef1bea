"""Check the local links of a built HTML site.

Usage: ``python docs/check_links.py docs/_build/html``

Scans every ``*.html`` page under the folder (but those in folders whose
name starts with ``_``, such as ``_static``, which hold the theme's
templates and assets) for links (``href``) without a scheme:
``page.html``, ``../api.html#anchor``, ``#anchor``.
Each must name a file that exists, and its ``#anchor``, if any, an ``id``
(or an ``<a name>``) in that page. Links with a scheme (``https:``,
``mailto:``, ...) or starting with ``//`` are not checked. Prints each
broken link, with the page it is on, and exits with 1 if there is any.
Standard library only.
"""

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _PageParser(HTMLParser):
    """Collects the links (href) and anchors (id, a name) of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.anchors = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.anchors.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.anchors.add(attrs["name"])
        if tag in ("a", "area", "link") and attrs.get("href") is not None:
            self.links.append(attrs["href"])

    handle_startendtag = handle_starttag


def _parse(path, cache):
    if path not in cache:
        parser = _PageParser()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        parser.close()
        cache[path] = parser
    return cache[path]


def _pages(root):
    """The site's pages: not the theme's templates and assets that Sphinx
    copies into folders such as ``_static``."""
    return [page for page in sorted(Path(root).rglob("*.html"))
            if not page.relative_to(root).parts[0].startswith("_")]


def find_broken_links(root):
    """The broken local links of the site in ``root``.

    Parameters
    ----------
    root : str or path-like
        The folder of the built site (``docs/_build/html``).

    Returns
    -------
    list of tuple
        ``(page, href, reason)`` for each broken link, ``page`` relative
        to ``root``, sorted.
    """
    root = Path(root).resolve()
    cache = {}
    broken = []
    for page in _pages(root):
        for href in _parse(page, cache).links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith("//"):
                continue
            path, anchor = unquote(parts.path), unquote(parts.fragment)
            target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            where = page.relative_to(root).as_posix()
            if not target.is_file():
                broken.append((where, href, "no such file"))
            elif anchor and target.suffix in (".html", ".htm"):
                if anchor not in _parse(target, cache).anchors:
                    broken.append((where, href, "no such anchor"))
    return sorted(set(broken))


def main(argv=None):
    """Check the site named on the command line; the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    broken = find_broken_links(argv[0])
    for page, href, reason in broken:
        print(f"{page}: {href}: {reason}")
    n_pages = len(_pages(Path(argv[0]).resolve()))
    print(f"{len(broken)} broken local link(s) in {n_pages} page(s).")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
