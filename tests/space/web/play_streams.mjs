// Plays landmark streams through the page's own modules under Node: node play_streams.mjs <input.json> <repo root>.
// input: {onnx (a path), settings (SequenceSession.page_settings), threshold, streams: [[{t, hands} | {learn}, ...]],
// memory (optional: SequencePredictor.page_memory, loaded before each stream)};
// {learn: word} is the visitor's "That was word" for the sign that last ended (none: nothing learnt).
// Prints, per stream, {typed: [{word, t}], signs: [{times: [first, last], word, confidence}], text, learnt, window_ms}.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [input, root] = process.argv.slice(2);
const job = JSON.parse(readFileSync(input, "utf8"));
const from = (path) => import(pathToFileURL(`${root}/${path}`).href);
const ort = await from("node_modules/onnxruntime-web/dist/ort.wasm.min.mjs");
const { SignReader } = await from("space/web/sign_reader.mjs");
const { loadClassifier, windowMilliseconds } = await from("space/web/page_model.mjs");

const length = job.settings.sequence_length;
const classify = await loadClassifier(ort, new Uint8Array(readFileSync(job.onnx)), length);
const windowMs = await windowMilliseconds(classify, length);
const results = [];
for (const stream of job.streams) {
  const reader = new SignReader(job.settings, classify);
  if (job.memory) reader.memory.load(job.memory);  // the server's copy of the visitor's clips (page_memory)
  const typed = [];
  const signs = [];
  let learnt = 0;
  for (const frame of stream) {
    if (frame.learn) {
      if (reader.lastSign) learnt = await reader.learn(frame.learn);  // no sign ended: the page says "Sign first"
      continue;
    }
    const { committed, sign } = await reader.step(frame.t, frame.hands, job.threshold, job.guess ?? true);
    if (committed) typed.push({ word: committed, t: frame.t });
    if (sign) {
      const times = reader.lastSign.times;
      signs.push({ times: [times[0], times[times.length - 1]], word: sign.word, confidence: sign.confidence });
    }
  }
  results.push({ typed, signs, text: reader.text, learnt });
}
process.stdout.write(JSON.stringify({ results, window_ms: windowMs }));
