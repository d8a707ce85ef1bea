"""The HTML representation links the estimator to its page in skvae's API reference."""

import re

import pytest

from skvae import VAETransformer, _doc_link

PAGE = "generated/skvae.VAETransformer.html"


def doc_links(estimator):
    return re.findall(r'href="([^"]+)"', estimator._repr_html_())


@pytest.fixture
def no_local_build(monkeypatch, tmp_path):
    monkeypatch.setattr(_doc_link, "LOCAL_BUILD", tmp_path / "html")
    monkeypatch.delenv("SKVAE_DOCS_URL", raising=False)
    return tmp_path / "html"


def test_links_to_the_address_in_the_environment(monkeypatch, no_local_build):
    monkeypatch.setenv("SKVAE_DOCS_URL", "https://docs.example.org/skvae/")
    links = doc_links(VAETransformer(n_components=3))
    assert f"https://docs.example.org/skvae/{PAGE}" in links
    # scikit-learn links each parameter into the same page.
    assert any(link.startswith(f"https://docs.example.org/skvae/{PAGE}#")
               for link in links)


def test_a_folder_in_the_environment_becomes_a_file_address(monkeypatch, no_local_build,
                                                            tmp_path):
    monkeypatch.setenv("SKVAE_DOCS_URL", str(tmp_path))
    assert f"{tmp_path.as_uri()}/{PAGE}" in doc_links(VAETransformer())


def test_links_to_the_local_build_when_there_is_one(no_local_build):
    no_local_build.mkdir()
    (no_local_build / "index.html").write_text("<html></html>")
    assert f"{no_local_build.as_uri()}/{PAGE}" in doc_links(VAETransformer())


def test_no_link_without_documentation(no_local_build):
    assert not any(PAGE in link for link in doc_links(VAETransformer()))
    # Not scikit-learn's pages either: they do not document skvae.
    assert not any("scikit-learn.org" in link for link in doc_links(VAETransformer()))
