// A motion model run in the visitor's page: ONNX Runtime Web (npm onnxruntime-web, MIT) in WebAssembly on the ONNX
// export the server made of the same weights (SequencePredictor.page_model). Shared by the Gradio page, the static
// Space and the tests (under Node), so all three run the model one way.

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
// classify(window) -> a promise of the logits (an Array) for one window (Float32Array of length x 258).
export async function loadClassifier(ort, model, length, frameValues = 258) {
  ort.env.wasm.numThreads = 1;  // threads need a cross-origin-isolated page; a window takes about a millisecond
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"] });
  return async (window) => {
    const input = new ort.Tensor("float32", window, [1, length, frameValues]);
    const output = await session.run({ input_values: input });
    return Array.from(output.logits.data);
  };
}

// The median milliseconds of `count` windows on this device (after one to warm up): a device slower than the frame
// interval would fall behind the camera, and classifies on the server instead.
export async function windowMilliseconds(classify, length, frameValues = 258, count = 9) {
  const window = new Float32Array(length * frameValues);
  await classify(window);
  const took = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await classify(window);
    took.push(performance.now() - started);
  }
  return took.sort((a, b) => a - b)[count >> 1];
}
