#!/usr/bin/env node
// A native-solc-compatible command line over solc-js (WebAssembly), so py-solc-x,
// forge, slither and brownie compile offline. Answers --version, --standard-json
// (stdin, with an import callback) and --combined-json.
"use strict";
const fs = require("fs");
const path = require("path");

function loadSolc() {
  const extra = process.env.NEUROLINK_NODE_MODULES;
  const bases = [extra, path.resolve(__dirname, "..", "..", "node_modules")].filter(Boolean);
  for (const base of bases) {
    try {
      return require(path.join(base, "solc"));
    } catch (_) {
      // try the next location
    }
  }
  return require("solc");
}

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], allowPaths: [], remappings: [], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takeValue = () => {
      if (a.includes("=")) return a.slice(a.indexOf("=") + 1);
      i += 1;
      return argv[i];
    };
    if (a === "--version" || a === "-v") opts.version = true;
    else if (a === "--standard-json") opts.standardJson = true;
    else if (a.startsWith("--combined-json")) opts.combinedJson = takeValue();
    else if (a.startsWith("--base-path")) opts.basePath = takeValue();
    else if (a.startsWith("--include-path")) opts.includePaths.push(takeValue());
    else if (a.startsWith("--allow-paths")) opts.allowPaths.push(...takeValue().split(","));
    else if (a.startsWith("--evm-version")) opts.evmVersion = takeValue();
    else if (a.startsWith("--optimize-runs")) opts.optimizeRuns = parseInt(takeValue(), 10);
    else if (a === "--optimize") opts.optimize = true;
    else if (a === "--via-ir") opts.viaIR = true;
    else if (a === "--no-color" || a === "--pretty-json" || a === "--metadata-hash=none") continue;
    else if (a.startsWith("--output-dir") || a.startsWith("-o")) takeValue();
    else if (a === "-") opts.stdinSource = true;
    else if (a.startsWith("--")) continue; // unknown flags are ignored like solc's cosmetic ones
    else if (a.includes("=") && !fs.existsSync(a)) opts.remappings.push(a);
    else opts.files.push(a);
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath, ...opts.includePaths, process.cwd(), ...opts.allowPaths].filter(Boolean);
  return function findImports(importPath) {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((root) => path.resolve(root, importPath));
    for (const candidate of candidates) {
      try {
        return { contents: fs.readFileSync(candidate, "utf8") };
      } catch (_) {
        // not under this root
      }
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function nativeVersion(solc) {
  // solc-js says "0.8.37+commit.f401782d.Emscripten.clang"; tools parse native solc's banner.
  return `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`;
}

function standardJson(solc, opts, input) {
  return solc.compile(input, { import: makeImportCallback(opts) });
}

const COMBINED_FIELDS = {
  abi: "abi",
  bin: "evm.bytecode.object",
  "bin-runtime": "evm.deployedBytecode.object",
  metadata: "metadata",
  userdoc: "userdoc",
  devdoc: "devdoc",
  hashes: "evm.methodIdentifiers",
  "srcmap": "evm.bytecode.sourceMap",
  "srcmap-runtime": "evm.deployedBytecode.sourceMap",
  asm: "evm.legacyAssembly",
  "storage-layout": "storageLayout",
};

function combinedJson(solc, opts) {
  const fields = opts.combinedJson.split(",").map((f) => f.trim()).filter(Boolean);
  const selection = [...new Set(fields.map((f) => COMBINED_FIELDS[f]).filter(Boolean))];
  const sources = {};
  for (const file of opts.files) sources[file] = { content: fs.readFileSync(file, "utf8") };
  const input = {
    language: "Solidity",
    sources,
    settings: {
      remappings: opts.remappings,
      optimizer: { enabled: Boolean(opts.optimize), runs: opts.optimizeRuns || 200 },
      outputSelection: { "*": { "*": selection, "": ["ast"] } },
    },
  };
  if (opts.evmVersion) input.settings.evmVersion = opts.evmVersion;
  if (opts.viaIR) input.settings.viaIR = true;
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: makeImportCallback(opts) }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const e of output.errors || []) process.stderr.write(e.formattedMessage || e.message);
  if (errors.length) return null;
  const pick = (obj, dotted) => dotted.split(".").reduce((o, k) => (o == null ? o : o[k]), obj);
  const contracts = {};
  for (const [file, byName] of Object.entries(output.contracts || {})) {
    for (const [name, c] of Object.entries(byName)) {
      const entry = {};
      for (const f of fields) {
        if (!COMBINED_FIELDS[f]) continue;
        entry[f] = pick(c, COMBINED_FIELDS[f]);
      }
      contracts[`${file}:${name}`] = entry;
    }
  }
  const sourceList = Object.keys(output.sources || {});
  const sourcesOut = {};
  for (const [file, s] of Object.entries(output.sources || {})) sourcesOut[file] = { AST: s.ast, id: s.id };
  return JSON.stringify({ contracts, sourceList, sources: sourcesOut, version: solc.version() });
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = loadSolc();
  if (opts.version) {
    process.stdout.write(nativeVersion(solc));
    return 0;
  }
  if (opts.standardJson) {
    const input = fs.readFileSync(0, "utf8");
    process.stdout.write(standardJson(solc, opts, input) + "\n");
    return 0;
  }
  if (opts.combinedJson) {
    const out = combinedJson(solc, opts);
    if (out === null) return 1;
    process.stdout.write(out + "\n");
    return 0;
  }
  process.stderr.write("neurolink solc shim: use --version, --standard-json or --combined-json\n");
  return 1;
}

// Never process.exit() after a large stdout write: the pipe would be cut at 64 KiB.
process.exitCode = main();
