// The hand tracker in the visitor's page, shared by the Gradio Space's Live tab (browser_tracker.js) and the static
// Space (static_page.mjs): MediaPipe's HandLandmarker (the same hand_landmarker.task as the server's tracker) on the
// camera's own frames, finding hands as signspace/core/hands.py finds them: its geometry (tiles for small hands, the
// crop square) is re-implemented here and tested against Python's. Hands come out in the server's message format
// (signspace/serve/browser.py): {handedness, score, points: 21 x (x, y, z) as fractions of the frame}.

// Python's round(): halves to even, so a box lands on the same pixel as the server's.
export const roundHalfEven = (v) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

// hands.hands_box: the tight box around every landmark of every hand, in pixels.
export function handsBox(hands, width, height) {
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
export function squareAround([x0, y0, x1, y1], scale, width, height, minSide = 1) {
  const side = Math.max(minSide, Math.max(x1 - x0, y1 - y0) * scale);
  const cx = (x0 + x1) / 2; const cy = (y0 + y1) / 2;
  const sideW = Math.min(roundHalfEven(side), width); const sideH = Math.min(roundHalfEven(side), height);
  const left = Math.min(Math.max(roundHalfEven(cx - side / 2), 0), width - sideW);
  const top = Math.min(Math.max(roundHalfEven(cy - side / 2), 0), height - sideH);
  return [left, top, left + Math.max(1, sideW), top + Math.max(1, sideH)];
}

// hands.crop_box: the square around the hands plus `margin` of their extent on every side.
export const cropBox = (hands, width, height, margin) => squareAround(handsBox(hands, width, height), 1 + 2 * margin,
  width, height, 8);

// hands.tiles: overlapping squares at each scale, larger first, each scale nearest the likely hand spot first.
// `search`: hands.search_settings().
export function tiles(width, height, search) {
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

// MediaPipe's result as the server's message format; `box` (x0, y0, x1, y1 of a frame width x height): the
// landmarks were found in that part of the frame and go back to whole-frame fractions (hands.py _run).
export function handsOf(result, box = null, width = 1, height = 1) {
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

// hands.HandTracker's options: two hands, the server's confidence.
const trackerOptions = (modelAssetPath, runningMode, search) => ({
  baseOptions: { modelAssetPath, delegate: "CPU" },
  numHands: 2,
  runningMode,
  minHandDetectionConfidence: search.confidence,
  minHandPresenceConfidence: search.confidence,
  minTrackingConfidence: search.confidence,
});

// hands.HandTracker.track, in the page: follow a known small hand in a window around it; else MediaPipe's own
// VIDEO-mode tracking of the whole frame; else search `per_frame` more tiles (round robin) with an IMAGE-mode
// tracker. Small hands (a signer at arm's length) are found as the server finds them. `urls`: {bundle_url, wasm_url,
// model_url}: the tasks-vision bundle, its wasm folder and the hand model.
export async function createHandTracker(urls, search) {
  const { FilesetResolver, HandLandmarker } = await import(urls.bundle_url);
  const fileset = await FilesetResolver.forVisionTasks(urls.wasm_url);
  const video = await HandLandmarker.createFromOptions(fileset, trackerOptions(urls.model_url, "VIDEO", search));
  const stills = await HandLandmarker.createFromOptions(fileset, trackerOptions(urls.model_url, "IMAGE", search));
  const tileCanvas = document.createElement("canvas");
  let follow = null;
  let nextTile = 0;

  const inBox = (picture, box, width, height) => {
    const [x0, y0, x1, y1] = box;
    tileCanvas.width = x1 - x0;
    tileCanvas.height = y1 - y0;
    tileCanvas.getContext("2d").drawImage(picture, x0, y0, x1 - x0, y1 - y0, 0, 0, x1 - x0, y1 - y0);
    return handsOf(stills.detect(tileCanvas), box, width, height);
  };

  const track = (picture, now) => {
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
    const hands = handsOf(video.detectForVideo(picture, now), null, width, height);
    if (hands.length || !search.scales.length) return hands;
    const candidates = tiles(width, height, search);
    for (let i = 0; i < Math.min(search.per_frame, candidates.length); i++) {
      const found = inBox(picture, candidates[nextTile % candidates.length], width, height);
      if (found.length) {  // stay on this tile: if the window loses the hand, the search resumes here
        follow = windowAround(found);
        return found;
      }
      nextTile += 1;
    }
    return [];
  };
  return { track };
}

// The camera's picture to track: the frame itself, or (`mirror`: the model was trained on mirrored pictures) drawn
// mirrored into `canvas`.
export function pictureOf(video, mirror, canvas) {
  if (!mirror) return video;
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const context = canvas.getContext("2d");
  context.setTransform(-1, 0, 0, 1, canvas.width, 0);
  context.drawImage(video, 0, 0);
  return canvas;
}

// transforms.eval_pixels on the hands' crop box: the shorter side resized to `wants.resize`, the centre
// `wants.side` square kept; drawn straight from the frame into a side x side canvas.
export function cutCrop(picture, hands, wants, canvas) {
  const [left, top, right, bottom] = cropBox(hands, picture.videoWidth || picture.width,
    picture.videoHeight || picture.height, wants.margin);
  const w = right - left; const h = bottom - top;
  const scaledW = w <= h ? wants.resize : Math.floor((wants.resize * w) / h);
  const scaledH = h <= w ? wants.resize : Math.floor((wants.resize * h) / w);
  const sx = scaledW / w; const sy = scaledH / h;
  const offX = roundHalfEven((scaledW - wants.side) / 2); const offY = roundHalfEven((scaledH - wants.side) / 2);
  canvas.width = wants.side;
  canvas.height = wants.side;
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.drawImage(picture, left + offX / sx, top + offY / sy, wants.side / sx, wants.side / sy,
    0, 0, wants.side, wants.side);
}

const BONES = [[0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [5, 9], [9, 10], [10, 11], [11, 12],
  [9, 13], [13, 14], [14, 15], [15, 16], [13, 17], [0, 17], [17, 18], [18, 19], [19, 20]];

// The hands drawn over the (mirrored) preview; `mirror`: the landmarks are of the mirrored picture.
export function drawHands(overlay, video, hands, mirror) {
  const context = overlay.getContext("2d");
  overlay.width = video.videoWidth;
  overlay.height = video.videoHeight;
  context.clearRect(0, 0, overlay.width, overlay.height);
  context.lineWidth = 3;
  for (const hand of hands) {
    const at = (i) => [(mirror ? 1 - hand.points[3 * i] : hand.points[3 * i]) * overlay.width,
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
