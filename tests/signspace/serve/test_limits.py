import asyncio

from signspace.serve.limits import MAX_TRACKED_CLIENTS, UploadBudget


async def _echo(scope, receive, send):
    """A stand-in for Gradio: reads the whole body, answers 200."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _post(middleware, size: int, path="/gradio_api/upload", client="10.0.0.1", forwarded=None) -> tuple[int, bytes]:
    chunks = [b"x" * 100_000] * (size // 100_000)
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "method": "POST", "path": path, "client": (client, 1234), "headers": headers}
    sent = []

    async def receive():
        body = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_one_address_may_upload_its_budget_per_window_and_is_told_when_it_is_spent():
    now = [0.0]
    budget = UploadBudget(_echo, max_bytes=1_000_000, window_seconds=3600, clock=lambda: now[0])
    assert _post(budget, 600_000)[0] == 200
    status, body = _post(budget, 600_000)  # past the budget half-way through: cut off there
    assert status == 413 and b"at most 1 MB of uploads per visitor per hour" in body
    assert _post(budget, 100_000)[0] == 413  # nothing left
    assert _post(budget, 600_000, client="10.0.0.2")[0] == 200  # another visitor has their own budget
    assert _post(budget, 600_000, path="/gradio_api/queue/join")[0] == 200  # other routes are not counted
    now[0] = 3601.0
    assert _post(budget, 600_000)[0] == 200  # the window moved on (Gradio's cache cleanup has run)


def test_behind_a_proxy_the_address_is_its_last_hop_not_what_the_client_claims():
    budget = UploadBudget(_echo, max_bytes=500_000, clock=lambda: 0.0, behind_proxy=True)
    assert _post(budget, 400_000, forwarded="1.1.1.1, 203.0.113.9")[0] == 200
    assert _post(budget, 400_000, forwarded="2.2.2.2, 203.0.113.9")[0] == 413  # a forged first hop changes nothing


def test_without_a_proxy_a_forwarded_header_is_ignored_so_it_buys_no_fresh_budget():
    budget = UploadBudget(_echo, max_bytes=500_000, clock=lambda: 0.0)
    assert _post(budget, 400_000, forwarded="198.51.100.1")[0] == 200
    status, body = _post(budget, 400_000, forwarded="198.51.100.2")  # a new claimed address, the same peer
    assert status == 413 and b"upload limit reached" in body
    assert list(budget.spent) == ["10.0.0.1"]


def test_addresses_that_stopped_uploading_are_forgotten():
    now = [0.0]
    budget = UploadBudget(_echo, max_bytes=1_000_000, window_seconds=60, clock=lambda: now[0])
    for n in range(MAX_TRACKED_CLIENTS + 1):
        _post(budget, 100_000, client=f"10.0.{n // 256}.{n % 256}")
    now[0] = 61.0
    _post(budget, 100_000, client="192.0.2.1")
    assert list(budget.spent) == ["192.0.2.1"]


def _call(middleware, body: bytes):
    scope = {"type": "http", "method": "POST", "path": "/gradio_api/queue/join", "headers": []}
    sent, chunks = [], [body]

    async def receive():
        return {"type": "http.request", "body": chunks.pop(0) if chunks else b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent


async def _lookup(scope, receive, send):
    """A stand-in for Gradio: reads the body, then fails its event lookup with KeyError."""
    await receive()
    raise KeyError(999)


def test_an_unknown_event_is_a_404_but_a_real_bug_keeps_its_traceback():
    import json

    import pytest

    from signspace.serve.limits import UnknownEvent

    guard = UnknownEvent(_lookup, known=lambda: {0, 1})
    sent = _call(guard, json.dumps({"fn_index": 999}).encode())
    assert sent[0]["status"] == 404 and b"there is no event 999 on this page" in sent[1]["body"]
    with pytest.raises(KeyError):  # the event exists: the KeyError is a bug of ours, not the caller's mistake
        _call(guard, json.dumps({"fn_index": 1}).encode())
    with pytest.raises(KeyError):  # no readable fn_index: nothing to say about it
        _call(guard, b"not json")


def test_a_photo_upload_is_refused_by_size_then_from_its_header(tmp_path):
    import io

    import pytest
    from factories import bomb_png_bytes, jpeg_bytes, pattern_image

    from signspace.core.imaging import ImageDecodeError, ImageTooLarge
    from signspace.serve.limits import check_photo_upload

    small = jpeg_bytes(pattern_image(0, (32, 24)))
    check_photo_upload(io.BytesIO(small), len(small), max_bytes=10_000)  # fits: nothing raised
    with pytest.raises(ImageTooLarge, match=r"^photo: 0\.0 MB, over the 0\.0001 MB limit; send a smaller photo$"):
        check_photo_upload(io.BytesIO(small), len(small), max_bytes=100)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png_bytes(9400, 9400))  # 23 KB on disk, ~1 GB decoded
    with pytest.raises(ImageTooLarge, match=r"^photo: 9400 x 9400 pixels, over 40 megapixels"):
        check_photo_upload(bomb, bomb.stat().st_size, max_bytes=10_000_000)
    with pytest.raises(ImageDecodeError, match=r"^photo: not an image Pillow can read$"):
        check_photo_upload(io.BytesIO(b"not an image"), 12, max_bytes=10_000)
