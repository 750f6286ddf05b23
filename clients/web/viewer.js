// SignStream viewer: one ES module, no build step, no third-party code.
// Protocol (server/web/protocol.py): config JSON [+ style image as binary], then {"type":"sign"} messages,
// then {"type":"end"}; frames come back as binary (4-byte header length, JSON header, picture), notices,
// errors and the end as JSON. Every message is handled in arrival order on one promise chain: an async
// onmessage would let a later chunk overtake an earlier one.

const $ = (id) => document.getElementById(id);
const PROBE_CODEC = "avc1.640028";            // High profile, level 4.0: what libx264 sends for these sizes
const TOKEN_PROTOCOL = "signstream.token.";   // + base64url(token), offered beside "signstream.v1"
const utf8 = new TextDecoder();

const state = {
  info: null, ws: null, starting: null, chain: Promise.resolve(), mode: null, codec: null,
  decoder: null, decodeQueue: [], fps: 25, frames: 0, drawn: 0, serverFrames: null,
  units: [], pending: [], latencies: [], drawTimes: [], lastDrawn: null, errorShown: false, ended: false,
};
window.signstreamViewer = state;              // for people poking at it in the console, and for tests

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function token() { return $("token").value.trim(); }

function authHeaders() {
  return token() ? { Authorization: `Bearer ${token()}` } : {};
}

function base64url(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const normalized = (id) => id.trim().replace(/^¶/, "").normalize("NFC");

// ---- what the server offers --------------------------------------------------------------------------
async function loadInfo() {
  const info = await (await fetch("/api/info")).json();
  state.info = info;
  $("renderer").replaceChildren(...info.renderers.map((name) => new Option(name, name)));
  $("token-row").hidden = !info.token_required;
  $("text-row").hidden = !info.text;          // text input: once the server takes text items
  $("token").value = sessionStorage.getItem("signstream-token") || "";
}

async function chooseMode() {
  if ("VideoDecoder" in window) {
    try {
      const support = await VideoDecoder.isConfigSupported({ codec: PROBE_CODEC, optimizeForLatency: true });
      if (support.supported) return "h264";
    } catch (error) { /* unsupported: the fallback below */ }
  }
  return "jpeg";
}

function showMode() {
  $("mode").textContent = state.mode === "h264"
    ? `H.264 · WebCodecs${state.codec ? " " + state.codec : ""}` : "JPEG fallback · createImageBitmap";
  $("mode").classList.toggle("fallback", state.mode !== "h264");
}

// ---- autocomplete --------------------------------------------------------------------------------------
let suggestTimer = 0;
function suggest() {
  clearTimeout(suggestTimer);
  suggestTimer = setTimeout(async () => {
    const prefix = normalized($("sign").value);
    const response = await fetch(`/api/signs?prefix=${encodeURIComponent(prefix)}&limit=20`, { headers: authHeaders() });
    if (!response.ok) return;
    const { sign_ids: ids } = await response.json();
    $("sign-list").replaceChildren(...ids.map((id) => new Option(`¶${id}`)));
  }, 120);
}

// ---- the stream ----------------------------------------------------------------------------------------
function start() {
  state.starting ??= open();
  return state.starting;
}

async function open() {
  const photo = $("style").files[0];
  const image = photo ? new Uint8Array(await photo.arrayBuffer()) : null;
  if (image && image.byteLength > state.info.max_message_bytes) {
    throw new Error(`the style photo is ${(image.byteLength / 2 ** 20).toFixed(1)} MiB; the server takes at most `
                    + `${state.info.max_message_bytes / 2 ** 20} MiB`);
  }
  if (token()) sessionStorage.setItem("signstream-token", token());
  const protocols = ["signstream.v1", ...(token() ? [TOKEN_PROTOCOL + base64url(token())] : [])];
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  const ws = new WebSocket(url, protocols);
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onmessage = (event) => { state.chain = state.chain.then(() => handle(event.data)).catch(failed); };
  ws.onclose = (event) => { state.chain = state.chain.then(() => closed(event)); };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("the viewer's socket could not be opened (refused Origin, or the server is down)"));
  });
  ws.send(JSON.stringify({
    type: "config", encoding: state.mode, pacing: $("pacing").value, renderer: $("renderer").value,
    style_image_bytes: image ? image.byteLength : 0,
  }));
  if (image) ws.send(image);
  $("finish").disabled = false;
  document.body.dataset.state = "streaming";
  setStatus("streaming");
}

// Sends one item typed into `input` (the stream opens with the first); `sent(value)` runs just before.
async function sendItem(input, message, sent = () => {}) {
  const value = $(input).value.trim();
  if (!value || state.ended) return;
  $(input).value = "";
  try {
    await start();
  } catch (error) {
    failed(error);
    return;
  }
  sent(value);
  state.ws.send(JSON.stringify(message(value)));
}

const sendSign = () => sendItem("sign", (id) => ({ type: "sign", sign_id: id }),
  (id) => state.pending.push({ id: normalized(id), shown: id, sent: performance.now() }));

// Text in (when the server takes text items): the server turns it into signs; their frames and Notices
// come back like a sign's. Latency is not timed for text (which signs it becomes is the server's).
const sendText = () => sendItem("text", (text) => ({ type: "text", text }));

function finish() {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "end" }));
  $("finish").disabled = true;
}

// ---- messages, in order ----------------------------------------------------------------------------------
async function handle(data) {
  if (typeof data !== "string") return frame(data);
  const message = JSON.parse(data);
  if (message.type === "notice") return notice(message);
  if (message.type === "error") {
    state.errorShown = true;
    setStatus(`${message.code}: ${message.message}`, true);
    return;
  }
  if (message.type === "end") return end(message.frames);
}

async function frame(buffer) {
  const length = new DataView(buffer).getUint32(0);
  const header = JSON.parse(utf8.decode(new Uint8Array(buffer, 4, length)));
  const picture = new Uint8Array(buffer, 4 + length);
  const canvas = $("avatar");
  if (state.frames === 0) {
    canvas.width = header.width;
    canvas.height = header.height;
    state.fps = header.fps || 25;
  }
  state.frames += 1;
  state.units.push(picture);
  if (header.encoding === "h264") {
    if (!state.decoder) await configure(picture);
    state.decodeQueue.push(header);
    state.decoder.decode(new EncodedVideoChunk({
      type: nalTypes(picture).includes(5) ? "key" : "delta",
      timestamp: Math.round((header.index * 1e6) / state.fps), data: picture,
    }));
  } else {
    const bitmap = await createImageBitmap(new Blob([picture], { type: `image/${header.encoding}` }));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    drawn(header);
  }
}

function nalTypes(bytes) {
  const types = [];
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1) {
      types.push(bytes[i + 3] & 0x1f);
      i += 3;
    }
  }
  return types;
}

function codecFromSps(bytes) {
  for (let i = 0; i + 6 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 1 && (bytes[i + 3] & 0x1f) === 7) {
      const hex = (b) => b.toString(16).padStart(2, "0");
      return `avc1.${hex(bytes[i + 4])}${hex(bytes[i + 5])}${hex(bytes[i + 6])}`;   // profile, constraints, level
    }
  }
  throw new Error("the first H.264 frame carries no SPS");
}

async function configure(firstUnit) {
  state.codec = codecFromSps(firstUnit);
  const config = { codec: state.codec, optimizeForLatency: true };
  if (!(await VideoDecoder.isConfigSupported(config)).supported) {
    throw new Error(`this browser cannot decode ${state.codec}; reload with H.264 off`);
  }
  const canvas = $("avatar");
  state.decoder = new VideoDecoder({
    output: (videoFrame) => {
      canvas.getContext("2d").drawImage(videoFrame, 0, 0, canvas.width, canvas.height);
      videoFrame.close();
      drawn(state.decodeQueue.shift());
    },
    error: (error) => failed(error),
  });
  state.decoder.configure(config);
  showMode();
}

function drawn(header) {
  const now = performance.now();
  state.drawn += 1;
  const last = state.lastDrawn;
  const newSign = !last || last.sign_id !== header.sign_id || (last.kind === "SIGN" && header.kind !== "SIGN");
  state.lastDrawn = header;
  const head = state.pending[0];
  if (newSign && head && head.id === normalized(header.sign_id)) {
    state.pending.shift();
    state.latencies.push({ sign: head.shown, ms: now - head.sent });
  }
  state.drawTimes.push(now);
  while (state.drawTimes[0] < now - 1000) state.drawTimes.shift();
  readout();
}

let readoutFrame = 0;
function readout() {
  if (readoutFrame) return;
  readoutFrame = requestAnimationFrame(() => {
    readoutFrame = 0;
    $("frames").textContent = String(state.drawn);
    const span = state.drawTimes.length > 1 ? (state.drawTimes.at(-1) - state.drawTimes[0]) / 1000 : 0;
    $("fps").textContent = span > 0 ? ((state.drawTimes.length - 1) / span).toFixed(1) : "–";
    if (state.latencies.length) {
      const last = state.latencies.at(-1);
      const sorted = state.latencies.map((l) => l.ms).sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)];
      $("latency").textContent = `${last.ms.toFixed(1)} ms (${last.sign}) · median ${median.toFixed(1)} ms over `
        + `${sorted.length} sign${sorted.length > 1 ? "s" : ""}`;
    }
  });
}

function notice(message) {
  const index = state.pending.findIndex((p) => p.id === normalized(message.sign_id));
  if (index >= 0) state.pending.splice(index, 1);
  const item = document.createElement("li");
  const code = document.createElement("code");
  code.textContent = message.code;
  item.append(code, ` ${message.sign_id}: ${message.message}`);
  $("notices").append(item);
}

async function end(serverFrames) {
  state.serverFrames = serverFrames;
  state.ended = true;
  if (state.decoder) await state.decoder.flush();
  setStatus(`stream ended: ${serverFrames} frames sent, ${state.drawn} drawn; making the MP4…`);
  if (!state.units.length) return;
  await makeMp4();
}

async function makeMp4() {
  const encoding = state.mode;
  const parts = encoding === "h264" ? state.units : state.units.flatMap((unit) => {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, unit.byteLength);
    return [length, unit];
  });
  const response = await fetch(`/api/mp4?encoding=${encoding}&fps=${state.fps}`, {
    method: "POST", headers: { ...authHeaders(), "Content-Type": "application/octet-stream" }, body: new Blob(parts),
  });
  if (!response.ok) {
    const error = await response.json();
    throw new Error(`MP4: ${error.message}`);
  }
  const frames = response.headers.get("X-Frames");
  const link = $("download");
  link.href = URL.createObjectURL(await response.blob());
  link.textContent = `Download MP4 (${frames} frames${encoding === "h264" ? ", the stream's H.264 as sent" : ""})`;
  link.dataset.frames = frames;
  link.hidden = false;
  document.body.dataset.state = "mp4-ready";
  setStatus(`stream ended: ${state.serverFrames} frames sent, ${state.drawn} drawn`);
}

function closed(event) {
  state.ended = true;
  $("finish").disabled = true;
  if (document.body.dataset.state !== "mp4-ready") document.body.dataset.state = "ended";
  if (event.code !== 1000 && !state.errorShown) {
    setStatus(`the socket closed (${event.code}${event.reason ? ": " + event.reason : ""})`, true);
  }
}

function failed(error) {
  state.errorShown = true;
  setStatus(String(error.message || error), true);
}

// ---- wiring ------------------------------------------------------------------------------------------------
$("sign").addEventListener("input", suggest);
for (const [input, send] of [["sign", sendSign], ["text", sendText]]) {
  $(input).addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      send();
    }
  });
}
$("finish").addEventListener("click", finish);
$("style").addEventListener("change", () => {
  const photo = $("style").files[0];
  $("style-preview").hidden = !photo;
  if (photo) $("style-preview").src = URL.createObjectURL(photo);
});

document.body.dataset.state = "loading";
Promise.all([loadInfo(), chooseMode()]).then(([, mode]) => {
  state.mode = mode;
  showMode();
  document.body.dataset.state = "idle";
}).catch(failed);
