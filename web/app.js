// BERT vs DistilBERT in the visitor's browser: both models run here (transformers.js, ONNX Runtime
// Web), the same text goes to both, and the latency is measured on this device.
//
// What the page runs comes from site.json, written by the Python side (distilbert_demo/webpage):
// the model repositories or local folders, the shipped examples and the app's input limits. The
// predictions are decoded as the Python app decodes them (predict.py, qa.py, compare/core.py), and
// a browser test holds them to the app's own on the same checkpoints.
import {
  env,
  AutoTokenizer,
  AutoModelForMaskedLM,
  AutoModelForSequenceClassification,
  AutoModelForQuestionAnswering,
  Tensor,
} from "./vendor/transformers.min.js";

const SIDES = ["bert", "distilbert"];
const TITLES = { bert: "BERT", distilbert: "DistilBERT" };
const MASK = "[MASK]";
const TOP_K = 5; // compare/core.py DEFAULT_TOP_K
const WARMUP = 2; // untimed runs of each model first (session set-up, allocator growth)
const MIN_RUNS = 5;
const MAX_RUNS = 200;
const BUDGET_MS = 2000;
const STALL_S = 60; // seconds without a byte before a download counts as failed // rounds of timing until about this much time is spent (as the app does)
const AUTO_CLASSES = {
  "fill-mask": AutoModelForMaskedLM,
  sentiment: AutoModelForSequenceClassification,
  qa: AutoModelForQuestionAnswering,
};
const WEIGHTS = { fp32: "onnx/model.onnx", q8: "onnx/model_quantized.onnx" };

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let site = null; // site.json
let device = null; // what runs the models here (backend, threads, browser)
let loaded = null; // {key, task, dtype, sides: {bert: {...}, distilbert: {...}}}
let lastResult = null;
let busy = false;

class InputError extends Error {}

// ---------------------------------------------------------------- input checks (inputs.py, qa.py)
function fmt(n) {
  return n.toLocaleString("en-US");
}

function checkText(text, task) {
  const limits = site.limits;
  if (typeof text !== "string" || !text.trim()) throw new InputError("Please enter some text.");
  if (text.length > limits.max_chars)
    throw new InputError(
      `The text has ${fmt(text.length)} characters; the limit is ${fmt(limits.max_chars)}. Please shorten it.`,
    );
  text = text.trim();
  if (task === "fill-mask") {
    const masks = (text.match(/\[mask\]/gi) || []).length;
    if (masks === 0)
      throw new InputError(
        `Fill-mask needs at least one ${MASK} token in the text, e.g. 'Paris is the ${MASK} of France.'`,
      );
    if (masks > limits.max_masks)
      throw new InputError(`The text has ${masks} ${MASK} tokens; at most ${limits.max_masks} are supported.`);
  }
  return text;
}

function checkQA(question, context) {
  const limits = site.limits;
  if (typeof question !== "string" || !question.trim()) throw new InputError("Please enter a question.");
  if (question.length > limits.max_question_chars)
    throw new InputError(
      `The question has ${fmt(question.length)} characters; the limit is ${fmt(limits.max_question_chars)}. Please shorten it.`,
    );
  if (typeof context !== "string" || !context.trim())
    throw new InputError("Please enter a context: the passage the answer is taken from.");
  if (context.length > limits.max_chars)
    throw new InputError(
      `The context has ${fmt(context.length)} characters; the limit is ${fmt(limits.max_chars)}. Please shorten it.`,
    );
  return [question.trim(), context];
}

// ---------------------------------------------------------------- numbers
function softmax(values) {
  // float64 throughout, like the app's .float().softmax(): exp(x - max) / sum
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    out[i] = values[i] === -Infinity ? 0 : Math.exp(values[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

function topK(probs, k) {
  const order = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]);
  return order.slice(0, Math.min(k, order.length));
}

function jsDivergenceBits(p, q) {
  // compare/core.py js_divergence_bits: (KL(p||m) + KL(q||m)) / 2 in bits, 0 log 0 = 0
  let kl = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    if (p[i] > 0) kl += p[i] * Math.log(p[i] / m);
    if (q[i] > 0) kl += q[i] * Math.log(q[i] / m);
  }
  return kl / 2 / Math.LN2;
}

function percentile(sorted, q) {
  // numpy's default (linear interpolation between closest ranks), as measure.py reports
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median_ms: percentile(sorted, 0.5), p90_ms: percentile(sorted, 0.9), runs: samples.length };
}

// ---------------------------------------------------------------- tokenising
function row(tensor, index, width) {
  return tensor.data.subarray(index * width, (index + 1) * width);
}

function ids(tensor) {
  return Array.from(tensor.data, Number);
}

function fillMaskInputs(side, text) {
  const tok = side.tokenizer;
  const spelled = text.replace(/\[mask\]/gi, tok.mask_token);
  const encoded = tok(spelled, { truncation: true, max_length: site.limits.max_tokens });
  const full = tok(spelled, { truncation: false });
  const maskId = tok.mask_token_id;
  const positions = ids(encoded.input_ids).flatMap((id, i) => (id === maskId ? [i] : []));
  const total = ids(full.input_ids).filter((id) => id === maskId).length;
  const notices = [];
  const [fullLen, keptLen] = [full.input_ids.dims[1], encoded.input_ids.dims[1]];
  if (fullLen > keptLen) notices.push(`The text is ${fullLen} tokens long; only the first ${keptLen} were used.`);
  if (!positions.length)
    throw new InputError(`Every ${MASK} falls after the ${site.limits.max_tokens}-token limit; move one nearer the start.`);
  if (total > positions.length)
    notices.push(
      `${total - positions.length} of ${total} ${MASK} tokens fell after the ${site.limits.max_tokens}-token limit and were dropped.`,
    );
  return { inputs: encoded, positions, notices, tokens: keptLen };
}

function textInputs(side, text) {
  const tok = side.tokenizer;
  const encoded = tok(text, { truncation: true, max_length: site.limits.max_tokens });
  const full = tok(text, { truncation: false });
  const notices = [];
  const [fullLen, keptLen] = [full.input_ids.dims[1], encoded.input_ids.dims[1]];
  if (fullLen > keptLen) notices.push(`The text is ${fullLen} tokens long; only the first ${keptLen} were used.`);
  return { inputs: encoded, notices, tokens: keptLen };
}

// BERT's normaliser, character by character, keeping where each output character came from: what
// lets the answer's tokens be mapped back onto the visitor's own context (qa.py uses the Rust
// tokenizer's offsets, which transformers.js does not expose).
function normalised(text, lowercase, stripAccents) {
  const chars = [];
  const from = [];
  const to = [];
  let i = 0;
  for (const ch of text) {
    const start = i;
    i += ch.length;
    const code = ch.codePointAt(0);
    if (code === 0 || code === 0xfffd || (/\p{C}/u.test(ch) && !/\s/.test(ch))) continue;
    let out = /\s/.test(ch) ? " " : ch;
    if (lowercase) out = out.toLowerCase();
    if (stripAccents) out = out.normalize("NFD").replace(/\p{Mn}/gu, "");
    if (/[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]/u.test(ch)) out = ` ${out} `;
    for (const c of out) {
      chars.push(c);
      from.push(start);
      to.push(i);
    }
  }
  return { text: chars.join(""), from, to };
}

const PUNCT = /[\p{P}\p{S}]/u;

function offsetsOf(tokens, context, tok) {
  // Character span of each WordPiece token in `context`, and its word index (a token without "##"
  // starts a word, as BERT's pre-tokenizer splits words on spaces and punctuation).
  const normaliser = tok._tokenizerJSON?.normalizer || {};
  const lowercase = normaliser.lowercase ?? tok.config?.do_lower_case ?? true;
  const strip = normaliser.strip_accents ?? lowercase; // BERT: accents go with the case unless told
  const norm = normalised(context, lowercase, strip);
  const offsets = [];
  const words = [];
  let pos = 0;
  let word = -1;
  for (const token of tokens) {
    const piece = token.startsWith("##") ? token.slice(2) : token;
    if (!token.startsWith("##")) {
      word += 1;
      while (pos < norm.text.length && norm.text[pos] === " ") pos++;
    }
    let start = pos;
    let end;
    if (token === tok.unk_token) {
      end = pos + 1;
      if (!PUNCT.test(norm.text[pos] || "")) {
        while (end < norm.text.length && norm.text[end] !== " " && !PUNCT.test(norm.text[end])) end++;
      }
    } else if (norm.text.startsWith(piece, pos)) {
      end = pos + piece.length;
    } else {
      const found = norm.text.indexOf(piece, pos);
      start = found < 0 ? pos : found;
      end = found < 0 ? pos : found + piece.length;
    }
    offsets.push(end > start ? [norm.from[start], norm.to[end - 1]] : [0, 0]);
    words.push(word);
    pos = end;
  }
  return { offsets, words };
}

function qaInputs(side, question, context) {
  // [CLS] question [SEP] context [SEP], the context cut to fit one window (qa.py prepare_qa)
  const tok = side.tokenizer;
  const limits = site.limits;
  const q = tok.encode(question, { add_special_tokens: false });
  if (q.length + 3 >= limits.max_qa_tokens)
    throw new InputError(
      `The question is ${q.length} tokens long and leaves no room for the context in the ${limits.max_qa_tokens}-token window. Please shorten it.`,
    );
  const contextTokens = tok.tokenize(context);
  const all = tok.convert_tokens_to_ids(contextTokens);
  const room = limits.max_qa_tokens - q.length - 3;
  const kept = all.slice(0, room);
  if (!kept.length) throw new InputError("The context has no readable words to take an answer from.");
  const [cls, sep] = tok.encode("", { add_special_tokens: true }); // BERT's template: [CLS] [SEP]
  const inputIds = [cls, ...q, sep, ...kept, sep];
  const types = [...Array(q.length + 2).fill(0), ...Array(kept.length + 1).fill(1)];
  const { offsets, words } = offsetsOf(contextTokens.slice(0, kept.length), context, tok);
  const notices = [];
  if (all.length > kept.length) {
    const read = offsets[kept.length - 1][1];
    notices.push(
      `The context is ${all.length} tokens long; with the question only its first ${kept.length} tokens fit in the ${limits.max_qa_tokens}-token window, so the answer was sought in its first ${fmt(read)} of ${fmt(context.length)} characters only.`,
    );
  }
  const encoded = makeInputs(inputIds, types);
  return { inputs: encoded, contextStart: q.length + 2, offsets, words, notices, tokens: inputIds.length };
}

// ---------------------------------------------------------------- decoding (predict.py, qa.py)
function decodeFillMask(side, prepared, output) {
  const [, , vocab] = output.logits.dims;
  const rows = prepared.positions.map((p) => softmax(row(output.logits, p, vocab)));
  const predictions = rows.map((probs) =>
    topK(probs, TOP_K).map((id) => ({ token: side.tokenizer.decode([id]), token_id: id, score: probs[id] })),
  );
  return { predictions, distributions: rows, top: predictions.map((mask) => mask.map((c) => c.token)) };
}

function decodeSentiment(side, output) {
  const probs = softmax(output.logits.data);
  const labels = side.labels;
  const ranked = labels.map((label, i) => ({ label, score: probs[i] })).sort((a, b) => b.score - a.score);
  const order = labels.map((_, i) => i).sort((a, b) => (labels[a] < labels[b] ? -1 : labels[a] > labels[b] ? 1 : 0));
  return {
    predictions: ranked,
    distributions: [Float64Array.from(order, (i) => probs[i])],
    support: order.map((i) => labels[i]),
    top: [ranked.map((p) => p.label)],
  };
}

function decodeQA(prepared, output, context) {
  const T = output.start_logits.dims[1];
  const c0 = prepared.contextStart;
  const c1 = c0 + prepared.offsets.length;
  const allowed = (values) => Float64Array.from(values, (v, i) => (i === 0 || (i >= c0 && i < c1) ? v : -Infinity));
  const pStart = softmax(allowed(output.start_logits.data.subarray(0, T))).subarray(c0, c1);
  const pEnd = softmax(allowed(output.end_logits.data.subarray(0, T))).subarray(c0, c1);
  const spans = [];
  for (let s = 0; s < pStart.length; s++)
    for (let e = s; e < Math.min(pEnd.length, s + site.limits.max_answer_tokens); e++)
      spans.push([pStart[s] * pEnd[e], s, e]);
  spans.sort((a, b) => b[0] - a[0]);
  const wordSpan = (t) => {
    const same = prepared.words.flatMap((w, i) => (w === prepared.words[t] ? [i] : []));
    return [prepared.offsets[same[0]][0], prepared.offsets[same[same.length - 1]][1]];
  };
  const predictions = spans.slice(0, TOP_K).map(([score, s, e]) => {
    const start = wordSpan(s)[0];
    const end = wordSpan(e)[1];
    return { text: context.slice(start, end), start, end, score, start_token: c0 + s, end_token: c0 + e };
  });
  return { predictions, distributions: null, top: [predictions.map((p) => p.text.trim().toLowerCase())] };
}

function agreement(a, b, sameSupport) {
  // compare/core.py agreement: top-1 match at every position, mean top-k overlap, mean JS divergence
  const matches = a.top.filter((list, i) => list[0] === b.top[i][0]).length;
  const overlaps = a.top.map((list, i) => {
    const other = new Set(b.top[i]);
    return [...new Set(list)].filter((t) => other.has(t)).length / Math.max(list.length, 1);
  });
  let js = null;
  if (sameSupport && a.distributions && b.distributions && a.distributions[0].length === b.distributions[0].length) {
    const each = a.distributions.map((p, i) => jsDivergenceBits(p, b.distributions[i]));
    js = each.reduce((x, y) => x + y, 0) / each.length;
  }
  return {
    top1_match: matches === a.top.length,
    top1_matches: matches,
    positions: a.top.length,
    topk_overlap: overlaps.reduce((x, y) => x + y, 0) / overlaps.length,
    js_divergence: js,
  };
}

function sameVocabulary(a, b) {
  const entries = (tok) => {
    const vocab = tok.get_vocab();
    return JSON.stringify((vocab instanceof Map ? [...vocab] : Object.entries(vocab)).sort());
  };
  return entries(a.tokenizer) === entries(b.tokenizer);
}

// ---------------------------------------------------------------- the device
async function describeDevice(backend) {
  const ua = navigator.userAgentData;
  // the named browser (Chrome, Edge) before the engine (Chromium); never the "Not A Brand" decoy
  const real = (ua?.brands || []).filter((b) => !/Not.?A.?Brand/i.test(b.brand));
  const brand = real.find((b) => b.brand !== "Chromium") || real[0];
  const browser = brand ? `${brand.brand} ${brand.version}` : navigator.userAgent;
  const platform = ua?.platform || navigator.platform || "unknown platform";
  const cores = navigator.hardwareConcurrency || 1;
  const described = {
    backend,
    browser,
    platform,
    mobile: Boolean(ua?.mobile || /Mobi|Android|iPhone/i.test(navigator.userAgent)),
    hardware_concurrency: cores,
    cross_origin_isolated: self.crossOriginIsolated === true,
  };
  if (backend === "webgpu") {
    const adapter = await navigator.gpu.requestAdapter();
    const info = adapter?.info || {};
    described.adapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "WebGPU adapter";
  } else {
    // WebAssembly threads need cross-origin isolation (SharedArrayBuffer); without it, one thread.
    described.threads = described.cross_origin_isolated ? Math.min(Number(params.get("threads")) || cores, cores, 16) : 1;
  }
  described.label =
    backend === "webgpu"
      ? `${shortBrowser(browser)}, WebGPU (${described.adapter})`
      : `${shortBrowser(browser)}, ${described.threads} thread${described.threads > 1 ? "s" : ""}, WebAssembly`;
  return described;
}

function shortBrowser(browser) {
  return browser.split(" ")[0] === browser ? browser : browser.replace(/\.\d+.*$/, "");
}

async function chooseBackend() {
  const wanted = params.get("backend");
  if (wanted === "webgpu") {
    if (navigator.gpu && (await navigator.gpu.requestAdapter())) return "webgpu";
    showMessage("WebGPU is not available in this browser: running on WebAssembly.");
  }
  return "wasm";
}

// ---------------------------------------------------------------- loading
function sourceOf(task, side) {
  return site.models[task]?.[side] || null;
}

function fileUrl(source, file) {
  return site.local ? new URL(`${env.localModelPath}${source.id}/${file}`, location.href).href : `${env.remoteHost}${source.id}/resolve/main/${file}`;
}

async function loadSide(task, side, dtype) {
  const source = sourceOf(task, side);
  if (!source) {
    throw new Error(
      `${TITLES[side]} for ${site.tasks[task]} has no transformers.js copy configured (see the README: export-web, then --${task}-${side})`,
    );
  }
  const sizes = new Map();
  const watchdog = stallWatch(); // a download that stops sending is an error, not a page that hangs
  const progress = (event) => {
    watchdog.alive();
    if (event.status === "done" && event.file === WEIGHTS[dtype]) watchdog.stop(); // downloads over: the
    // session is built next, which sends no progress and may take a while on a phone
    if (event.status === "progress" && event.total) {
      sizes.set(event.file, event.total);
      const done = [...sizes.values()].reduce((x, y) => x + y, 0);
      setStatus(`Loading ${TITLES[side]} (${source.id}): ${event.file} ${Math.round(event.progress || 0)}% · ${mib(done)}`);
    }
  };
  const started = performance.now();
  try {
    const tokenizer = await watchdog.race(AutoTokenizer.from_pretrained(source.id, { progress_callback: progress }));
    const model = await watchdog.race(
      AUTO_CLASSES[task].from_pretrained(source.id, {
        dtype,
        device: device.backend === "webgpu" ? "webgpu" : "wasm",
        progress_callback: progress,
      }),
    );
    watchdog.stop();
    const loadMs = performance.now() - started;
    const weights = WEIGHTS[dtype];
    if (!sizes.has(weights)) sizes.set(weights, await contentLength(fileUrl(source, weights)));
    const id2label = model.config.id2label || {};
    const labels = Object.keys(id2label)
      .sort((a, b) => a - b)
      .map((k) => String(id2label[k]).toLowerCase());
    const names = model.sessions?.model?.inputNames || ["input_ids", "attention_mask", "token_type_ids"];
    return {
      side,
      source,
      tokenizer,
      model,
      labels,
      load_ms: loadMs,
      download_bytes: [...sizes.values()].reduce((x, y) => x + (y || 0), 0),
      weights_bytes: sizes.get(weights) || null,
      inputNames: names,
    };
  } catch (err) {
    watchdog.stop();
    throw new Error(`${TITLES[side]} (${source.id}) could not be loaded: ${reason(err)}`);
  }
}

function stallWatch() {
  // Rejects `race`d promises once no data has arrived for STALL_S seconds (?stall=N sets it).
  const limit = (Number(params.get("stall")) || STALL_S) * 1000;
  let last = performance.now();
  let timer = null;
  let fail = null;
  const stalled = new Promise((_, reject) => (fail = reject));
  stalled.catch(() => {});
  timer = setInterval(() => {
    if (performance.now() - last > limit) {
      clearInterval(timer);
      fail(new Error(`no data for ${limit / 1000} s: the download stalled`));
    }
  }, 250);
  return {
    alive: () => (last = performance.now()),
    race: (promise) => Promise.race([promise, stalled]),
    stop: () => clearInterval(timer),
  };
}

function makeInputs(inputIds, types) {
  const n = inputIds.length;
  const big = (values) => new Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), [1, n]);
  return { input_ids: big(inputIds), attention_mask: big(Array(n).fill(1)), token_type_ids: big(types) };
}

async function contentLength(url) {
  try {
    const response = await fetch(url, { method: "HEAD" });
    const length = Number(response.headers.get("content-length"));
    return Number.isFinite(length) && length > 0 ? length : null;
  } catch {
    return null;
  }
}

function reason(err) {
  const text = String(err?.message || err || "unknown error").split("\n")[0];
  return /Failed to fetch|NetworkError|Load failed/i.test(text) ? `the download failed (${text})` : text;
}

async function ensureLoaded(task, dtype) {
  const key = `${task}|${dtype}|${device.backend}`;
  if (loaded?.key === key) return loaded;
  if (loaded) {
    // One pair in memory at a time: a phone cannot hold six models.
    for (const side of Object.values(loaded.sides)) await side.model.dispose?.();
    loaded = null;
  }
  const sides = {};
  for (const side of SIDES) sides[side] = await loadSide(task, side, dtype);
  loaded = { key, task, dtype, sides };
  return loaded;
}

// ---------------------------------------------------------------- one comparison
function prepare(side, task, text, question) {
  if (task === "fill-mask") return fillMaskInputs(side, text);
  if (task === "qa") return qaInputs(side, question, text);
  return textInputs(side, text);
}

function feed(side, prepared) {
  // only the inputs the exported graph takes (DistilBERT has no segment ids)
  const inputs = {};
  for (const name of ["input_ids", "attention_mask", "token_type_ids"])
    if (prepared.inputs[name] && side.inputNames.includes(name)) inputs[name] = prepared.inputs[name];
  return inputs;
}

async function timeBoth(pair, feeds) {
  const run = async (side) => {
    const t0 = performance.now();
    await pair.sides[side].model(feeds[side]);
    return performance.now() - t0;
  };
  for (let i = 0; i < WARMUP; i++) for (const side of SIDES) await run(side);
  const asked = Math.floor(Number(params.get("runs")));
  const runs = asked >= 1 ? Math.min(asked, MAX_RUNS) : null; // ?runs=N, else rounds for about BUDGET_MS
  const samples = { bert: [], distilbert: [] };
  const started = performance.now();
  for (let round = 0; round < (runs || MAX_RUNS); round++) {
    // interleaved, the order alternating, so that whatever else the device does hits both alike
    const order = round % 2 ? [...SIDES].reverse() : SIDES;
    for (const side of order) samples[side].push(await run(side));
    if (!runs && round + 1 >= MIN_RUNS && performance.now() - started > BUDGET_MS) break;
  }
  return { bert: stats(samples.bert), distilbert: stats(samples.distilbert), samples };
}

async function compare(task, text, question, dtype) {
  if (task === "qa") [question, text] = checkQA(question, text);
  else text = checkText(text, task);
  const pair = await ensureLoaded(task, dtype);
  setStatus("Running both models…");
  const prepared = {};
  const feeds = {};
  const outputs = {};
  const decoded = {};
  for (const side of SIDES) {
    prepared[side] = prepare(pair.sides[side], task, text, question);
    feeds[side] = feed(pair.sides[side], prepared[side]);
    outputs[side] = await pair.sides[side].model(feeds[side]);
    if (task === "fill-mask") decoded[side] = decodeFillMask(pair.sides[side], prepared[side], outputs[side]);
    else if (task === "sentiment") decoded[side] = decodeSentiment(pair.sides[side], outputs[side]);
    else decoded[side] = decodeQA(prepared[side], outputs[side], text);
  }
  const same =
    task === "fill-mask"
      ? sameVocabulary(pair.sides.bert, pair.sides.distilbert)
      : task === "sentiment" && decoded.bert.support.join() === decoded.distilbert.support.join();
  setStatus("Timing both models on this device…");
  const timing = await timeBoth(pair, feeds);
  const notices = [...new Set(SIDES.flatMap((s) => prepared[s].notices))];
  const result = {
    task,
    text,
    question: task === "qa" ? question : null,
    dtype,
    device,
    notices,
    agreement: agreement(decoded.bert, decoded.distilbert, same),
    transformers_js: site.transformers_js,
    models: {},
  };
  for (const side of SIDES) {
    const s = pair.sides[side];
    result.models[side] = {
      name: s.source.name,
      id: s.source.id,
      source: s.source.source,
      num_tokens: prepared[side].tokens,
      predictions: decoded[side].predictions,
      latency_ms: timing[side],
      download_bytes: s.download_bytes,
      weights_bytes: s.weights_bytes,
      load_ms: s.load_ms,
    };
  }
  result.speedup = timing.bert.median_ms / timing.distilbert.median_ms;
  result.headline = headline(result);
  return result;
}

function headline(result) {
  const b = result.models.bert;
  const d = result.models.distilbert;
  const parts = [
    result.speedup >= 1
      ? `DistilBERT ${result.speedup.toFixed(1)}x faster`
      : `DistilBERT ${(1 / result.speedup).toFixed(1)}x slower`,
  ];
  if (b.download_bytes && d.download_bytes) {
    const smaller = 1 - d.download_bytes / b.download_bytes;
    parts.push(`${Math.round(Math.abs(smaller) * 100)}% ${smaller >= 0 ? "smaller" : "larger"} download`);
  }
  const a = result.agreement;
  parts.push(
    a.top1_match
      ? "same top prediction"
      : a.positions > 1 && a.top1_matches
        ? `same top prediction at ${a.top1_matches} of ${a.positions} masks`
        : "different top prediction",
  );
  return `On your device (${result.device.label}): ${parts.join(", ")}`;
}

// ---------------------------------------------------------------- drawing
function mib(bytes) {
  return bytes ? `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 2 : 0)} MiB` : "size unknown";
}

function percent(score) {
  // one decimal for a visible share, two significant digits below 0.1% (an untrained model's spread)
  const value = score * 100;
  return value >= 0.1 ? `${value.toFixed(1)}%` : `${value.toPrecision(2)}%`;
}

function bars(items, scale) {
  const list = document.createElement("ol");
  list.className = "bars";
  for (const { label, score } of items) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = label;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.setProperty("--share", String(Math.max(0, Math.min(1, score / scale))));
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = percent(score);
    li.append(name, bar, value);
    list.append(li);
  }
  return list;
}

function shownScores(report, task) {
  return task === "fill-mask" ? report.predictions.flat().map((c) => c.score) : report.predictions.map((p) => p.score);
}

function drawSide(side, report, task, scale) {
  const box = document.querySelector(`.side[data-side="${side}"]`);
  box.replaceChildren();
  const title = document.createElement("h2");
  title.textContent = TITLES[side];
  const facts = document.createElement("p");
  facts.className = "facts";
  facts.textContent = `${report.latency_ms.median_ms.toFixed(1)} ms median · p90 ${report.latency_ms.p90_ms.toFixed(1)} · ${mib(report.download_bytes)}`;
  box.append(title, facts);
  if (task === "fill-mask") {
    report.predictions.forEach((mask, i) => {
      if (report.predictions.length > 1) {
        const h = document.createElement("h3");
        h.textContent = `${MASK} ${i + 1}`;
        box.append(h);
      }
      box.append(bars(mask.map((c) => ({ label: c.token, score: c.score })), scale));
    });
  } else if (task === "sentiment") {
    box.append(bars(report.predictions, scale));
  } else {
    box.append(bars(report.predictions.map((p) => ({ label: p.text, score: p.score })), scale));
  }
  const source = document.createElement("p");
  source.className = "source";
  source.textContent = `${report.id} · loaded in ${(report.load_ms / 1000).toFixed(1)} s`;
  box.append(source);
}

function draw(result) {
  $("headline").textContent = result.headline;
  const caveats = [...new Set(SIDES.map((s) => site.models[result.task][s].caveat).filter(Boolean))];
  $("caveat").textContent = caveats.join("; ");
  $("caveat").hidden = !caveats.length;
  $("verdict").hidden = false;
  // Both models' bars on one scale, the largest probability shown filling its column.
  const scale = Math.max(...SIDES.flatMap((s) => shownScores(result.models[s], result.task)), 1e-12);
  for (const side of SIDES) drawSide(side, result.models[side], result.task, scale);
  const a = result.agreement;
  const d = result.device;
  const details = $("details");
  details.replaceChildren();
  const lines = [
    `Agreement: top-1 ${a.top1_matches}/${a.positions} · top-${TOP_K} overlap ${(a.topk_overlap * 100).toFixed(0)}%` +
      (a.js_divergence === null ? "" : ` · Jensen-Shannon ${a.js_divergence.toFixed(3)} bits`),
    `Latency: median and p90 of ${result.models.bert.latency_ms.runs} interleaved runs each after ${WARMUP} warm-up runs, ` +
      `the whole forward pass (${result.models.bert.num_tokens} and ${result.models.distilbert.num_tokens} tokens), ` +
      `${result.dtype === "q8" ? "8-bit" : "fp32"} weights, measured in this browser: ${d.label}; ` +
      `${d.hardware_concurrency} logical cores reported, ${d.platform}${d.cross_origin_isolated ? ", cross-origin isolated" : ""}.`,
    `Bars: probabilities on one scale for both models, the longest ${percent(scale)}. ` +
      `Download: the files fetched for each model (config, tokenizer, weights). transformers.js ${site.transformers_js}.`,
    ...(d.backend === "wasm" && !d.cross_origin_isolated
      ? ["Not cross-origin isolated, so WebAssembly runs on one thread: open the page on its own address, not embedded."]
      : []),
    ...result.notices,
  ];
  for (const line of lines) {
    const p = document.createElement("p");
    p.textContent = line;
    details.append(p);
  }
  details.hidden = false;
}

function copyText(result) {
  const b = result.models.bert;
  const d = result.models.distilbert;
  const a = result.agreement;
  return [
    result.headline,
    `task: ${result.task}; text: ${result.question ? `${result.question} | ` : ""}${result.text}`,
    `BERT ${b.id}: median ${b.latency_ms.median_ms.toFixed(2)} ms, p90 ${b.latency_ms.p90_ms.toFixed(2)} ms, ${b.latency_ms.runs} runs, download ${b.download_bytes} bytes, top ${JSON.stringify(topOf(b, result.task))}`,
    `DistilBERT ${d.id}: median ${d.latency_ms.median_ms.toFixed(2)} ms, p90 ${d.latency_ms.p90_ms.toFixed(2)} ms, ${d.latency_ms.runs} runs, download ${d.download_bytes} bytes, top ${JSON.stringify(topOf(d, result.task))}`,
    `agreement: top-1 ${a.top1_matches}/${a.positions}, top-k overlap ${a.topk_overlap.toFixed(3)}, JS ${a.js_divergence === null ? "n/a" : a.js_divergence.toFixed(4)} bits`,
    `device: ${result.device.label}; ${result.device.hardware_concurrency} cores; ${result.device.platform}; ${result.dtype}; ${navigator.userAgent}`,
  ].join("\n");
}

function topOf(report, task) {
  if (task === "fill-mask") return report.predictions.map((m) => m[0].token);
  return task === "sentiment" ? report.predictions[0].label : report.predictions[0]?.text;
}

// ---------------------------------------------------------------- the page
function setStatus(text) {
  $("status").textContent = text;
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function examplesOf(task) {
  return rows().filter((r) => r.task === task);
}

function rows() {
  // numbered from 1 across tasks, as the app's links number them (resources.example_rows)
  return Object.entries(site.examples).flatMap(([task, list]) =>
    list.map((e) => (Array.isArray(e) ? { task, text: e[1], question: e[0] } : { task, text: e, question: "" })),
  ).map((r, i) => ({ ...r, number: i + 1 }));
}

function fillExamples(task, chosen) {
  const select = $("example");
  select.replaceChildren();
  for (const r of examplesOf(task)) {
    const option = document.createElement("option");
    option.value = String(r.number);
    option.textContent = `${r.number}. ${(r.question || r.text).slice(0, 48)}`;
    select.append(option);
  }
  const custom = document.createElement("option");
  custom.value = "";
  custom.textContent = "your own text";
  select.append(custom);
  select.value = chosen ?? String(examplesOf(task)[0]?.number ?? "");
}

function useExample(number) {
  const r = rows().find((x) => String(x.number) === String(number));
  if (!r) return;
  $("text").value = r.text;
  $("question").value = r.question;
}

function showTask(task) {
  $("question").hidden = task !== "qa";
  $("text").placeholder = task === "qa" ? "Context: the passage the answer is taken from" : "Text";
}

async function runNow() {
  if (busy) return;
  busy = true;
  document.body.dataset.state = "running";
  $("run").disabled = true;
  showMessage("");
  const task = $("task").value;
  const dtype = $("q8").checked ? "q8" : "fp32";
  try {
    const result = await compare(task, $("text").value, $("question").value, dtype);
    lastResult = result;
    window.lastResult = result;
    draw(result);
    setStatus("");
    $("copy").disabled = false;
    document.body.dataset.state = "done";
  } catch (err) {
    showMessage(err instanceof InputError ? err.message : reason(err));
    setStatus("");
    document.body.dataset.state = "error";
  } finally {
    busy = false;
    $("run").disabled = false;
  }
}

async function copyResult() {
  if (!lastResult) return;
  const text = copyText(lastResult);
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  window.copiedText = text;
  setStatus("Result copied.");
}

async function boot() {
  try {
    site = await (await fetch("site.json", { cache: "no-store" })).json();
  } catch (err) {
    showMessage(`site.json could not be read: ${reason(err)}`);
    document.body.dataset.state = "error";
    return;
  }
  env.allowLocalModels = site.local;
  env.allowRemoteModels = !site.local;
  env.localModelPath = new URL("models/", location.href).pathname;
  env.useBrowserCache = !site.local; // a local talk copy is read from disk anyway
  const vendor = (file) => new URL(`vendor/${file}`, location.href).href;
  env.backends.onnx.wasm.wasmPaths = { mjs: vendor(site.ort_files.mjs), wasm: vendor(site.ort_files.wasm) };
  const backend = await chooseBackend();
  device = await describeDevice(backend);
  if (backend === "wasm") env.backends.onnx.wasm.numThreads = device.threads;
  window.device = device;

  for (const [task, title] of Object.entries(site.tasks)) {
    const option = document.createElement("option");
    option.value = task;
    option.textContent = title;
    $("task").append(option);
  }
  // ?example=n (numbered as in the app), or ?task=&text=&question=
  const all = rows();
  const example = all.find((r) => String(r.number) === params.get("example"));
  const task = example?.task || (site.tasks[params.get("task")] ? params.get("task") : "fill-mask");
  $("task").value = task;
  showTask(task);
  if (example) {
    fillExamples(task, String(example.number));
    useExample(example.number);
  } else if (params.get("text")) {
    fillExamples(task, "");
    $("text").value = params.get("text").slice(0, site.limits.max_chars);
    $("question").value = params.get("question") || "";
  } else {
    fillExamples(task);
    useExample($("example").value);
  }
  $("q8").checked = params.get("dtype") ? params.get("dtype") === "q8" : device.mobile;
  $("task").addEventListener("change", () => {
    showTask($("task").value);
    fillExamples($("task").value);
    useExample($("example").value);
    runNow();
  });
  $("example").addEventListener("change", () => {
    useExample($("example").value);
    if ($("example").value) runNow();
  });
  $("text").addEventListener("input", () => ($("example").value = ""));
  $("q8").addEventListener("change", runNow);
  $("run").addEventListener("click", runNow);
  $("copy").addEventListener("click", copyResult);
  $("run").disabled = false;
  document.body.dataset.state = "ready";
  runNow(); // the first answer without a click: an audience will not wait
}

boot();
