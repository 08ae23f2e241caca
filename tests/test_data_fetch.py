"""`analogtrain data fetch`: download, licence stripping and checks, against a local HTTP server only."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading

import pytest
from click.testing import CliRunner

from analogtrain.cli.data import data
from analogtrain.errors import ConfigError
from analogtrain.training import data_fetch
from analogtrain.training.data_fetch import SOURCES, check_text, fetch_text, strip_gutenberg

OPENING = '"Well, Prince, so Genoa and Lucca are now just family estates of the\nBuonapartes.'
CLOSING = "and to recognize a dependence of which we are not\nconscious... a dependence of which we are not conscious."

HEADER = (
    "\ufeffThe Project Gutenberg eBook of War and Peace\r\n\r\n"
    "This ebook is for the use of anyone anywhere in the United States and most other parts of the\r\n"
    "world at no cost and with almost no restrictions whatsoever.\r\n\r\n"
    "Title: War and Peace\r\nAuthor: graf Leo Tolstoy\r\n\r\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK WAR AND PEACE ***\r\n\r\n\r\n"
)
FOOTER = (
    "\r\n\r\nEnd of the Project Gutenberg EBook of War and Peace, by Leo Tolstoy\r\n\r\n"
    "*** END OF THE PROJECT GUTENBERG EBOOK WAR AND PEACE ***\r\n\r\n"
    "Updated editions will replace the previous one--the old editions will be renamed.\r\n"
    "START: FULL LICENSE\r\nTHE FULL PROJECT GUTENBERG LICENSE\r\n"
)


def book(n_chars: int) -> str:
    """A stand-in book body: the real opening and closing passages around filler (LF line ends)."""
    line = "Pierre looked at Natásha, and the regiment moved on towards Moscow.\n"
    filler = line * max(0, (n_chars - len(OPENING) - len(CLOSING)) // len(line) + 1)
    return f"{OPENING}\n\n{filler}\n{CLOSING}\n"


def gutenberg_file(body: str) -> bytes:
    return (HEADER + body.replace("\n", "\r\n") + FOOTER).encode("utf-8")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture()
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving tmp_path/www; yields (base URL, directory)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_strip_keeps_exactly_the_book():
    body = book(2000)
    assert strip_gutenberg(gutenberg_file(body).decode("utf-8")) == body.strip("\n ") + "\n"


def test_strip_older_this_marker_and_missing_markers():
    text = "licence\n*** START OF THIS PROJECT GUTENBERG EBOOK WAR AND PEACE ***\nbook\n*** END OF THIS PROJECT GUTENBERG EBOOK WAR AND PEACE ***\nlicence"
    assert strip_gutenberg(text) == "book\n"
    with pytest.raises(ConfigError, match="START"):
        strip_gutenberg("no markers at all")
    with pytest.raises(ConfigError, match="END"):
        strip_gutenberg("*** START OF THE PROJECT GUTENBERG EBOOK X ***\nbook only")


def test_check_names_each_problem():
    source = SOURCES["war-and-peace"]
    check_text(book(source.min_chars), source)
    with pytest.raises(ConfigError, match="characters, expected at least"):
        check_text(book(10_000), source)
    with pytest.raises(ConfigError, match="lacks the expected passage"):
        check_text(book(source.min_chars).replace("Genoa", "Genova"), source)
    with pytest.raises(ConfigError, match="licence text remains"):
        check_text(book(source.min_chars) + "THE FULL PROJECT GUTENBERG LICENSE", source)


def test_cli_fetch_from_local_server(server, tmp_path):
    url, root = server
    body = book(SOURCES["war-and-peace"].min_chars + 1000)
    (root / "pg2600.txt").write_bytes(gutenberg_file(body))
    out = tmp_path / "data" / "wp.txt"
    result = CliRunner().invoke(data, ["fetch", "war-and-peace", "--out", str(out), "--url", f"{url}/pg2600.txt"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text == body.strip("\n ") + "\n"
    assert text.startswith(OPENING) and "GUTENBERG" not in text.upper() and "\r" not in text
    assert hashlib.sha256(text.encode()).hexdigest() in result.output

    # An existing file is never replaced without --overwrite.
    again = CliRunner().invoke(data, ["fetch", "war-and-peace", "--out", str(out), "--url", f"{url}/pg2600.txt"])
    assert again.exit_code == 2 and "already exists" in again.output and "Traceback" not in again.output
    forced = CliRunner().invoke(
        data, ["fetch", "war-and-peace", "--out", str(out), "--url", f"{url}/pg2600.txt", "--overwrite"]
    )
    assert forced.exit_code == 0, forced.output


def test_cli_fetch_rejects_bad_downloads(server, tmp_path):
    url, root = server
    (root / "short.txt").write_bytes(gutenberg_file(book(50_000)))
    (root / "plain.txt").write_text(book(SOURCES["war-and-peace"].min_chars))
    out = tmp_path / "wp.txt"
    cases = {
        f"{url}/short.txt": "expected at least 3,000,000",
        f"{url}/plain.txt": "not a Project Gutenberg plain-text eBook",
        f"{url}/missing.txt": "HTTP 404",
        "ftp://example.org/x.txt": "must start with http://",
    }
    for bad_url, message in cases.items():
        result = CliRunner().invoke(data, ["fetch", "war-and-peace", "--out", str(out), "--url", bad_url])
        assert result.exit_code == 2, (bad_url, result.output)
        assert message in result.output and "Traceback" not in result.output
        assert not out.exists()  # nothing written when a check fails


def test_fetch_size_guard(server, tmp_path, monkeypatch):
    url, root = server
    (root / "big.txt").write_bytes(gutenberg_file(book(10_000)))
    monkeypatch.setattr(data_fetch, "MAX_BYTES", 1000)
    with pytest.raises(ConfigError, match="accepted"):
        fetch_text("war-and-peace", tmp_path / "x.txt", url=f"{url}/big.txt")


def test_unknown_dataset_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(data, ["fetch", "anna-karenina", "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 2 and "anna-karenina" in result.output
