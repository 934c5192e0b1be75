"""Google Drive links: turn share links into direct downloads and follow the large-file confirmation page.

What works: single files shared publicly (``/uc?id=ID``, ``/file/d/ID/view``, ``/open?id=ID``). Files too big
for Drive's virus scan answer with an HTML page; its download form (``action`` plus hidden ``id``/``export``/
``confirm``/``uuid`` inputs) or an old-style ``confirm=TOKEN`` link is followed. What does not work: folders
(``/drive/folders/...``), quota-exceeded files and pages without a form; these raise a message that tells the
user to download the file by hand and where to put it.
"""

from __future__ import annotations

import html
import re
import urllib.parse

DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
DIRECT = "https://drive.usercontent.google.com/download"


def is_drive(url: str) -> bool:
    return urllib.parse.urlparse(url).netloc in DRIVE_HOSTS


def is_folder(url: str) -> bool:
    return is_drive(url) and "/folders/" in url


def file_id(url: str) -> str | None:
    """The Drive file id in a share link, or None."""
    parsed = urllib.parse.urlparse(url)
    match = re.search(r"/file/d/([\w-]+)", parsed.path)
    if match:
        return match.group(1)
    ids = urllib.parse.parse_qs(parsed.query).get("id")
    return ids[0] if ids else None


def direct_url(url: str) -> str:
    """A direct-download URL for a Drive file link (other URLs unchanged)."""
    if not is_drive(url) or is_folder(url):
        return url
    ident = file_id(url)
    if ident is None or urllib.parse.urlparse(url).netloc == "drive.usercontent.google.com":
        return url
    return f"{DIRECT}?id={ident}&export=download"


def next_url(url: str, page: str) -> str | None:
    """The URL behind Drive's 'cannot scan for viruses' page, or None when the page offers none."""
    if "Quota exceeded" in page or "Too many users have viewed or downloaded" in page:
        return None
    form = re.search(r'<form[^>]+action="([^"]+)"[^>]*>(.*?)</form>', page, re.S)
    if form:
        inputs = dict(re.findall(r'<input[^>]+name="([^"]+)"[^>]+value="([^"]*)"', form.group(2)))
        if inputs:
            action = html.unescape(form.group(1))
            return action + "?" + urllib.parse.urlencode({k: html.unescape(v) for k, v in inputs.items()})
    token = re.search(r"confirm=([\w-]+)", page)
    if token:
        sep = "&" if "?" in url else "?"
        return re.sub(r"([?&])confirm=[^&]*", "", url) + f"{sep}confirm={token.group(1)}"
    return None


def manual_message(url: str) -> str:
    return (f"Google Drive did not serve {url} directly (a folder, a quota limit or a changed confirmation page); "
            "download it by hand in a browser")
