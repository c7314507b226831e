#!/usr/bin/env node
// Runs YARA-X (the napi build in @litko/yara-x-linux-x64-gnu, pinned in package-lock.json) for
// rulegen's tests and scan benchmark. Every command prints one JSON document on stdout.
//
//   yarax.js check RULES...                  errors and warnings, per file and of all together
//   yarax.js scan RULES... -- TARGET...      the rules each target matches
//   yarax.js bench CORPUS MB PASSES BASELINE RULES...
//                                            scan cost in memory against a baseline ruleset
//
// RULES are YARA source files or directories of them, compiled together into one namespace as a rules repository is
// loaded. Install with `npm ci` in this directory (make yarax-deps does).
"use strict";
const fs = require("fs");
const path = require("path");

const yarax = require("@litko/yara-x-linux-x64-gnu");

function main(argv) {
  const [command, ...args] = argv;
  switch (command) {
    case "check":
      return check(args);
    case "scan":
      return scan(args);
    case "bench":
      return bench(args);
    default:
      throw new Error(`usage: yarax.js check|scan|bench ... (got ${JSON.stringify(command)})`);
  }
}

// read reads rule files; a directory stands for the .yar files under it, in sorted order.
function read(paths) {
  return expand(paths).map((file) => ({ file, source: fs.readFileSync(file, "utf8") }));
}

function expand(paths) {
  const files = [];
  for (const p of paths) {
    if (!fs.statSync(p).isDirectory()) {
      files.push(p);
      continue;
    }
    const names = fs.readdirSync(p, { withFileTypes: true }).map((e) => e.name).sort();
    files.push(...expand(names.map((n) => path.join(p, n)).filter((f) => fs.statSync(f).isDirectory() || f.endsWith(".yar"))));
  }
  return files;
}

// compile builds one ruleset of every source, in the default namespace.
function compile(sources) {
  const rules = yarax.create();
  rules.addRuleSources(sources.map(({ source }) => ({ source })));
  return rules;
}

// check compiles every file together, as a rules repository is loaded, which also finds what
// only a shared namespace shows (a rule name used twice). Messages of a compilation name no
// file, so when there are any, each file is validated on its own to say where they are.
function check(paths) {
  const sources = read(paths);
  const out = { files: sources.length, errors: [], warnings: [] };
  let together = [];
  try {
    together = compile(sources).getWarnings().map((w) => ({ file: "", code: w.code, message: w.message }));
  } catch (e) {
    together = [{ file: "", code: e.code || "", message: e.message, error: true }];
  }
  if (together.length === 0) return out;
  for (const { file, source } of sources) {
    const result = yarax.validate(source);
    for (const e of result.errors) out.errors.push({ file, code: e.code, message: e.message });
    for (const w of result.warnings) out.warnings.push({ file, code: w.code, message: w.message });
  }
  if (out.errors.length + out.warnings.length === 0) {
    for (const m of together) (m.error ? out.errors : out.warnings).push({ file: "", code: m.code, message: m.message });
  }
  return out;
}

function scan(args) {
  const split = args.indexOf("--");
  if (split < 0) throw new Error("usage: yarax.js scan RULES... -- TARGET...");
  const rules = compile(read(args.slice(0, split)));
  rules.setMaxMatchesPerPattern(1);
  return args.slice(split + 1).map((target) => ({
    target,
    rules: [...new Set(rules.scan(fs.readFileSync(target)).map((m) => m.ruleIdentifier))].sort(),
  }));
}

// bench scans every corpus file with the rules and with the baseline back to back, in
// alternating order, PASSES times, and keeps each file's fastest time on each side: a shared
// machine only ever adds time. The ratio is of the sums of those minima.
function bench([corpusDir, mb, passes, baselineFile, ...ruleFiles]) {
  const corpus = loadCorpus(corpusDir, Number(mb) << 20);
  const baseline = compile(read([baselineFile]));
  let start = process.hrtime.bigint();
  const rules = compile(read(ruleFiles));
  const compileSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const buf of corpus) baseline.scan(buf); // warm up
  const withRules = new Array(corpus.length).fill(Infinity);
  const withBaseline = new Array(corpus.length).fill(Infinity);
  for (let pass = 0; pass < Number(passes); pass++) {
    corpus.forEach((buf, i) => {
      if ((i + pass) % 2 === 0) {
        withBaseline[i] = Math.min(withBaseline[i], timed(baseline, buf));
        withRules[i] = Math.min(withRules[i], timed(rules, buf));
      } else {
        withRules[i] = Math.min(withRules[i], timed(rules, buf));
        withBaseline[i] = Math.min(withBaseline[i], timed(baseline, buf));
      }
    });
  }
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  return {
    files: corpus.length,
    bytes: sum(corpus.map((b) => b.length)),
    compile_s: compileSeconds,
    rules_s: sum(withRules) / 1e9,
    baseline_s: sum(withBaseline) / 1e9,
    ratio: sum(withRules) / sum(withBaseline),
  };
}

function timed(rules, buf) {
  const start = process.hrtime.bigint();
  rules.scan(buf);
  return Number(process.hrtime.bigint() - start);
}

// loadCorpus reads regular files under dir in lexical walk order, as the Go benchmark does,
// leaving out files over 128 MiB, until limit bytes are held.
function loadCorpus(dir, limit) {
  const corpus = [];
  let total = 0;
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (total >= limit) return;
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(p);
      } else if (entry.isFile()) {
        try {
          if (fs.statSync(p).size > 128 << 20) continue;
          const data = fs.readFileSync(p);
          corpus.push(data);
          total += data.length;
        } catch {
          // unreadable files are not part of the corpus
        }
      }
    }
  };
  walk(dir);
  return corpus;
}

try {
  process.stdout.write(JSON.stringify(main(process.argv.slice(2))) + "\n");
} catch (e) {
  process.stderr.write(`yarax.js: ${e.message}\n`);
  process.exit(2);
}
