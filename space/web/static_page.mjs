// The static Space (space/deploy.py --static): the whole live loop in the page, with nothing but files served.
// The hand tracker (hand_tracking.mjs), the model in ONNX Runtime Web and the live rules (page_model.mjs,
// sign_reader.mjs) are the Gradio Space's own; signspace.json (written by deploy.py) says where each file is and
// every setting, from the server's code. `window.signspace` holds what the tests and the bench read.
import { createHandTracker, drawHands, pictureOf } from "./hand_tracking.mjs";
import { openReader } from "./page_model.mjs";

const $ = (selector) => document.querySelector(selector);
const say = (text) => { $("#status").textContent = text; };
const record = new URLSearchParams(location.search).has("record");  // the tests replay the stream through Python
const seen = {
  frames: 0, typed: [], trackerMs: [], readerMs: [], stream: record ? [] : null, firstAnswerMs: null, learnt: 0,
};
window.signspace = seen;

function showNow(running) {
  const list = $("#now");
  list.replaceChildren();
  const rows = running === null ? [["no hand found", null]] : running;
  for (const [word, p] of rows) {
    const item = document.createElement("li");
    item.textContent = p === null ? word : `${word} ${(100 * p).toFixed(0)} % `;
    if (p !== null) {
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.round(120 * p)}px`;
      item.append(bar);
    }
    list.append(item);
  }
}

async function main() {
  const config = await (await fetch("signspace.json")).json();
  $("#model").textContent = `Model: ${config.model_id}${config.revision ? ` @ ${config.revision}` : ""} · signs: `
    + config.model.settings.labels.filter((w) => w !== config.model.settings.rules.background_word).join(", ");
  const slider = $("#threshold");
  slider.value = config.threshold;
  const showThreshold = () => { $("#threshold-value").textContent = Number(slider.value).toFixed(2); };
  slider.addEventListener("input", showThreshold);
  showThreshold();
  const video = $("video");
  const camera = navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  let tracker;
  let reader;
  try {
    tracker = await createHandTracker(config.tracker, config.search);
  } catch (error) {
    return say(`The hand tracker could not be loaded: ${error.message || error}.`);
  }
  try {
    ({ reader, windowMs: seen.windowMs } = await openReader(config.model, config.frame_ms));
  } catch (error) {
    return say(`This browser cannot run the model here: ${error.message || error}. The same model on a Gradio `
      + "Space classifies on its server instead.");
  }
  try {
    video.srcObject = await camera;
    await video.play();
  } catch (error) {
    return say(`The webcam could not be opened: ${error.message || error}.`);
  }
  const cameraAt = performance.now();
  say(`Everything runs in your browser: ${seen.windowMs.toFixed(1)} ms to read a window on this device.`);
  for (const button of document.querySelectorAll("[data-edit]")) {
    button.addEventListener("click", () => { $("#text").value = reader.edit(button.dataset.edit); });
  }
  // "That was ...": the sign that just ended teaches this page's copy the visitor's form (personal_memory.mjs)
  for (const word of new Set(config.model.settings.labels)) $("#that-was").append(new Option(word, word));
  $("#learn").addEventListener("click", async () => {
    const word = $("#that-was").value;
    const note = (text) => { $("#learn-note").textContent = text; };
    if (!word) return note("Pick which sign it was first.");
    try {
      seen.learnt = await reader.learn(word);
      note(`Learnt: that was ${word} (${seen.learnt} of your clips so far). Only for you, in this page: reloading it `
        + "forgets them.");
    } catch (error) {
      note(error.message || String(error));
    }
  });
  const source = document.createElement("canvas");
  const overlay = $("#hands");
  let lastKept = -Infinity;
  let busy = false;
  const step = async () => {
    const now = performance.now();
    if (!busy && video.readyState >= 2 && now - lastKept >= config.frame_ms) {
      busy = true;
      lastKept = now;
      const started = performance.now();
      const hands = tracker.track(pictureOf(video, config.mirror, source), now);
      const tracked = performance.now();
      drawHands(overlay, video, hands, config.mirror);
      const t = Math.round(now) / 1000;  // the page's message clock (browser_tracker.js)
      const { running, committed } = await reader.step(t, hands, Number(slider.value));
      for (const [times, took] of [[seen.trackerMs, tracked - started], [seen.readerMs, performance.now() - tracked]]) {
        times.push(took);
        if (times.length > 1000) times.shift();  // the newest: a page open for hours holds no more
      }
      seen.frames += 1;
      if (seen.stream) seen.stream.push({ t, hands });
      showNow(running);
      if (seen.firstAnswerMs === null) seen.firstAnswerMs = performance.now() - cameraAt;
      if (committed) {
        seen.typed.push({ word: committed, t });
        $("#text").value = reader.text;
      }
      busy = false;
    }
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
}

main().catch((error) => say(`Something went wrong: ${error.message || error}`));
