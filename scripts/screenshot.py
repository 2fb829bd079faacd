"""Take the README's picture of the share page, as a phone shows it.

Serves a folder of built routines on loopback, opens the page in headless
Chromium (Debian's, driven by Playwright) at a phone's size, and saves a PNG:

    .venv/bin/python scripts/screenshot.py [DIR] [-o docs/share-page.png]
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from voiceroutine.share.server import ShareServer, describe, new_token, open_socket

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--mute-audio"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="out", type=Path)
    parser.add_argument("-o", "--output", default="docs/share-page.png", type=Path)
    args = parser.parse_args()

    token = new_token()
    sock = open_socket("127.0.0.1", 0, 0)
    url = describe(sock, "127.0.0.1", token).url
    server = ShareServer(args.folder, sock, token, folder_label=str(args.folder))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
            page.goto(url, wait_until="networkidle")
            page.wait_for_function("[...document.querySelectorAll('audio')].every(a => a.readyState >= 1)")
            # Show a chapter playing, as it looks in use.
            page.locator("button[data-start]").nth(1).click()
            page.wait_for_timeout(1500)
            page.evaluate("document.querySelectorAll('audio').forEach(a => a.pause())")
            args.output.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.output), full_page=True)
            browser.close()
    finally:
        server.stop()
        thread.join(timeout=10)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
