"""Where signed links point and who can open them (``AssetLinks.reach`` and the note results carry)."""

from __future__ import annotations

import pytest

from engine.assets.links import AssetLinks, Reach, is_loopback_url
from engine.auth.signing import UrlSigner

SIGNER = UrlSigner({"k1": b"secret"})


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True), ("http://127.8.9.10", True), ("http://[::1]:8000", True),
        ("http://localhost:8000", True), ("http://picsha.localhost", True),
        ("https://picsha.example.com", False), ("http://192.168.1.20:8000", False), ("http://0.0.0.0:8000", False),
    ],
)
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_reach_follows_the_base() -> None:
    assert AssetLinks(SIGNER, "https://media.example.com/").reach() is Reach.PUBLIC
    local = AssetLinks(SIGNER, "http://127.0.0.1:8000")
    link = local.content("as_1")
    assert local.reach() is Reach.THIS_MACHINE and link.startswith("http://127.0.0.1:8000/v1/assets/as_1/content?")
    assert local.note_for(f'{{"url": "{link}"}}') is Reach.THIS_MACHINE
    assert local.note_for('{"period": "current_month"}') is None  # an answer without links says nothing


def test_public_links_need_no_note() -> None:
    links = AssetLinks(SIGNER, "https://media.example.com")
    assert links.note_for(links.content("as_1")) is None


def test_a_session_listener_starts_with_the_first_link_and_once() -> None:
    links = AssetLinks(SIGNER, "http://127.0.0.1:8000")
    starts: list[int] = []

    def start() -> str:
        starts.append(1)
        return "http://127.0.0.1:40123/"

    links.serve_from(start)
    assert links.reach() is Reach.THIS_SESSION and starts == []  # nothing listens before a link is made
    assert links.note_for("http://127.0.0.1:8000/v1/assets/as_1/content") is None
    first, second = links.content("as_1"), links.render("as_2", {"w": "100"})
    assert starts == [1]
    assert first.startswith("http://127.0.0.1:40123/v1/assets/as_1/content?")
    assert second.startswith("http://127.0.0.1:40123/v1/assets/as_2/render?") and "w=100" in second
    assert links.note_for(first) is Reach.THIS_SESSION
