"""Links from a model's HTML representation to its page in the API reference.

scikit-learn's HTML representation links an estimator's class and
parameters to the page that ``_doc_link_template`` names. skvae's pages
have no public address yet, so the link goes where ``$SKVAE_DOCS_URL``
says (an address, or the folder of a built copy of the documentation);
without it, to the documentation built in the clone skvae runs from, if
there is one; otherwise there is no link.
"""

import os
from pathlib import Path

#: Where the README's command builds the documentation in a clone.
LOCAL_BUILD = Path(__file__).resolve().parents[1] / "docs" / "_build" / "html"


def docs_url():
    """Base address of the documentation, without a trailing slash; "" for none."""
    url = os.environ.get("SKVAE_DOCS_URL", "")
    if url and "://" not in url:
        url = Path(url).expanduser().resolve().as_uri()
    if not url and (LOCAL_BUILD / "index.html").is_file():
        url = LOCAL_BUILD.as_uri()
    return url.rstrip("/")


class DocLinkMixin:
    """Point scikit-learn's documentation link at skvae's API reference."""

    _doc_link_module = "skvae"

    @property
    def _doc_link_template(self):
        base = docs_url()
        # The API pages are named by the public path, skvae.<Class>, not by
        # the module that defines the class.
        return f"{base}/generated/skvae.{{estimator_name}}.html" if base else ""
