// A motion model's live rules, run in the visitor's page (and, in the tests, under Node beside Python): the same
// frames, sign boundaries and typing as signspace/serve/live.py's SequenceSession, so the page types the words the
// server would. Every number comes from the server (live.py's SequenceSession.page_settings), none is written
// here; the tests play recorded landmark streams through both and compare the words and the times they were typed.
// Pure logic: no DOM, no network. `classify(window)` is the caller's (ONNX Runtime Web in the page; page_model.mjs).
import { PersonalMemory, softmax } from "./personal_memory.mjs";

const POSE_VALUES = 33 * 4;
const HAND_VALUES = 21 * 3;
export const FRAME_VALUES = POSE_VALUES + 2 * HAND_VALUES;  // 258: landmarks.py's Holistic layout
const LEFT = POSE_VALUES;
const RIGHT = POSE_VALUES + HAND_VALUES;
const WRIST = 0;
const MIDDLE_MCP = 9;
const f32 = Math.fround;  // live.py measures speeds on float32 values: the same roundings here

// landmarks.frame_from_hands: 258 values from the page's hands (pose slots zero). MediaPipe's handedness picks the
// slot; a second hand of the same handedness takes the free one.
export function frameFromHands(hands) {
  const frame = new Float32Array(FRAME_VALUES);
  const taken = new Set();
  const best = [...hands].sort((a, b) => b.score - a.score).slice(0, 2);  // stable, as Python's sorted
  for (const hand of best) {
    let side = hand.handedness === "Left" || hand.handedness === "Right" ? hand.handedness : "Right";
    if (taken.has(side)) side = side === "Right" ? "Left" : "Right";
    taken.add(side);
    frame.set(hand.points, side === "Left" ? LEFT : RIGHT);
  }
  return frame;
}

// landmarks.hands_present: [left, right]
export function handsPresent(frame) {
  const any = (from) => {
    for (let i = from; i < from + HAND_VALUES; i++) if (frame[i] !== 0) return true;
    return false;
  };
  return [any(LEFT), any(RIGHT)];
}

// live.hand_speed: the fastest wrist among the hands in both frames, in hand sizes per second; null if unmeasurable.
export function handSpeed(previous, current, seconds) {
  if (seconds <= 0) return null;
  const was = handsPresent(previous);
  const is = handsPresent(current);
  const norm = (dx, dy) => f32(Math.sqrt(f32(f32(dx * dx) + f32(dy * dy))));
  let fastest = null;
  for (const [side, slot] of [[0, LEFT], [1, RIGHT]]) {
    if (!(was[side] && is[side])) continue;
    const at = (frame, point, axis) => frame[slot + 3 * point + axis];
    const size = Math.max(1e-3, norm(f32(at(current, MIDDLE_MCP, 0) - at(current, WRIST, 0)),
      f32(at(current, MIDDLE_MCP, 1) - at(current, WRIST, 1))));
    const moved = norm(f32(at(current, WRIST, 0) - at(previous, WRIST, 0)),
      f32(at(current, WRIST, 1) - at(previous, WRIST, 1)));
    const speed = moved / size / seconds;
    fastest = fastest === null ? speed : Math.max(fastest, speed);
  }
  return fastest;
}

// numpy.linspace, step for step (i * step + start, the last point exactly `end`).
function linspace(start, end, count) {
  const step = (end - start) / (count - 1);
  const points = Array.from({ length: count }, (_, i) => i * step + start);
  if (count > 1) points[count - 1] = end;
  return points;
}

// landmarks.resample: `length` frames evenly spaced in time over [start, end], each the nearest recorded frame
// (ties to the earlier one), as one Float32Array of length x 258.
export function resample(frames, times, length, start = times[0], end = times[times.length - 1]) {
  const window = new Float32Array(length * FRAME_VALUES);
  linspace(start, end, length).forEach((wanted, i) => {
    let low = 0;
    let high = times.length;
    while (low < high) {  // numpy.searchsorted, side "left"
      const middle = (low + high) >> 1;
      if (times[middle] < wanted) low = middle + 1; else high = middle;
    }
    const after = Math.min(low, times.length - 1);
    const before = Math.max(0, Math.min(after - 1, times.length - 1));
    const nearest = Math.abs(wanted - times[before]) <= Math.abs(times[after] - wanted) ? before : after;
    window.set(frames[nearest], i * FRAME_VALUES);
  });
  return window;
}

// prediction.Prediction.words: probability per word (a sign and its variant, shown as one word, summed).
export function words(probabilities, labels) {
  const merged = new Map();
  labels.forEach((label, i) => merged.set(label, (merged.get(label) || 0) + probabilities[i]));
  return merged;
}

// Prediction.best: the first word with the highest probability.
export function best(probabilities, labels) {
  let found = [null, 0];
  for (const [label, p] of words(probabilities, labels)) if (found[0] === null || p > found[1]) found = [label, p];
  return found;
}

export function top(probabilities, labels, k = 3) {
  return [...words(probabilities, labels)].sort((a, b) => b[1] - a[1]).slice(0, k);
}

// live.SignSegmenter: when a sign starts and ends, from hand presence and motion.
export class SignSegmenter {
  constructor(rules) {
    this.rules = rules;
    this.start = null;
    this.moved = false;
    this.stillSince = null;
    this.lastHand = null;
  }

  update(now, present, speed) {
    const r = this.rules;
    if (present) {
      this.lastHand = now;
      if (this.start === null) [this.start, this.moved, this.stillSince] = [now, false, null];
      if (speed === null) return null;
      if (speed >= r.moving_speed) this.moved = true;
      if (speed > r.resting_speed) {
        this.stillSince = null;
      } else if (this.moved) {
        if (this.stillSince === null) this.stillSince = now;
        if (now - this.stillSince >= r.rest_seconds) return this.end(this.stillSince, now);
      }
      return null;
    }
    if (this.start !== null && this.lastHand !== null && now - this.lastHand >= r.hand_gone_seconds) {
      return this.end(this.lastHand, null);
    }
    return null;
  }

  end(end, restart) {
    const start = this.start;
    [this.start, this.moved, this.stillSince] = [restart, false, null];
    return end - start >= this.rules.min_sign_seconds ? [start, end] : null;
  }
}

// live.SequenceSession.step_landmarks, in the page: `settings` is live.SequenceSession.page_settings();
// `classify(window)` answers a promise of {logits, features} for one window (Float32Array of sequence_length x 258).
// `learn(word)` is the Live tab's "That was ...", learnt in the page (personal_memory.mjs).
export class SignReader {
  constructor(settings, classify) {
    this.settings = settings;
    this.rules = settings.rules;
    this.classify = classify;
    this.memory = settings.personal ? new PersonalMemory(settings.personal) : null;  // the visitor's own clips
    this.frames = [];  // {t, values}, the newest last: at most rules.max_frames, none older than rules.keep_seconds
    this.smoothed = [];  // the last running guesses' probabilities (live.Smoother)
    this.segmenter = new SignSegmenter(this.rules);
    this.text = "";
    this.lastSign = null;  // {frames, times, stream} of the last sign that ended, typed or not
  }

  // live.SequencePredictor.predict_landmarks: probabilities, or null when no frame holds a hand.
  async predict(frames, times, start, end) {
    if (!frames.some((values) => handsPresent(values).some(Boolean))) return null;
    const window = resample(frames, times, this.settings.sequence_length, start, end);
    const { logits, features } = await this.classify(window);
    return softmax(this.memory?.size ? this.memory.logits(features, logits) : logits);
  }

  // "That was `word`": the sign that just ended teaches this page's copy the visitor's form of `word`
  // (SequencePredictor.adapt with `nearest`, as the Live tab's "Learn my form of it"; the sign is used once). Answers
  // how many of their clips it has learnt from; a mistake throws an Error whose message the page shows.
  async learn(word) {
    const labels = this.settings.labels;
    if (!labels.includes(word)) {
      throw new Error(`"${word}" is not a sign of this model; pick one of ${labels.join(", ")}`);
    }
    if (!this.memory) throw new Error("this page's settings carry no personal adaptation");
    const sign = this.lastSign;
    if (!sign) throw new Error("Sign first: when your sign ends, say here which one it was.");
    if (!sign.frames.some((values) => handsPresent(values).some(Boolean))) {
      throw new Error("that clip has no hand in it, so it cannot teach the model your form");
    }
    const { features } = await this.classify(resample(sign.frames, sign.times, this.settings.sequence_length));
    if (!features) throw new Error("this model's export has no features to learn your form from");
    this.memory.add(features, labels.indexOf(word));
    if (this.lastSign === sign) this.lastSign = null;  // a sign that ended meanwhile stays to be named
    return this.memory.size;
  }

  // One frame: its time (the page's clock, seconds) and hands (the page's message format). Answers
  // {running: [[word, p], ...] | null (no hand) | undefined (no guess asked), committed: word | null, sign}.
  async step(t, hands, threshold, guess = true) {
    const values = frameFromHands(hands);
    const last = this.frames[this.frames.length - 1];
    const speed = last ? handSpeed(last.values, values, t - last.t) : null;
    this.frames.push({ t, values, hands });
    if (this.frames.length > this.rules.max_frames) this.frames.shift();
    let running;
    if (guess) {
      const start = t - this.settings.window_seconds;
      const recent = this.frames.filter((frame) => frame.t >= start);
      const probabilities = await this.predict(recent.map((f) => f.values), recent.map((f) => f.t), start, t);
      running = probabilities && this.smooth(probabilities);
      if (!probabilities) this.smoothed = [];
    }
    let committed = null;
    let sign = null;
    const ended = this.segmenter.update(t, handsPresent(values).some(Boolean), speed);
    const part = ended ? this.frames.filter((frame) => ended[0] <= frame.t && frame.t <= ended[1]) : [];
    if (part.length) {
      const times = part.map((frame) => frame.t);
      // the sign as 258 values per frame, and as the page's message frames (what the server keeps for "That was")
      const stream = part.map(({ t: at, hands: h }) => ({ t: at, hands: h }));
      this.lastSign = { frames: part.map((frame) => frame.values), times, stream };
      const probabilities = await this.predict(this.lastSign.frames, times);
      const [label, confidence] = probabilities ? best(probabilities, this.settings.labels) : [null, 0];
      sign = { start: ended[0], end: ended[1], word: label, confidence };
      if (label !== null && label !== this.rules.background_word && confidence >= threshold) {
        committed = label;
        this.type(label);
      }
    }
    const keepFrom = t - this.rules.keep_seconds;
    while (this.frames.length && this.frames[0].t < keepFrom) this.frames.shift();
    return { running: running && top(running, this.settings.labels), committed, sign };
  }

  smooth(probabilities) {
    this.smoothed.push(probabilities);
    if (this.smoothed.length > this.rules.smoothing) this.smoothed.shift();
    return probabilities.map((_, i) => this.smoothed.reduce((sum, p) => sum + p[i], 0) / this.smoothed.length);
  }

  type(word) {
    this.text = `${this.text} ${word}`.trim().slice(-this.rules.max_text);
  }

  // live.SequenceSession's Space, Backspace (the last word) and Clear.
  edit(action) {
    if (action === "space") this.text = `${this.text} `.slice(-this.rules.max_text);
    else if (action === "backspace") {
      const trimmed = this.text.trim();
      this.text = trimmed.includes(" ") ? this.text.trimEnd().slice(0, this.text.trimEnd().lastIndexOf(" ")) : "";
    } else if (action === "clear") this.text = "";
    else throw new Error(`unknown edit ${action}`);
    return this.text;
  }
}
