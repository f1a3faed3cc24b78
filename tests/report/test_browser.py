"""A real report opened in headless Chromium: it loads from disk with no error, its charts and
error list are in the DOM, the filter works, and it looks like something (not a blank page).

The browser is driven through the Chrome DevTools Protocol over pipes (``--remote-debugging-pipe``:
JSON messages ended by a NUL byte, Chromium reads fd 3 and writes fd 4), with the standard
library only.  Skips when no Chromium binary is found (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wintrain.report import build_report, write_report

pytest_plugins = ["report_fixtures"]  # its fixtures: synthetic_run, diagnosed_run

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

# Puts the two pipe ends at fds 3 and 4 of the browser, then becomes the browser.
# (os.dup may itself return 3 or 4, and dup2 onto the same number keeps it close-on-exec: hence
# set_inheritable.)
LAUNCHER = (
    "import os, sys\n"
    "read_end, write_end = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))\n"
    "os.dup2(read_end, 3)\n"
    "os.dup2(write_end, 4)\n"
    "os.set_inheritable(3, True)\n"
    "os.set_inheritable(4, True)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


def find_browser() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """A headless Chromium with one page, spoken to over the DevTools pipe."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 900) -> None:
        to_browser, self._to_browser = os.pipe()
        self._from_browser, from_browser = os.pipe()
        arguments = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-extensions", "--hide-scrollbars", f"--window-size={width},{height}",
                     f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"]
        self.process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(to_browser), str(from_browser), *arguments],
            pass_fds=(to_browser, from_browser), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._last_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", page=True)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, page=True)

    def send(self, method: str, params: dict[str, Any] | None = None, page: bool = False,
             timeout: float = 15.0) -> dict[str, Any]:
        """Send one command and wait for its answer (events that arrive meanwhile are kept)."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self._last_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._read(deadline))

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("no answer from the browser")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise EOFError("the browser closed the pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def open(self, url: str) -> None:
        self.send("Page.navigate", {"url": url}, page=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, page=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.send("Page.getLayoutMetrics", page=True)["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        return base64.b64decode(self.send("Page.captureScreenshot", params, page=True)["data"])

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries seen so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                found.append(f"console.{params['type']}: {[arg.get('value') for arg in params.get('args', [])]}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(f"log: {params['entry'].get('text')}")
        return found

    def requests(self) -> list[str]:
        return [event["params"]["request"]["url"] for event in self.events
                if event.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, TimeoutError, EOFError, RuntimeError):
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def png_pixels(png: bytes) -> np.ndarray:
    """The (height, width, channels) uint8 pixels of an 8-bit RGB or RGBA, non-interlaced PNG,
    decoded with zlib and the five PNG row filters (None, Sub and Up vectorised; Average and
    Paeth byte by byte, as they depend on the byte just decoded)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position:position + 4])
        kind = png[position + 4:position + 8]
        body = png[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, (depth, colour_type, interlace)
    channels = 4 if colour_type == 6 else 3
    stride = width * channels
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, stride + 1)
    pixels = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        filter_type, line = raw[y, 0], raw[y, 1:]
        if filter_type == 0:
            row = line.copy()
        elif filter_type == 1:
            row = np.cumsum(line.reshape(width, channels), axis=0, dtype=np.uint8).reshape(stride)
        elif filter_type == 2:
            row = line + previous
        else:
            out, up = bytearray(line.tobytes()), previous.tobytes()
            for x in range(stride):
                left = out[x - channels] if x >= channels else 0
                if filter_type == 3:
                    out[x] = (out[x] + (left + up[x]) // 2) & 255
                    continue
                corner = up[x - channels] if x >= channels else 0
                estimate = left + up[x] - corner
                to_left, to_up, to_corner = abs(estimate - left), abs(estimate - up[x]), abs(estimate - corner)
                predictor = left if to_left <= to_up and to_left <= to_corner else up[x] if to_up <= to_corner \
                    else corner
                out[x] = (out[x] + predictor) & 255
            row = np.frombuffer(bytes(out), dtype=np.uint8)
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, channels)


def test_png_decoding_matches_a_known_image():
    """A 3x2 RGB PNG written here with every row filter gives back its pixels."""
    image = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[10, 20, 30], [40, 50, 60], [70, 80, 90]]],
                     dtype=np.uint8)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    for filter_type in range(5):
        rows, previous = b"", np.zeros(9, dtype=np.int64)
        for line in image.reshape(2, 9).astype(np.int64):
            left = np.concatenate([[0, 0, 0], line[:-3]])
            corner = np.concatenate([[0, 0, 0], previous[:-3]])
            if filter_type == 4:
                estimate = left + previous - corner
                distances = np.abs(estimate[None] - np.stack([left, previous, corner]))
                chosen = np.where((distances[0] <= distances[1]) & (distances[0] <= distances[2]), left,
                                  np.where(distances[1] <= distances[2], previous, corner))
            else:
                chosen = [np.zeros(9, dtype=np.int64), left, previous, (left + previous) // 2][filter_type]
            rows += bytes([filter_type]) + ((line - chosen) % 256).astype(np.uint8).tobytes()
            previous = line
        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0))
               + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
        assert np.array_equal(png_pixels(png), image), filter_type


@pytest.fixture(scope="module")
def browser():
    binary = find_browser()
    if binary is None:
        pytest.skip(f"no Chromium binary on PATH (looked for {', '.join(BROWSERS)}); "
                    "install Debian's chromium package to run the browser test")
    with tempfile.TemporaryDirectory(prefix="wintrain-chromium-") as profile:
        started = Browser(binary, Path(profile))
        try:
            yield started
        finally:
            started.close()


@pytest.mark.slow
def test_report_of_a_real_run_works_in_chromium(browser, diagnosed_run, tmp_path):
    page = tmp_path / "report.html"
    write_report(build_report([diagnosed_run]), page)
    browser.open(page.resolve().as_uri())

    assert browser.problems() == []
    assert [url for url in browser.requests() if not url.startswith(("file:", "data:"))] == []
    assert browser.evaluate("document.title").startswith("wintrain report")
    charts = browser.evaluate("Array.from(document.querySelectorAll('svg.chart'))"
                              ".filter(svg => svg.querySelector('path.line')).length")
    assert charts >= 3 + 6  # learning curves and diagnostics
    assert browser.evaluate("document.querySelectorAll('#diagnostics svg.chart').length") == 6
    assert browser.evaluate("document.querySelectorAll('ul.advice li').length") == 1
    listed = browser.evaluate("document.querySelectorAll('.sent').length")
    assert listed > 0
    shown = "Number(document.querySelector('.shown').textContent)"
    visible = "Array.from(document.querySelectorAll('.sent')).filter(s => s.offsetParent !== null).length"
    assert browser.evaluate(shown) == browser.evaluate(visible) == listed

    # only the sentences with a missed chunk
    browser.evaluate("document.querySelectorAll('input[data-kind]').forEach(box => {"
                     " box.checked = box.dataset.kind === 'missed'; box.dispatchEvent(new Event('change')); })")
    with_missed = sum(1 for errors in browser.evaluate(
        "Array.from(document.querySelectorAll('.sent')).map(s => JSON.parse(s.dataset.errors))")
        if any(kind == "missed" for kind, _ in errors))
    assert 0 < with_missed < listed
    assert browser.evaluate(shown) == browser.evaluate(visible) == with_missed
    # and of those, the ones involving the rarest type offered
    rare = browser.evaluate("Array.from(document.querySelectorAll('select.type option')).slice(-1)[0].value")
    browser.evaluate(f"var s = document.querySelector('select.type'); s.value = {json.dumps(rare)};"
                     " s.dispatchEvent(new Event('change'))")
    assert browser.evaluate(shown) == browser.evaluate(visible) <= with_missed
    browser.evaluate("document.querySelectorAll('input[data-kind]').forEach(box => {"
                     " box.checked = true; box.dispatchEvent(new Event('change')); });"
                     "var s = document.querySelector('select.type'); s.value = '';"
                     " s.dispatchEvent(new Event('change'))")
    assert browser.evaluate(shown) == listed

    pixels = png_pixels(browser.screenshot())
    assert pixels.shape[:2] == (900, 1280)
    colours, counts = np.unique(pixels[:, :, :3].reshape(-1, 3), axis=0, return_counts=True)
    assert len(colours) > 50 and counts.max() / counts.sum() < 0.95  # not blank: text, lines, colours
    assert browser.problems() == []


@pytest.mark.slow
def test_several_runs_filter_separately_and_the_config_toggle_hides_rows(browser, synthetic_run, diagnosed_run,
                                                                         tmp_path):
    config = diagnosed_run / "config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace("lr: 0.003", "lr: 0.001"), encoding="utf-8")
    page = tmp_path / "two.html"
    write_report(build_report([synthetic_run, diagnosed_run], max_sentences=20), page)
    browser.events.clear()
    browser.open(page.resolve().as_uri())
    assert browser.problems() == []
    shown = "Array.from(document.querySelectorAll('.shown')).map(b => Number(b.textContent))"
    listed = browser.evaluate(shown)
    assert len(listed) == 2 and listed[0] == listed[1] > 0
    browser.evaluate("var box = document.querySelector('#errors-1 input[data-kind=\"wrong_span\"]');"
                     " box.checked = false; box.dispatchEvent(new Event('change'))")
    first, second = browser.evaluate(shown)
    assert first == listed[0] and second < listed[1]

    rows = "Array.from(document.querySelectorAll('table.config tbody tr')).filter(r => r.offsetParent).length"
    header = "document.querySelector('table.config thead tr').offsetParent !== null"
    everything = browser.evaluate(rows)
    browser.evaluate("var box = document.querySelector('input.only-diff'); box.checked = true;"
                     " box.dispatchEvent(new Event('change'))")
    differing = browser.evaluate("document.querySelectorAll('table.config tr.diff').length")
    assert browser.evaluate(rows) == differing < everything and browser.evaluate(header)
    assert browser.problems() == []
