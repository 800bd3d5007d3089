// The Live tab's hand tracker, run in the visitor's browser (gr.HTML js_on_load: `element`, `props`, `trigger`
// and `watch` are Gradio's). MediaPipe's HandLandmarker (the same hand_landmarker.task as the server's tracker)
// follows the camera's own frames in VIDEO mode; the landmarks are drawn over the mirrored preview here, and only
// they go to the server, a few frames per message; for an image model trained on hand crops, also the square
// around the hands, cut and resized here to the model's input exactly as the server would (signspace/core/hands.py
// crop_box, then transforms.eval_pixels' resize and centre crop). The whole frame never leaves the device.
// props: bundle_url, wasm_url, model_url (where the tracker's files are), frame_ms (one frame kept per this many
// milliseconds: the rate the motion models were trained at), mirror (track the mirrored picture instead),
// wants (what the model needs: {send: "landmarks"|"crop", every_ms, side, resize, margin, quality}; every answer
// from the server says it again, so picking another model switches it).
const status = element.querySelector(".ss-status");
const video = element.querySelector("video");
const overlay = element.querySelector("canvas.ss-hands");
const cropView = element.querySelector(".ss-crop");
const cropCanvas = cropView.querySelector("canvas");
const say = (text) => { status.textContent = text; };
const MAX_FRAMES = 16;  // the server refuses bigger messages
let wants = props.wants;
// hands.py's tracker settings (confidence, the small-hand search): the page finds hands as the server does.
const search = props.search;
let landmarker = null;  // VIDEO mode: the camera's stream
let stills = null;  // IMAGE mode: tiles and the window that follows a small hand
let cropOfLast = false;  // the crop canvas holds the newest kept frame's hands
cropCanvas.style.transform = props.mirror ? "none" : "scaleX(-1)";  // shown like the mirrored preview
let buffer = [];
let inFlight = false;
let sentAt = 0;
let stopped = false;

function fallback(reason) {
  stopped = true;
  say(`Tracking in your browser is not available (${reason}).`);
  props.value = { fallback: String(reason) };
  trigger("stop");
}

// The server answers every message with {ack} (or {refused}): one message in flight at a time, so none is lost.
watch("value", () => {
  const answer = props.value || {};
  if ("ack" in answer || "refused" in answer) inFlight = false;
  if (answer.wants) wants = answer.wants;
  if (answer.refused) say(`The server refused a message: ${answer.refused}`);
});

function send() {
  if (!buffer.length || (inFlight && performance.now() - sentAt < 5000)) return;
  const frames = buffer.splice(0, buffer.length).slice(-MAX_FRAMES);
  const message = { frames };
  if (wants.send === "crop" && cropOfLast) {
    message.crop = cropCanvas.toDataURL("image/jpeg", wants.quality);
    element.dataset.cropBytes = String(Number(element.dataset.cropBytes || 0) + message.crop.length);
  }
  props.value = message;
  inFlight = true;
  sentAt = performance.now();
  trigger("submit");
}

// hands.HandTracker's options: two hands, the server's confidence.
const trackerOptions = (modelAssetPath, runningMode) => ({
  baseOptions: { modelAssetPath, delegate: "CPU" },
  numHands: 2,
  runningMode,
  minHandDetectionConfidence: search.confidence,
  minHandPresenceConfidence: search.confidence,
  minTrackingConfidence: search.confidence,
});

// MediaPipe's result as the server's message format; `box` (x0, y0, x1, y1 of a frame width x height): the
// landmarks were found in that part of the frame and go back to whole-frame fractions (hands.py _run).
function handsOf(result, box = null, width = 1, height = 1) {
  const sides = result.handedness || result.handednesses || [];
  const [x0, y0, x1, y1] = box || [0, 0, width, height];
  const toFrame = (p) => [(p.x * (x1 - x0) + x0) / width, (p.y * (y1 - y0) + y0) / height,
    (p.z * (x1 - x0)) / width];
  return (result.landmarks || []).slice(0, 2).map((points, i) => ({
    handedness: sides[i] && sides[i][0] ? sides[i][0].categoryName : "Right",
    score: sides[i] && sides[i][0] ? Math.round(sides[i][0].score * 1000) / 1000 : 0,
    points: points.flatMap((p) => toFrame(p).map((v) => Math.round(v * 10000) / 10000)),
  }));
}

// Python's round(): halves to even, so the box lands on the same pixel as the server's.
const roundHalfEven = (v) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

// hands.hands_box: the tight box around every landmark of every hand, in pixels.
function handsBox(hands, width, height) {
  let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
  for (const hand of hands) {
    for (let i = 0; i < 21; i++) {
      const x = hand.points[3 * i] * width;
      const y = hand.points[3 * i + 1] * height;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  return [x0, y0, x1, y1];
}

// hands.square_around: a square `scale` times the box's longer side, centred on it, shifted (not cut) to stay in
// the frame, clipped to it when larger. [x0, y0, x1, y1] in pixels, x1/y1 exclusive.
function squareAround([x0, y0, x1, y1], scale, width, height, minSide = 1) {
  const side = Math.max(minSide, Math.max(x1 - x0, y1 - y0) * scale);
  const cx = (x0 + x1) / 2; const cy = (y0 + y1) / 2;
  const sideW = Math.min(roundHalfEven(side), width); const sideH = Math.min(roundHalfEven(side), height);
  const left = Math.min(Math.max(roundHalfEven(cx - side / 2), 0), width - sideW);
  const top = Math.min(Math.max(roundHalfEven(cy - side / 2), 0), height - sideH);
  return [left, top, left + Math.max(1, sideW), top + Math.max(1, sideH)];
}

// hands.crop_box: the square around the hands plus `margin` of their extent on every side.
const cropBox = (hands, width, height, margin) => squareAround(handsBox(hands, width, height), 1 + 2 * margin,
  width, height, 8);

// hands.tiles: overlapping squares at each scale, larger first, each scale nearest the likely hand spot first.
function tiles(width, height) {
  const starts = (length, side, step) => {
    const count = length > side ? Math.max(1, Math.ceil((length - side) / step) + 1) : 1;
    const at = (i) => (count > 1 ? roundHalfEven((i * (length - side)) / (count - 1)) : 0);
    return Array.from({ length: count }, (_, i) => at(i));
  };
  const found = [];
  for (const scale of search.scales) {
    const side = roundHalfEven(scale * Math.min(width, height));
    if (side < search.min_side) continue;
    const step = side * (1 - search.overlap);
    const level = [];
    for (const y of starts(height, side, step)) {
      for (const x of starts(width, side, step)) level.push([x, y, x + side, y + side]);
    }
    const away = (b) => ((b[0] + b[2]) / 2 / width - search.likely[0]) ** 2
      + ((b[1] + b[3]) / 2 / height - search.likely[1]) ** 2;  // as hands.tiles: the same ties
    level.sort((a, b) => away(a) - away(b));
    found.push(...level);
  }
  return found;
}

// hands.HandTracker.track, in the page: follow a known small hand in a window around it; else MediaPipe's own
// VIDEO-mode tracking of the whole frame; else search `per_frame` more tiles (round robin) with the IMAGE-mode
// tracker `stills`. Small hands (a signer at arm's length) are found as the server finds them.
const tileCanvas = document.createElement("canvas");
let follow = null;
let nextTile = 0;

function inBox(picture, box, width, height) {
  const [x0, y0, x1, y1] = box;
  tileCanvas.width = x1 - x0;
  tileCanvas.height = y1 - y0;
  tileCanvas.getContext("2d").drawImage(picture, x0, y0, x1 - x0, y1 - y0, 0, 0, x1 - x0, y1 - y0);
  return handsOf(stills.detect(tileCanvas), box, width, height);
}

function trackFrame(picture, now) {
  const width = picture.videoWidth || picture.width;
  const height = picture.videoHeight || picture.height;
  const windowAround = (hands) => squareAround(handsBox(hands, width, height), search.follow, width, height,
    0.25 * Math.min(width, height));
  if (follow) {
    const hands = inBox(picture, follow, width, height);
    if (hands.length) {
      follow = windowAround(hands);
      return hands;
    }
    follow = null;
  }
  const hands = handsOf(landmarker.detectForVideo(picture, now), null, width, height);
  if (hands.length || !search.scales.length) return hands;
  const candidates = tiles(width, height);
  for (let i = 0; i < Math.min(search.per_frame, candidates.length); i++) {
    const found = inBox(picture, candidates[nextTile % candidates.length], width, height);
    if (found.length) {  // stay on this tile: if the window loses the hand, the search resumes here
      follow = windowAround(found);
      return found;
    }
    nextTile += 1;
  }
  return [];
}

// transforms.eval_pixels on that box: the shorter side resized to `resize`, the centre `side` square kept; drawn
// straight from the frame into a side x side canvas.
function cutCrop(picture, hands) {
  const [left, top, right, bottom] = cropBox(hands, picture.videoWidth || picture.width,
    picture.videoHeight || picture.height, wants.margin);
  const w = right - left; const h = bottom - top;
  const scaledW = w <= h ? wants.resize : Math.floor((wants.resize * w) / h);
  const scaledH = h <= w ? wants.resize : Math.floor((wants.resize * h) / w);
  const sx = scaledW / w; const sy = scaledH / h;
  const offX = roundHalfEven((scaledW - wants.side) / 2); const offY = roundHalfEven((scaledH - wants.side) / 2);
  cropCanvas.width = wants.side;
  cropCanvas.height = wants.side;
  const context = cropCanvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(picture, left + offX / sx, top + offY / sy, wants.side / sx, wants.side / sy,
    0, 0, wants.side, wants.side);
}

const BONES = [[0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [5, 9], [9, 10], [10, 11], [11, 12],
  [9, 13], [13, 14], [14, 15], [15, 16], [13, 17], [0, 17], [17, 18], [18, 19], [19, 20]];

function draw(hands) {
  const context = overlay.getContext("2d");
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  context.clearRect(0, 0, overlay.width, overlay.height);
  context.lineWidth = 3;
  for (const hand of hands) {
    const at = (i) => [(props.mirror ? 1 - hand.points[3 * i] : hand.points[3 * i]) * overlay.width,
      hand.points[3 * i + 1] * overlay.height];
    context.strokeStyle = "rgb(0, 220, 120)";
    for (const [a, b] of BONES) {
      context.beginPath();
      context.moveTo(...at(a));
      context.lineTo(...at(b));
      context.stroke();
    }
  }
}

(async () => {
  try {
    const { FilesetResolver, HandLandmarker } = await import(props.bundle_url);
    const fileset = await FilesetResolver.forVisionTasks(props.wasm_url);
    landmarker = await HandLandmarker.createFromOptions(fileset, trackerOptions(props.model_url, "VIDEO"));
    stills = await HandLandmarker.createFromOptions(fileset, trackerOptions(props.model_url, "IMAGE"));
  } catch (error) {
    return fallback(`the tracker's files could not be loaded: ${error.message || error}`);
  }
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    await video.play();
  } catch (error) {
    return fallback(`the webcam could not be opened: ${error.message || error}`);
  }
  const source = document.createElement("canvas");  // the mirrored picture, when the model was trained on one
  say(wants.send === "crop"
    ? "Tracking in your browser: only hand landmarks and the square around your hands are sent to the server."
    : "Tracking in your browser: only hand landmarks are sent to the server.");
  let lastKept = -Infinity;
  let lastSend = 0;
  const step = () => {
    if (stopped) return;
    const now = performance.now();
    const shown = element.offsetParent !== null;  // another tab is open: no tracking, no messages
    if (shown && video.readyState >= 2 && now - lastKept >= props.frame_ms) {
      lastKept = now;
      let picture = video;
      if (props.mirror) {
        source.width = video.videoWidth;
        source.height = video.videoHeight;
        const context = source.getContext("2d");
        context.setTransform(-1, 0, 0, 1, source.width, 0);
        context.drawImage(video, 0, 0);
        picture = source;
      }
      const started = performance.now();
      const hands = trackFrame(picture, now);
      element.dataset.trackerMs = String(Math.round(performance.now() - started));
      element.dataset.frames = String(Number(element.dataset.frames || 0) + 1);
      draw(hands);
      cropView.hidden = wants.send !== "crop";
      cropOfLast = wants.send === "crop" && hands.length > 0;
      if (cropOfLast) cutCrop(picture, hands);
      buffer.push({ t: Math.round(now) / 1000, hands });
      if (buffer.length > MAX_FRAMES) buffer.shift();  // the server is slow: keep the newest
    }
    if (shown && now - lastSend >= wants.every_ms) {
      lastSend = now;
      send();
    }
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})();
