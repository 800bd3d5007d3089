// The Live tab's hand tracker, run in the visitor's browser (gr.HTML js_on_load: `element`, `props`, `trigger`
// and `watch` are Gradio's). web/hand_tracking.mjs (the static Space's tracker too) follows the camera's own frames;
// the landmarks are drawn over the mirrored preview here. What goes to the server:
// - a motion model the page can run (props.page_model: web/page_model.mjs loads its ONNX export into ONNX Runtime Web
//   and web/sign_reader.mjs follows live.py's rules): one message per sign, {sign: {word, confidence[, frames]},
//   model_url, memory}; nothing per frame. A visitor's "That was ..." is learnt on the server; the next answer gives
//   the page their clips (answer.personal) and it reads with them too (`memory`: their digest). Where the page cannot
//   (no WebAssembly SIMD, the model too big, the device too slow), it says why and sends the landmarks instead;
// - otherwise the landmarks, a few frames per message; for an image model trained on hand crops, also the square
//   around the hands, cut and resized here to the model's input exactly as the server would.
// The whole frame never leaves the device.
// props: bundle_url, wasm_url, model_url (the tracker's files), tracking_url (hand_tracking.mjs), frame_ms (one frame
// kept per this many milliseconds: the rate the motion models were trained at), mirror (track the mirrored picture
// instead), wants (what the model needs: {send: "landmarks"|"crop", every_ms, side, resize, margin, quality}; every
// answer from the server says it again, so picking another model switches it), page_model (PageModels.describe: the
// model the page may run, or {why} not), keep_signs (a sign's message carries its frames: "That was ..." needs them).
const status = element.querySelector(".ss-status");
const video = element.querySelector("video");
const overlay = element.querySelector("canvas.ss-hands");
const cropView = element.querySelector(".ss-crop");
const cropCanvas = cropView.querySelector("canvas");
const nowView = element.querySelector(".ss-now");
const say = (text) => { status.textContent = text; };
const MAX_FRAMES = 16;  // the server refuses bigger messages
let wants = props.wants;
let threshold = null;  // the page's slider, as the server's answers say it
let reader = null;  // the page reads the signs itself (a SignReader), or null: the server does
let readerModel = null;  // the model_url it runs
let readerMemory = "";  // the digest of the visitor's clips it reads with (learnt on the server: "That was ...")
let readerBusy = false;
let cropOfLast = false;  // the crop canvas holds the newest kept frame's hands
cropCanvas.style.transform = props.mirror ? "none" : "scaleX(-1)";  // shown like the mirrored preview
let buffer = [];
let signs = [];  // signs read here, waiting to be told
let inFlight = false;
let sentAt = 0;
let stopped = false;

function fallback(reason) {
  stopped = true;
  say(`Tracking in your browser is not available (${reason}).`);
  props.value = { fallback: String(reason) };
  trigger("stop");
}

function serverReads(why) {
  if (reader) say(`Tracking in your browser; your signs are read on the server now: ${why}.`);
  reader = null;
  nowView.hidden = true;
  element.dataset.reading = "server";
  element.dataset.readingWhy = why;
}

// The server answers every message with {ack} (or {refused}): one message in flight at a time, so none is lost.
watch("value", () => {
  const answer = props.value || {};
  if ("ack" in answer || "refused" in answer) inFlight = false;
  if (answer.wants) wants = answer.wants;
  if (typeof answer.threshold === "number") threshold = answer.threshold;
  if (answer.page_model && reader && answer.page_model.model_url !== readerModel) {
    serverReads(answer.page_model.why || "you picked another model");
  }
  if (answer.personal && reader) {  // the visitor taught their copy on the server: the page reads with it too
    reader.memory.load(answer.personal);
    readerMemory = answer.personal.digest;
    element.dataset.memory = String(reader.memory.size);
  }
  if (answer.refused) say(`The server refused a message: ${answer.refused}`);
});

function send() {
  if (inFlight && performance.now() - sentAt < 5000) return;
  let message;
  if (signs.length) {
    message = { sign: signs.shift(), model_url: readerModel, memory: readerMemory };
  } else if (buffer.length && !reader) {
    message = { frames: buffer.splice(0, buffer.length).slice(-MAX_FRAMES) };
    if (wants.send === "crop" && cropOfLast) {
      message.crop = cropCanvas.toDataURL("image/jpeg", wants.quality);
      element.dataset.cropBytes = String(Number(element.dataset.cropBytes || 0) + message.crop.length);
    }
  } else {
    return;
  }
  element.dataset.messages = String(Number(element.dataset.messages || 0) + 1);
  props.value = message;
  inFlight = true;
  sentAt = performance.now();
  trigger("submit");
}

function showNow(running) {
  nowView.hidden = false;
  nowView.textContent = running === null ? "no hand found"
    : running.map(([word, p]) => `${word} ${(100 * p).toFixed(0)} %`).join(" · ");
}

// One kept frame through the page's SignReader: a sign that ended is queued for the server (its word, if typed).
async function read(t, hands) {
  readerBusy = true;
  try {
    const started = performance.now();
    const { running, committed, sign } = await reader.step(t, hands, threshold ?? props.threshold);
    element.dataset.readerMs = String(Math.round((performance.now() - started) * 100) / 100);
    if (running !== undefined) showNow(running);
    if (sign && (committed || props.keep_signs)) {
      const told = { word: committed, confidence: Math.round(sign.confidence * 1e4) / 1e4 };
      if (props.keep_signs) told.frames = reader.lastSign.stream;
      signs = [...signs, told].slice(-4);  // the server is slow: the newest few
    }
  } catch (error) {
    serverReads(`reading failed in the page (${error.message || error})`);
  } finally {
    readerBusy = false;
  }
}

(async () => {
  let tracker;
  let drawHands;
  let pictureOf;
  let cutCrop;
  try {
    const tracking = await import(props.tracking_url);
    ({ drawHands, pictureOf, cutCrop } = tracking);
    tracker = await tracking.createHandTracker(props, props.search);
  } catch (error) {
    return fallback(`the tracker's files could not be loaded: ${error.message || error}`);
  }
  const cameraOpened = navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  element.dataset.reading = "server";
  if (props.page_model && props.page_model.module_url && wants.send === "landmarks") {
    try {
      const { openReader } = await import(props.page_model.module_url);
      const opened = await openReader(props.page_model, props.frame_ms);
      reader = opened.reader;
      readerModel = props.page_model.model_url;
      element.dataset.reading = "page";
      element.dataset.windowMs = String(Math.round(opened.windowMs * 100) / 100);
    } catch (error) {
      element.dataset.readingWhy = error.message || String(error);
    }
  } else if (props.page_model && props.page_model.why) {
    element.dataset.readingWhy = props.page_model.why;
  }
  try {
    video.srcObject = await cameraOpened;
    await video.play();
  } catch (error) {
    return fallback(`the webcam could not be opened: ${error.message || error}`);
  }
  const source = document.createElement("canvas");  // the mirrored picture, when the model was trained on one
  if (reader) {
    say(`Tracking and reading your signs in your browser (${element.dataset.windowMs} ms a window): only the `
      + "words you sign are sent to the server.");
  } else if (wants.send === "crop") {
    say("Tracking in your browser: only hand landmarks and the square around your hands are sent to the server.");
  } else {
    const why = element.dataset.readingWhy ? ` Your signs are read on the server: ${element.dataset.readingWhy}.` : "";
    say(`Tracking in your browser: only hand landmarks are sent to the server.${why}`);
  }
  let lastKept = -Infinity;
  let lastSend = 0;
  const step = () => {
    if (stopped) return;
    const now = performance.now();
    const shown = element.offsetParent !== null;  // another tab is open: no tracking, no messages
    if (shown && video.readyState >= 2 && now - lastKept >= props.frame_ms && !readerBusy) {
      lastKept = now;
      const picture = pictureOf(video, props.mirror, source);
      const started = performance.now();
      const hands = tracker.track(picture, now);
      element.dataset.trackerMs = String(Math.round(performance.now() - started));
      element.dataset.frames = String(Number(element.dataset.frames || 0) + 1);
      drawHands(overlay, video, hands, props.mirror);
      cropView.hidden = wants.send !== "crop";
      cropOfLast = wants.send === "crop" && hands.length > 0;
      if (cropOfLast) cutCrop(picture, hands, wants, cropCanvas);
      const t = Math.round(now) / 1000;
      if (reader) {
        read(t, hands);
      } else {
        buffer.push({ t, hands });
        if (buffer.length > MAX_FRAMES) buffer.shift();  // the server is slow: keep the newest
      }
    }
    if (shown && (signs.length || now - lastSend >= wants.every_ms)) {
      lastSend = now;
      send();
    }
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})();
