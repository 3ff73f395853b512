"""Reading a page: the forms of image URLs, resolution against <base>, normalisation."""

from __future__ import annotations

from engine.scrape.extract import FileKind, largest_candidate, read_page
from engine.scrape.urls import normalise, site_of


def test_the_largest_srcset_candidate_wins() -> None:
    assert largest_candidate("a.jpg 320w, b.jpg 1280w, c.jpg 640w") == "b.jpg"
    assert largest_candidate("a.jpg, b.jpg 2x, c.jpg 1.5x") == "b.jpg"
    assert largest_candidate("only.jpg") == "only.jpg"
    assert largest_candidate("  ") is None


def test_urls_resolve_against_base_and_normalise() -> None:
    html = b"""<html><head><base href="https://cdn.example.com/assets/"></head><body>
    <img src="a.jpg#frag"><img src="HTTPS://CDN.example.com:443/assets/a.jpg"><img src="/root.png">
    <a href="mailto:x@example.com">m</a><a href="javascript:void(0)">j</a><a href="next.html#top">n</a>
    <video src="v.mp4"></video><a href="doc.pdf">d</a></body></html>"""
    found = read_page(html, "https://www.example.com/page/", videos=True)
    assert found.files == {"https://cdn.example.com/assets/a.jpg": FileKind.IMAGE,
                           "https://cdn.example.com/root.png": FileKind.IMAGE,
                           "https://cdn.example.com/assets/v.mp4": FileKind.VIDEO}
    assert found.links == ["https://cdn.example.com/assets/next.html"]  # documents only when asked


def test_json_ld_meta_and_css_forms() -> None:
    html = b"""<html><head>
    <script type="application/ld+json">[{"@type": "Product", "image": ["p1.jpg", {"url": "p2.jpg"}]}]</script>
    <script type="application/ld+json">{"image": "skipped.jpg", broken</script>
    <script type="application/ld+json">{"@graph": [{"@type": "Person", "logo": "logo.svg"}]}</script>
    <meta property="og:image:secure_url" content="og.jpg"><meta name="description" content="not an image">
    <style>@font-face { src: url(font.woff2) } .x { background: url('bg.webp') }</style></head>
    <body><div data-bg="lazy-bg.jpg"></div></body></html>"""
    found = read_page(html, "http://example.com/")
    assert set(found.files) == {f"http://example.com/{name}" for name in
                                ("p1.jpg", "p2.jpg", "logo.svg", "og.jpg", "bg.webp", "lazy-bg.jpg")}


def test_normalise_refuses_what_is_not_http() -> None:
    assert normalise("ftp://example.com/a") is None
    assert normalise("data:image/png;base64,xx") is None
    assert normalise("http://Example.COM:80/a?b=1#c") == "http://example.com/a?b=1"
    assert normalise("http://example.com") == "http://example.com/"
    assert site_of("https://www.example.com/x") == site_of("http://example.com/") == "example.com"
