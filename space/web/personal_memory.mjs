// "That was ..." in the visitor's page: signspace/serve/adaptation.py's `nearest` (PersonalMemory._nearest), step for
// step, for a page with no server to learn on (the static Space). The visitor's clips are kept as the model's
// features (what its last layer reads, from the same ONNX pass as the logits); a window close to one of them
// answers like it, in proportion to how close, and the model's own answer elsewhere. Every number comes from the
// server (live.py's page_settings().personal); the tests teach both the same clips and compare what they type.
// Pure logic: no DOM, no network. Nothing is stored: reloading the page forgets it.

function unit(values) {
  const norm = Math.sqrt(values.reduce((sum, v) => sum + v * v, 0));
  return values.map((v) => v / Math.max(norm, 1e-12));
}

// core/prediction.softmax: the pages' one (sign_reader.mjs reads the model's answers with it too).
export function softmax(logits) {
  const top = Math.max(...logits);
  const exp = Array.from(logits, (v) => Math.exp(v - top));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / sum);
}

export class PersonalMemory {
  // `settings`: {floor, temperature, max_examples} (adaptation.py's NEAREST_FLOOR, NEAREST_TEMPERATURE, MAX_EXAMPLES).
  constructor(settings) {
    this.settings = settings;
    this.features = [];  // unit vectors, the oldest first
    this.labels = [];  // the model's label index of each
  }

  get size() {
    return this.labels.length;
  }

  // One more clip of the visitor's (its features) labelled with index `label`; the oldest goes past max_examples.
  add(features, label) {
    this.features.push(unit(Array.from(features)));
    this.labels.push(label);
    const over = this.labels.length - this.settings.max_examples;
    if (over > 0) {
      this.features.splice(0, over);
      this.labels.splice(0, over);
    }
  }

  // The server's copy of the visitor's clips (SequencePredictor.page_memory: {features, labels}), in place of these:
  // on a Gradio Space the clips are learnt there, and the page reads with them.
  load({ features, labels }) {
    this.features = features.map(unit);
    this.labels = [...labels];
  }

  // The answer for one window (its features and the model's own logits) once the visitor's clips count: logits, as
  // the model's are (their softmax is the mixed probabilities).
  logits(features, logits) {
    if (!this.labels.length) return logits;
    const { floor, temperature } = this.settings;
    const window = unit(Array.from(features));
    const similarity = this.features.map((known) => known.reduce((sum, v, i) => sum + v * window[i], 0));
    const best = Math.max(...similarity);
    const trust = Math.min(1, Math.max(0, (best - floor) / (1 - floor)));
    if (trust === 0) return logits;
    const closest = new Array(logits.length).fill(-Infinity);  // per sign, its closest clip of the visitor's
    this.labels.forEach((label, i) => { closest[label] = Math.max(closest[label], similarity[i]); });
    const seen = closest.filter(Number.isFinite).map((s) => s / temperature);
    const personal = softmax(seen);
    let next = 0;
    const model = softmax(logits);
    return closest.map((s, i) => {
      const mine = Number.isFinite(s) ? personal[next++] : 0;
      return Math.log(Math.max((1 - trust) * model[i] + trust * mine, 1e-12));
    });
  }
}
