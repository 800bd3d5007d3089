"""web/page_model.mjs: where the page cannot read the signs itself it says why (no WebAssembly SIMD, a model too big,
a device too slow for the camera's frames) and the server reads them; where it can, it runs the server's export."""

import functools
import http.server
import json
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from factories import SHIPPED_HAND_MODEL, make_sequence_model
from hub_server import free_port

from signspace.serve.inference import Predictor

ROOT = Path(__file__).resolve().parents[3]
NODE = shutil.which("node")
ORT_DIST = ROOT / "node_modules" / "onnxruntime-web" / "dist"
pytestmark = pytest.mark.skipif(
    NODE is None or not ORT_DIST.is_dir(), reason="Node.js or node_modules/onnxruntime-web missing (run `npm ci`)"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The model's export behind a plain file server, as a page fetches it (ONNX Runtime Web from node_modules: Node
    imports modules from files only)."""
    folder = tmp_path_factory.mktemp("site")
    make_sequence_model(folder / "model")
    predictor = Predictor.from_pretrained(str(folder / "model"), hand_model=str(SHIPPED_HAND_MODEL))
    (folder / "model.onnx").write_bytes(predictor.page_model())
    session = predictor.new_live_session()
    settings = session.page_settings()
    predictor.close()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), functools.partial(Quiet, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    ort = (ORT_DIST / "ort.wasm.min.mjs").as_uri()
    yield {"ort_url": ort, "model_url": f"{base}/model.onnx", "settings": settings}
    server.shutdown()


def open_reader(model: dict, frame_ms: float, before: str = "") -> str:
    """What openReader answers under Node: "ok <ms>" or the reason it gives."""
    module = (ROOT / "space" / "web" / "page_model.mjs").as_uri()
    code = (
        f"import {{ openReader }} from {json.dumps(module)};\n{before}\n"
        "try { const { windowMs } = await openReader(JSON.parse(process.argv[1]), Number(process.argv[2]));"
        " console.log(`ok ${windowMs}`); } catch (error) { console.log(error.message); }"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", code, json.dumps(model), str(frame_ms)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_page_that_can_reads_the_signs_itself(site):
    answer = open_reader({**site, "max_bytes": 8 * 2**20}, frame_ms=80)
    assert answer.startswith("ok ") and 0 < float(answer.split()[1]) < 80


def test_without_webassembly_simd_the_page_says_so(site):
    answer = open_reader({**site, "max_bytes": 8 * 2**20}, 80, before="WebAssembly.validate = () => false;")
    assert answer == "this browser's WebAssembly has no SIMD"


def test_a_model_over_the_pages_limit_is_not_loaded(site):
    answer = open_reader({**site, "max_bytes": 1000}, frame_ms=80)
    assert answer.startswith("the model is ") and answer.endswith(" MB, over the 0 MB a page loads"), answer


def test_a_device_slower_than_the_camera_is_told_so(site):
    answer = open_reader({**site, "max_bytes": 8 * 2**20}, frame_ms=0.0001)
    assert answer.startswith("this device takes ") and answer.endswith("more than the 0.0001 ms between camera frames")


def test_an_unreachable_onnx_runtime_is_named(site):
    answer = open_reader({**site, "ort_url": site["ort_url"].replace("ort.wasm", "missing"), "max_bytes": 2**23}, 80)
    assert answer.startswith("ONNX Runtime Web could not be loaded (")
