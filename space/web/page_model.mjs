// A motion model run in the visitor's page: ONNX Runtime Web (npm onnxruntime-web, MIT) in WebAssembly on the ONNX
// export the server made of the same weights (SequencePredictor.page_model). Shared by the Gradio page, the static
// Space and the tests (under Node), so all three run the model one way.
import { SignReader } from "./sign_reader.mjs";

// The smallest module using a SIMD instruction (as wasm-feature-detect's check): ONNX Runtime Web's one plain
// WebAssembly build needs SIMD, so a browser without it classifies on the server.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0,
  65, 0, 253, 15, 253, 98, 11]);

// Why this browser cannot run the model, or null when it can.
export function missingFeature() {
  if (typeof WebAssembly !== "object") return "this browser has no WebAssembly";
  if (!WebAssembly.validate(SIMD_PROBE)) return "this browser's WebAssembly has no SIMD";
  return null;
}

// `ort`: the imported ort.wasm.min.mjs; `model`: the ONNX file's bytes; `length`: frames per window. Answers
// classify(window) -> a promise of {logits, features} (Arrays; features null where the export has none) for one
// window (Float32Array of length x 258): the features are what personal adaptation reads, from the same pass.
export async function loadClassifier(ort, model, length, frameValues = 258) {
  ort.env.wasm.numThreads = 1;  // threads need a cross-origin-isolated page; a window takes about a millisecond
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  return async (window) => {
    const input = new ort.Tensor("float32", window, [1, length, frameValues]);
    const output = await session.run({ input_values: input });
    const features = output.features ? Array.from(output.features.data) : null;
    return { logits: Array.from(output.logits.data), features };
  };
}

// The median milliseconds of `count` windows on this device, after `warmUp` more: WebAssembly starts in a quick
// baseline compile (~6 ms a window here) and reaches its optimised code after a few dozen runs (~1.1 ms; Node 20 on
// this 2-core VM). A device slower than the frame interval would fall behind the camera: the server reads instead.
export async function windowMilliseconds(classify, length, frameValues = 258, count = 15, warmUp = 30) {
  const window = new Float32Array(length * frameValues);
  for (let i = 0; i < warmUp; i++) await classify(window);
  const took = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await classify(window);
    took.push(performance.now() - started);
  }
  return took.sort((a, b) => a - b)[count >> 1];
}

// Everything a page needs to type signs itself, or the reason it cannot (an Error whose message the page says):
// `model`: {ort_url (ort.wasm.min.mjs), model_url, max_bytes, settings (SequenceSession.page_settings)};
// `frameMs`: the interval between the camera frames it keeps. Answers {reader: a SignReader, windowMs}.
export async function openReader(model, frameMs) {
  const missing = missingFeature();
  if (missing) throw new Error(missing);
  let ort;
  try {
    ort = await import(model.ort_url);
  } catch (error) {
    throw new Error(`ONNX Runtime Web could not be loaded (${error.message || error})`);
  }
  const base = globalThis.document ? document.baseURI : import.meta.url;  // the page, or (tests) Node
  ort.env.wasm.wasmPaths = new URL(".", new URL(model.ort_url, base)).href;
  const response = await fetch(new URL(model.model_url, base));
  const claimed = Number(response.headers.get("content-length") || 0);
  const tooBig = (bytes) => new Error(`the model is ${(bytes / 2 ** 20).toFixed(1)} MB, over the `
    + `${(model.max_bytes / 2 ** 20).toFixed(0)} MB a page loads`);
  if (!response.ok) throw new Error(`the model could not be loaded (HTTP ${response.status})`);
  if (claimed > model.max_bytes) throw tooBig(claimed);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > model.max_bytes) throw tooBig(bytes.length);
  const length = model.settings.sequence_length;
  const classify = await loadClassifier(ort, bytes, length);
  const windowMs = await windowMilliseconds(classify, length);
  if (windowMs > frameMs) {
    throw new Error(`this device takes ${windowMs.toFixed(1)} ms to classify a window, more than the ${frameMs} ms `
      + "between camera frames");
  }
  return { reader: new SignReader(model.settings, classify), windowMs };
}
