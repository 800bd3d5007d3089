// The Live tab's hand tracker, run in the visitor's browser (gr.HTML js_on_load: `element`, `props`, `trigger`
// and `watch` are Gradio's). MediaPipe's HandLandmarker (the same hand_landmarker.task as the server's tracker)
// follows the camera's own frames in VIDEO mode; the landmarks are drawn over the mirrored preview here, and only
// they go to the server, a few frames per message: no picture of the visitor leaves the device.
// props: bundle_url, wasm_url, model_url (where the tracker's files are), frame_ms (one frame kept per this many
// milliseconds: the rate the motion models were trained at), mirror (track the mirrored picture instead).
const status = element.querySelector(".ss-status");
const video = element.querySelector("video");
const overlay = element.querySelector("canvas");
const say = (text) => { status.textContent = text; };
const MAX_FRAMES = 16;  // the server refuses bigger messages
const SEND_MS = 320;
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
  if (answer.refused) say(`The server refused a message: ${answer.refused}`);
});

function send() {
  if (!buffer.length || (inFlight && performance.now() - sentAt < 5000)) return;
  const frames = buffer.splice(0, buffer.length).slice(-MAX_FRAMES);
  props.value = { frames };
  inFlight = true;
  sentAt = performance.now();
  trigger("submit");
}

function handsOf(result) {
  const sides = result.handedness || result.handednesses || [];
  return (result.landmarks || []).slice(0, 2).map((points, i) => ({
    handedness: sides[i] && sides[i][0] ? sides[i][0].categoryName : "Right",
    score: sides[i] && sides[i][0] ? Math.round(sides[i][0].score * 1000) / 1000 : 0,
    points: points.flatMap((p) => [p.x, p.y, p.z].map((v) => Math.round(v * 10000) / 10000)),
  }));
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
  let landmarker;
  try {
    const { FilesetResolver, HandLandmarker } = await import(props.bundle_url);
    const fileset = await FilesetResolver.forVisionTasks(props.wasm_url);
    landmarker = await HandLandmarker.createFromOptions(fileset, {
      baseOptions: { modelAssetPath: props.model_url, delegate: "CPU" },
      numHands: 2,
      runningMode: "VIDEO",
    });
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
  say("Tracking in your browser: only hand landmarks are sent to the server.");
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
      const hands = handsOf(landmarker.detectForVideo(picture, now));
      element.dataset.trackerMs = String(Math.round(performance.now() - started));
      element.dataset.frames = String(Number(element.dataset.frames || 0) + 1);
      draw(hands);
      buffer.push({ t: Math.round(now) / 1000, hands });
      if (buffer.length > MAX_FRAMES) buffer.shift();  // the server is slow: keep the newest
    }
    if (shown && now - lastSend >= SEND_MS) {
      lastSend = now;
      send();
    }
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})();
