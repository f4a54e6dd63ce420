"""The web service's file resolution, ranges and conditions (no sockets)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from torsion.services.web._site import (
    FileEntry,
    Listing,
    Redirect,
    Refusal,
    StaticSite,
    evaluate,
    formatHTTPDate,
    parseHTTPDate,
    parseRange,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "hello.txt").write_bytes(b"hello, world\n")
    (site / "page.html").write_text("<p>hi</p>")
    (site / "data.bin").write_bytes(bytes(range(256)) * 4)
    (site / "a b&c<d>.txt").write_text("odd name")
    (site / "archive.tar.gz").write_bytes(b"\x1f\x8b")
    (site / "sub").mkdir()
    (site / "sub" / "inner.txt").write_text("inner")
    (site / "withindex").mkdir()
    (site / "withindex" / "index.html").write_text("<h1>index</h1>")
    (tmp_path / "secret.txt").write_text("outside the root")
    os.symlink(tmp_path / "secret.txt", site / "escape.txt")
    os.symlink(tmp_path, site / "escape-dir")
    os.symlink(site / "hello.txt", site / "alias.txt")
    os.mkfifo(site / "fifo")
    return site


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lookup(root: Path, target: bytes, **kw: Any) -> Any:
    return StaticSite(str(root), **kw).lookup(target)


def test_a_file(root: Path) -> None:
    entry = lookup(root, b"/hello.txt")
    assert isinstance(entry, FileEntry)
    assert entry.body == b"hello, world\n"
    assert entry.size == 13
    assert entry.contentType == b"text/plain"
    assert entry.lastModified == formatHTTPDate(os.stat(root / "hello.txt").st_mtime)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("page.html", b"text/html"),
        ("data.bin", b"application/octet-stream"),
        ("archive.tar.gz", b"application/gzip"),  # not Content-Encoding: gzip
    ],
)
def test_content_types(root: Path, name: str, kind: bytes) -> None:
    assert lookup(root, b"/" + name.encode()).contentType == kind


@pytest.mark.parametrize(
    "target",
    [
        b"/a%20b%26c%3Cd%3E.txt",
        b"/./a%20b%26c%3Cd%3E.txt",
        b"//a%20b%26c%3Cd%3E.txt",
        b"/a%20b%26c%3Cd%3E.txt?query=1#frag",
        b"http://example.org/a%20b%26c%3Cd%3E.txt",
    ],
)
def test_encoded_and_normal_forms(root: Path, target: bytes) -> None:
    entry = lookup(root, target)
    assert isinstance(entry, FileEntry)
    assert entry.body == b"odd name"


@pytest.mark.parametrize(
    ("target", "status"),
    [
        (b"/../secret.txt", 403),
        (b"/sub/../../secret.txt", 403),
        (b"/sub/../hello.txt", 403),  # any '..' is refused, even one that stays inside
        (b"/%2e%2e/secret.txt", 403),
        (b"/%2E%2E%2fsecret.txt", 403),
        (b"/sub%2f..%2f..%2fsecret.txt", 403),
        (b"/..", 403),
        (b"/escape.txt", 404),  # a symbolic link out of the root
        (b"/escape-dir/secret.txt", 404),
        (b"/escape-dir/", 404),
        (b"/missing.txt", 404),
        (b"/hello.txt/", 404),
        (b"/hello.txt/more", 404),
        (b"/fifo", 404),  # never opened: only regular files are served
        (b"/nul%00byte", 400),
        (b"relative/path", 400),
        (b"*", 400),
    ],
)
def test_refusals(root: Path, target: bytes, status: int) -> None:
    result = lookup(root, target)
    assert isinstance(result, Refusal), result
    assert result.status == status


def test_symlink_inside_the_root_is_served(root: Path) -> None:
    assert lookup(root, b"/alias.txt").body == b"hello, world\n"


def test_directory_redirects_then_lists(root: Path) -> None:
    redirect = lookup(root, b"/sub?x=1")
    assert isinstance(redirect, Redirect)
    assert redirect.location == b"/sub/?x=1"
    listing = lookup(root, b"/sub/")
    assert isinstance(listing, Listing)
    assert b'<a href="inner.txt">inner.txt</a>' in listing.body
    assert b'<a href="../">../</a>' in listing.body


def test_listing_escapes_names_and_hides_escaping_links(root: Path) -> None:
    listing = lookup(root, b"/")
    assert isinstance(listing, Listing)
    body = listing.body.decode()
    assert "a b&amp;c&lt;d&gt;.txt" in body
    assert 'href="a%20b%26c%3Cd%3E.txt"' in body
    assert "<d>" not in body
    assert 'href="sub/"' in body
    assert "escape" not in body
    assert 'href="alias.txt"' in body
    assert 'href="../"' not in body  # nothing above the root


def test_undecodable_names_are_listed_and_served(root: Path) -> None:
    (root / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"latin-1 name")
    listing = lookup(root, b"/")
    assert b'href="caf%E9.txt"' in listing.body
    assert b"caf\\xe9.txt" in listing.body
    assert lookup(root, b"/caf%E9.txt").body == b"latin-1 name"


def test_index_html_is_served_for_its_folder(root: Path) -> None:
    entry = lookup(root, b"/withindex/")
    assert isinstance(entry, FileEntry)
    assert entry.body == b"<h1>index</h1>"


def test_listing_can_be_turned_off(root: Path) -> None:
    assert lookup(root, b"/sub/", listings=False).status == 403
    assert isinstance(lookup(root, b"/withindex/", listings=False), FileEntry)


def test_large_files_are_not_kept_in_memory(root: Path) -> None:
    entry = lookup(root, b"/data.bin", maxCachedFile=100)
    assert entry.body is None
    assert entry.size == 1024


def test_changed_files_are_seen_at_once(root: Path) -> None:
    site = StaticSite(str(root), clock=Clock())
    first = site.lookup(b"/hello.txt")
    assert site.lookup(b"/hello.txt") is first  # cached
    (root / "hello.txt").write_bytes(b"changed, and longer\n")
    second = site.lookup(b"/hello.txt")
    assert second.body == b"changed, and longer\n"
    os.remove(root / "hello.txt")
    assert site.lookup(b"/hello.txt").status == 404


def test_routes_are_resolved_again_after_a_while(root: Path) -> None:
    clock = Clock()
    site = StaticSite(str(root), clock=clock)
    assert site.lookup(b"/link.txt").status == 404
    os.symlink(root / "hello.txt", root / "link.txt")
    assert site.lookup(b"/link.txt").body == b"hello, world\n"
    os.remove(root / "link.txt")
    os.symlink(root.parent / "secret.txt", root / "link.txt")
    clock.now += 5  # the cached route has expired: the new link is checked
    assert site.lookup(b"/link.txt").status == 404


def test_cache_budget_is_respected(root: Path) -> None:
    site = StaticSite(str(root), cacheBudget=1500)
    for name in (b"/data.bin", b"/hello.txt", b"/page.html", b"/data.bin"):
        assert isinstance(site.lookup(name), FileEntry)
    assert site._cachedBytes <= 1500


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (b"bytes=0-9", 100, (0, 9)),
        (b"bytes=10-", 100, (10, 99)),
        (b"bytes=-10", 100, (90, 99)),
        (b"bytes=-500", 100, (0, 99)),
        (b"bytes=90-500", 100, (90, 99)),
        (b"BYTES = 5-5", 100, (5, 5)),
        (b"bytes=100-", 100, False),
        (b"bytes=100-200", 100, False),
        (b"bytes=-0", 100, False),
        (b"bytes=0-", 0, False),
        (b"bytes=9-5", 100, None),
        (b"bytes=0-1,5-6", 100, None),  # several ranges: the whole body
        (b"items=0-5", 100, None),
        (b"bytes=a-b", 100, None),
        (b"bytes=-", 100, None),
        (b"bytes=5", 100, None),
        (b"bytes=1-2-3", 100, None),
        # Numbers past Python's int-digits limit, read for what they mean.
        (b"bytes=" + b"9" * 5000 + b"-", 100, False),
        (b"bytes=0-" + b"9" * 5000, 100, (0, 99)),
        (b"bytes=-" + b"9" * 5000, 100, (0, 99)),
        (b"bytes=" + b"0" * 5000 + b"5-" + b"0" * 5000 + b"9", 100, (5, 9)),
        (b"bytes=" + b"9" * 5000 + b"-" + b"9" * 4999, 100, False),
        (b"bytes=-" + b"0" * 5000, 100, False),
    ],
)
def test_parse_range(header: bytes, size: int, expected: Any) -> None:
    assert parseRange(header, size) == expected


def test_http_dates() -> None:
    assert formatHTTPDate(784111777) == b"Sun, 06 Nov 1994 08:49:37 GMT"
    assert parseHTTPDate(b"Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    assert parseHTTPDate(b"Sunday, 06-Nov-94 08:49:37 GMT") == 784111777
    assert parseHTTPDate(b"Sun Nov  6 08:49:37 1994") is not None
    assert parseHTTPDate(b"yesterday") is None
    assert parseHTTPDate(b"\xff") is None


def test_evaluate(root: Path) -> None:
    entry = lookup(root, b"/data.bin")
    assert evaluate(entry, {}) == (200, 0, 1023)
    assert evaluate(entry, {b"range": b"bytes=0-99"}) == (206, 0, 99)
    assert evaluate(entry, {b"range": b"bytes=5000-"}) == (416, 0, -1)
    assert evaluate(entry, {b"if-modified-since": entry.lastModified})[0] == 304
    assert evaluate(entry, {b"if-modified-since": formatHTTPDate(entry.mtime - 10)})[0] == 200
    assert evaluate(entry, {b"if-modified-since": b"garbage"})[0] == 200
    assert evaluate(entry, {b"if-none-match": entry.etag})[0] == 304
    assert evaluate(entry, {b"if-none-match": b'"other", ' + entry.etag})[0] == 304
    assert evaluate(entry, {b"if-none-match": b"*"})[0] == 304
    # If-None-Match wins over If-Modified-Since.
    conflicting = {b"if-none-match": b'"other"', b"if-modified-since": entry.lastModified}
    assert evaluate(entry, conflicting)[0] == 200
    # If-Range: the range applies only to the version the client has.
    ranged = {b"range": b"bytes=0-9", b"if-range": entry.etag}
    assert evaluate(entry, ranged) == (206, 0, 9)
    ranged[b"if-range"] = entry.lastModified
    assert evaluate(entry, ranged) == (206, 0, 9)
    ranged[b"if-range"] = b'"stale"'
    assert evaluate(entry, ranged) == (200, 0, 1023)


def test_file_entries_are_bounded_in_number(root: Path, monkeypatch: Any) -> None:
    from torsion.services.web import _site

    monkeypatch.setattr(_site, "_MAX_FILES", 2)
    site = StaticSite(str(root), maxCachedFile=0)  # no bodies: only the count bounds it
    for name in (b"/hello.txt", b"/page.html", b"/data.bin"):
        assert isinstance(site.lookup(name), FileEntry)
    assert list(site._files) == [str(root / "page.html"), str(root / "data.bin")]


@pytest.fixture
def dotted(root: Path) -> Path:
    """``root`` with hidden files and folders, and visible links to them."""
    (root / ".env").write_text("SECRET=1")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]")
    (root / "sub" / ".hidden.txt").write_text("hidden")
    os.symlink(root / ".env", root / "env-link.txt")
    os.symlink(root / ".git", root / "git-link")
    (root / "dotindex").mkdir()
    os.symlink(root / ".env", root / "dotindex" / "index.html")
    return root


HIDDEN = [
    b"/.env",
    b"/.git/config",
    b"/.git/",
    b"/.git",
    b"/sub/.hidden.txt",
    b"/%2eenv",
    b"/%2Egit/config",
    b"/sub%2f.hidden.txt",
    b"/./.env",
    b"/sub/./.hidden.txt",
    b"//.env",
    b"/.env?x=1",
    b"http://example.org/.env",
    b"/env-link.txt",  # a visible link to a hidden file
    b"/git-link/config",
    b"/git-link/",
]


@pytest.mark.parametrize("target", HIDDEN)
def test_hidden_names_are_not_served(dotted: Path, target: bytes) -> None:
    result = lookup(dotted, target)
    assert isinstance(result, Refusal), result
    assert result.status == 404


def test_hidden_index_is_not_served(dotted: Path) -> None:
    listing = lookup(dotted, b"/dotindex/")
    assert isinstance(listing, Listing)  # the index is a link to .env: listed instead
    assert b"index.html" not in listing.body


def test_hidden_names_are_not_listed(dotted: Path) -> None:
    body = lookup(dotted, b"/").body + lookup(dotted, b"/sub/").body
    for name in (b".env", b".git", b".hidden", b"env-link", b"git-link"):
        assert name not in body
    assert b'href="hello.txt"' in body


@pytest.mark.parametrize("target", HIDDEN)
def test_hidden_names_can_be_allowed(dotted: Path, target: bytes) -> None:
    result = lookup(dotted, target, dotfiles=True)
    assert not isinstance(result, Refusal), result


def test_allowed_hidden_names_are_listed(dotted: Path) -> None:
    body = lookup(dotted, b"/", dotfiles=True).body
    for name in (b".env", b".git/", b"env-link.txt", b"git-link/"):
        assert b'href="' + name + b'"' in body


def test_a_hidden_root_is_served(tmp_path: Path) -> None:
    root = tmp_path / ".site"
    root.mkdir()
    (root / "page.txt").write_text("visible")
    assert lookup(root, b"/page.txt").body == b"visible"
    assert isinstance(lookup(root, b"/"), Listing)
