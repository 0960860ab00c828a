// Validates Istio resources against Istio's published schema (the npm package
// @kubernetes-models/istio) and checks that every WasmPlugin's pluginConfig is
// the JSON the matching Envoy file carries (envoy/<same name>.yaml, the wasm
// filter named like the plugin's pluginName).
//
//   npm install --prefix istio/.schema-check @kubernetes-models/istio@3.0.1 yaml@2.9.1
//   node istio/check-schema.mjs [--no-envoy] [--print] [FILE.yaml ...]   (default: istio/*.yaml)
//
// --print writes one JSON line per WasmPlugin (file, name, pluginName, url,
// sha256, phase, priority, failStrategy, pluginConfig, selector, targetRefs,
// targetRef, match) for the Rust tests.
// --write replaces each pluginConfig that differs with the Envoy file's
// configuration (comments elsewhere in the file are kept): run it after
// changing envoy/*.yaml.
// Exit status 1 and one line per problem when anything is wrong.
import { readFileSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
// The packages live in istio/.schema-check, not on node's search path: load
// them by file (the istio package is ESM-only, so require.resolve cannot).
const modules = join(here, ".schema-check", "node_modules");
const load = (path) => import(pathToFileURL(join(modules, path)).href);
const YAML = await load("yaml/dist/index.js");
const istio = "@kubernetes-models/istio";
const kinds = {
  WasmPlugin: (await load(`${istio}/extensions.istio.io/v1alpha1/WasmPlugin.js`)).WasmPlugin,
  ServiceEntry: (await load(`${istio}/networking.istio.io/v1/ServiceEntry.js`)).ServiceEntry,
  DestinationRule: (await load(`${istio}/networking.istio.io/v1/DestinationRule.js`)).DestinationRule,
};

const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
let files = args.filter((a) => !a.startsWith("--"));
if (files.length === 0) {
  files = readdirSync(here).filter((f) => f.endsWith(".yaml")).sort().map((f) => join(here, f));
}

const problems = [];
const envoyConfigs = (file) => {
  // istio/<name>-gateway.yaml is istio/<name>.yaml aimed at a gateway.
  const path = join(here, "..", "envoy", basename(file).replace(/-gateway\.yaml$/, ".yaml"));
  if (!existsSync(path)) return null;
  const configs = {};
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== "object") return;
    const value = node.typed_config?.config?.configuration?.value;
    if (typeof node.name === "string" && typeof value === "string") {
      configs[node.name] = JSON.parse(value);
    }
    Object.values(node).forEach(walk);
  };
  walk(YAML.parse(readFileSync(path, "utf8")));
  return configs;
};

for (const file of files) {
  const docs = YAML.parseAllDocuments(readFileSync(file, "utf8"));
  let rewritten = false;
  const envoy = flag("--no-envoy") ? null : envoyConfigs(file);
  let plugins = 0;
  for (const doc of docs) {
    if (doc.errors.length) {
      problems.push(`${file}: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    const where = `${file}: ${obj.kind} ${obj.metadata?.name}`;
    const Model = kinds[obj.kind];
    if (!Model) {
      problems.push(`${where}: no schema for kind ${obj.kind}`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      problems.push(`${where}: ${e.message}`);
      continue;
    }
    if (obj.kind !== "WasmPlugin") continue;
    plugins += 1;
    const spec = obj.spec;
    if (envoy) {
      const want = envoy[spec.pluginName];
      if (want === undefined) {
        problems.push(`${where}: envoy/${basename(file)} has no wasm filter named ${spec.pluginName}`);
      } else if (!isDeepStrictEqual(spec.pluginConfig, want)) {
        if (flag("--write")) {
          doc.setIn(["spec", "pluginConfig"], doc.createNode(want));
          rewritten = true;
        } else {
          problems.push(`${where}: pluginConfig differs from the configuration in envoy/${basename(file)} (run: node istio/check-schema.mjs --write)`);
        }
      }
    }
    if (flag("--print")) {
      const { pluginName, url, sha256, phase, priority, failStrategy, pluginConfig } = spec;
      const { selector, targetRefs, targetRef, match, vmConfig } = spec;
      console.log(JSON.stringify({
        file: resolve(file), name: obj.metadata.name, pluginName, url, sha256, phase, priority,
        failStrategy, pluginConfig, selector, targetRefs, targetRef, match, vmConfig,
      }));
    }
  }
  if (docs.length === 0) problems.push(`${file}: no resources`);
  if (rewritten) {
    writeFileSync(file, docs.map(String).join(""));
    console.error(`rewrote pluginConfig in ${file}`);
  }
  if (!flag("--print")) console.error(`${problems.length ? "checked" : "ok"} ${file}`);
}
for (const p of problems) console.error(`error: ${p}`);
process.exit(problems.length ? 1 : 0);
