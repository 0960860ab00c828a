// A minimal proxy-wasm host in node, to time and profile a filter's own
// work (no Envoy, no network): the host calls are answered from JS maps, so
// what is measured is the module's code plus the ABI crossing into node.
//
//   node bench/profile/host.mjs MODULE.wasm CONFIG.json [REQUESTS] [HEADER:VALUE ...]
//   node --cpu-prof bench/profile/host.mjs ...   (names need an unstripped build)
//
// Prints ns per request, how many times each host function was called per
// request, and the headers the filter added. `cargo xtask profile` runs it
// for the bench's scenarios.
import { readFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";

const [modulePath, configPath, requestsArg, ...headerArgs] = process.argv.slice(2);
const requests = Number(requestsArg ?? 20000);
const config = readFileSync(configPath);
const requestHeaders = [
  [":method", "GET"], [":path", "/bench"], [":authority", "bench"], [":scheme", "http"],
  ["user-agent", "wrk"], ["x-forwarded-for", "127.0.0.1"], ["x-forwarded-proto", "http"],
  ["x-request-id", "3f1c9c1e-8d1a-4b9e-9a55-0d0e6c1f2a3b"],
  ...headerArgs.map((h) => [h.slice(0, h.indexOf(":")), h.slice(h.indexOf(":") + 1)]),
];

const OK = 0, NOT_FOUND = 1, CAS_MISMATCH = 8;
const enc = new TextEncoder(), dec = new TextDecoder();
let mem, exp;
const calls = new Map();
const count = (name) => calls.set(name, (calls.get(name) ?? 0) + 1);
const u8 = () => new Uint8Array(mem.buffer);
const dv = () => new DataView(mem.buffer);
const str = (p, n) => dec.decode(u8().subarray(p, p + n));
const bytes = (p, n) => u8().slice(p, p + n);
// Copies `data` into a buffer the module allocates; writes its address and size.
function give(data, retPtr, retSize) {
  const p = data.length ? exp.proxy_on_memory_allocate(data.length) : 0;
  u8().set(data, p);
  dv().setUint32(retPtr, p, true);
  dv().setUint32(retSize, data.length, true);
  return OK;
}

let maps = {};
const shared = new Map();
const metrics = [];
let now = BigInt(Date.now()) * 1_000_000n;

const env = {
  proxy_log: (level, p, n) => { count("log"); if (level >= 3) console.error(str(p, n)); return OK; },
  proxy_get_log_level: (ret) => { dv().setUint32(ret, 2, true); return OK; },
  proxy_get_current_time_nanoseconds: (ret) => { count("time"); now += 50_000n; dv().setBigUint64(ret, now, true); return OK; },
  proxy_set_tick_period_milliseconds: () => OK,
  proxy_get_buffer_bytes: (type, start, len, retPtr, retSize) => {
    count("get_buffer");
    // Sizes are u32 (the SDK asks for usize::MAX, -1 as a JS number).
    return type === 7 ? give(config.subarray(start >>> 0, (start >>> 0) + Math.min(len >>> 0, config.length)), retPtr, retSize) : NOT_FOUND;
  },
  proxy_get_header_map_pairs: (type, retPtr, retSize) => {
    count("get_map_pairs");
    const m = maps[type] ?? [];
    const parts = m.flatMap(([k, v]) => [enc.encode(k), enc.encode(v)]);
    const size = 4 + m.length * 8 + parts.reduce((s, b) => s + b.length + 1, 0);
    const out = new Uint8Array(size), view = new DataView(out.buffer);
    view.setUint32(0, m.length, true);
    let off = 4 + m.length * 8;
    parts.forEach((b, i) => { view.setUint32(4 + i * 4, b.length, true); out.set(b, off); off += b.length + 1; });
    return give(out, retPtr, retSize);
  },
  proxy_get_header_map_value: (type, kp, kn, retPtr, retSize) => {
    count("get_header");
    const k = str(kp, kn), e = (maps[type] ?? []).find(([n]) => n === k);
    return e ? give(enc.encode(e[1]), retPtr, retSize) : NOT_FOUND;
  },
  proxy_add_header_map_value: (type, kp, kn, vp, vn) => { count("add_header"); (maps[type] ??= []).push([str(kp, kn), str(vp, vn)]); return OK; },
  proxy_replace_header_map_value: (type, kp, kn, vp, vn) => {
    count("replace_header");
    const k = str(kp, kn);
    maps[type] = (maps[type] ?? []).filter(([n]) => n !== k).concat([[k, str(vp, vn)]]);
    return OK;
  },
  proxy_remove_header_map_value: (type, kp, kn) => { count("remove_header"); const k = str(kp, kn); maps[type] = (maps[type] ?? []).filter(([n]) => n !== k); return OK; },
  proxy_get_property: (pp, pn, retPtr, retSize) => {
    count("get_property");
    const path = str(pp, pn).split("\0").filter(Boolean).join(".");
    const value = { "source.address": "127.0.0.1:40000", "request.path": "/bench" }[path];
    return value === undefined ? NOT_FOUND : give(enc.encode(value), retPtr, retSize);
  },
  proxy_get_shared_data: (kp, kn, retPtr, retSize, retCas) => {
    count("get_shared");
    const e = shared.get(str(kp, kn));
    if (!e) return NOT_FOUND;
    dv().setUint32(retCas, e.cas, true);
    return give(e.value, retPtr, retSize);
  },
  proxy_set_shared_data: (kp, kn, vp, vn, cas) => {
    count("set_shared");
    const k = str(kp, kn), e = shared.get(k);
    if (cas !== 0 && e && e.cas !== cas) return CAS_MISMATCH;
    shared.set(k, { value: bytes(vp, vn), cas: (e?.cas ?? 0) + 1 });
    return OK;
  },
  proxy_define_metric: (type, np, nn, ret) => { metrics.push(0); dv().setUint32(ret, metrics.length - 1, true); return OK; },
  proxy_increment_metric: (id, by) => { count("increment_metric"); metrics[id] += Number(by); return OK; },
  proxy_continue_stream: () => { count("continue_stream"); return OK; },
  proxy_send_local_response: (status) => { count("send_local_response"); console.error(`local reply ${status}`); return OK; },
  proxy_set_effective_context: () => OK,
  proxy_done: () => OK,
};
const wasi = {
  fd_write: (fd, iovs, n, ret) => { let t = 0; for (let i = 0; i < n; i++) t += dv().getUint32(iovs + i * 8 + 4, true); dv().setUint32(ret, t, true); return 0; },
  random_get: (p, n) => { randomFillSync(u8(), p, n); return 0; },
  environ_get: () => 0,
  environ_sizes_get: (a, b) => { dv().setUint32(a, 0, true); dv().setUint32(b, 0, true); return 0; },
  clock_time_get: (id, prec, ret) => { dv().setBigUint64(ret, now, true); return 0; },
  proc_exit: (code) => { throw new Error(`proc_exit(${code})`); },
};
const missing = (ns) => new Proxy(ns, { get: (t, k) => t[k] ?? (() => { throw new Error(`host function ${String(k)} not in this harness`); }) });

const module = await WebAssembly.compile(readFileSync(modulePath));
const instance = await WebAssembly.instantiate(module, { env: missing(env), wasi_snapshot_preview1: missing(wasi) });
exp = instance.exports;
mem = exp.memory;
exp._initialize?.();
const ROOT = 1;
exp.proxy_on_context_create(ROOT, 0);
exp.proxy_on_vm_start(ROOT, 0);
if (!exp.proxy_on_configure(ROOT, config.length)) throw new Error("configuration refused");

function request(id) {
  maps = { 0: requestHeaders.slice(), 2: [[":status", "200"], ["content-length", "3"]] };
  exp.proxy_on_context_create(id, ROOT);
  const a = exp.proxy_on_request_headers(id, maps[0].length, 1);
  if (a !== 0) throw new Error(`request ${id} paused or answered (action ${a})`);
  exp.proxy_on_response_headers(id, maps[2].length, 1);
  exp.proxy_on_log?.(id);
  exp.proxy_on_done(id);
  exp.proxy_on_delete(id);
}

for (let i = 0; i < 30000; i++) request(2 + i); // warm up (V8 tiers up)
calls.clear();
const t0 = process.hrtime.bigint();
for (let i = 0; i < requests; i++) request(10_000 + i);
const ns = Number(process.hrtime.bigint() - t0) / requests;
console.log(`${modulePath}: ${ns.toFixed(0)} ns per request (${requests} requests)`);
console.log([...calls].map(([k, v]) => `${k} ${(v / requests).toFixed(2)}`).join(", "));
const added = (m, before) => m.filter(([n]) => !before.some(([b]) => b === n)).map(([n, v]) => `${n}: ${v.slice(0, 40)}`);
console.log(`request headers added: ${added(maps[0], requestHeaders).join(", ") || "none"}; response: ${added(maps[2], [[":status"], ["content-length"]]).join(", ") || "none"}`);
