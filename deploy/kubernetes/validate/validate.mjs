// Validates the Kubernetes manifests of deploy/kubernetes/ (or the files given as arguments)
// against the Kubernetes object schemas, object by object:
// - the apiVersion and kind must name a built-in Kubernetes object (kubernetes-models' model of
//   it), so a misspelt or unknown kind fails;
// - the object must pass that model's schema (types, required fields, formats);
// - no field may be unknown to the object's type. The models' schemas let unknown fields through,
//   as the API server's lenient decoding does, yet a misspelt field is a setting silently lost:
//   each object is type-checked as a TypeScript literal of the model's interface, whose excess
//   property check names the field.
// Before the manifests it checks itself: broken variants of a valid object must each be refused.
// Exit code 0 when every object is valid, 1 otherwise (each problem printed), 2 for bad usage.
//
//   npm ci && npm run validate            (in deploy/kubernetes/validate)
//   node validate.mjs some/other.yaml

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parseAllDocuments } from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const manifestsDir = path.join(here, "..");

/** The kubernetes-models module of an apiVersion: "v1" → v1, "apps/v1" → apps/v1. */
const moduleOf = (apiVersion) => `kubernetes-models/${apiVersion}`;

/** The objects of YAML files, each with where it comes from; YAML errors as problems. */
function readObjects(files) {
  const objects = [];
  const problems = [];
  for (const file of files) {
    const documents = parseAllDocuments(readFileSync(file, "utf8"));
    documents.forEach((document, index) => {
      const where = `${path.relative(process.cwd(), file)} #${index + 1}`;
      if (document.errors.length > 0) problems.push(`${where}: ${document.errors[0].message}`);
      else if (document.contents !== null) objects.push({ where, object: document.toJS() });
    });
  }
  return { objects, problems };
}

/** The model class of an object, or a problem saying why there is none. */
async function modelOf(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object))
    return { problem: "is not a Kubernetes object (a mapping with apiVersion and kind)" };
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== "string" || typeof kind !== "string")
    return { problem: "has no apiVersion and kind" };
  let module;
  try {
    module = await import(moduleOf(apiVersion));
  } catch {
    return { problem: `unknown apiVersion ${apiVersion}` };
  }
  const model = module[kind];
  if (typeof model !== "function" || model.kind !== kind || model.apiVersion !== apiVersion)
    return { problem: `unknown kind ${kind} in ${apiVersion}` };
  return { model };
}

/** Every problem of the objects: unknown kinds, schema violations, unknown fields. */
async function problemsOf(objects) {
  const problems = [];
  const typed = [];
  for (const { where, object } of objects) {
    const { model, problem } = await modelOf(object);
    if (problem) {
      problems.push(`${where}: ${problem}`);
      continue;
    }
    const name = `${object.kind} ${object.metadata?.name ?? "(no name)"}`;
    try {
      new model(object).validate();
    } catch (error) {
      problems.push(`${where} ${name}: ${error.message}`);
    }
    typed.push({ where: `${where} ${name}`, object });
  }
  return problems.concat(unknownFields(typed));
}

/** Type-checks each object as a literal of its model's interface; one problem per excess or mistyped field. */
function unknownFields(objects) {
  if (objects.length === 0) return [];
  // Inside this folder, so that the files resolve kubernetes-models from its node_modules.
  const dir = mkdtempSync(path.join(here, ".check-"));
  try {
    const files = objects.map(({ object }, index) => {
      const file = path.join(dir, `object${index}.ts`);
      writeFileSync(file,
        `import type { I${object.kind} } from "${moduleOf(object.apiVersion)}/${object.kind}";\n` +
        `export const object: I${object.kind} = ${JSON.stringify(object, null, 2)};\n`);
      return file;
    });
    const program = ts.createProgram(files, {
      noEmit: true,
      strict: true,
      skipLibCheck: true,
      types: [],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
    });
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const index = files.indexOf(diagnostic.file?.fileName ?? "");
      const where = index >= 0 ? objects[index].where : "type check";
      return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, " ")}`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The validator refuses broken variants of a valid object, each for its own reason. */
async function selfCheck() {
  const service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "self-check" },
    spec: { selector: { app: "x" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
  };
  const broken = [
    ["an unknown field", { ...service, spec: { ...service.spec, clusterIp: "None" } }],
    ["a mistyped value", { ...service, spec: { ...service.spec, ports: [{ port: "eighty" }] } }],
    ["a missing required field", { ...service, spec: { ...service.spec, ports: [{ name: "http" }] } }],
    ["an unknown kind", { ...service, kind: "Servise" }],
    ["an unknown apiVersion", { ...service, apiVersion: "v2" }],
  ];
  const failures = [];
  if ((await problemsOf([{ where: "self-check", object: service }])).length > 0)
    failures.push("a valid Service was refused");
  for (const [what, object] of broken) {
    if ((await problemsOf([{ where: "self-check", object }])).length === 0)
      failures.push(`a Service with ${what} was accepted`);
  }
  return failures;
}

const args = process.argv.slice(2);
if (args.some((arg) => arg.startsWith("-"))) {
  console.error("usage: node validate.mjs [MANIFEST.yaml ...]   (default: every *.yaml in deploy/kubernetes/)");
  process.exit(2);
}

const selfCheckFailures = await selfCheck();
if (selfCheckFailures.length > 0) {
  for (const failure of selfCheckFailures) console.error(`validator self-check failed: ${failure}`);
  process.exit(1);
}
console.log("validator self-check: an unknown field, a mistyped value, a missing required field, an unknown kind and an unknown apiVersion are each refused");

const files = args.length > 0
  ? args.map((file) => path.resolve(file))
  : readdirSync(manifestsDir).filter((file) => /\.ya?ml$/.test(file)).sort().map((file) => path.join(manifestsDir, file));
if (files.length === 0) {
  console.error(`no manifests (*.yaml) in ${manifestsDir}`);
  process.exit(1);
}
const { objects, problems: yamlProblems } = readObjects(files);
const problems = yamlProblems.concat(await problemsOf(objects));
for (const problem of problems) console.error(problem);
if (problems.length > 0) {
  console.error(`${problems.length} problem(s) in the Kubernetes manifests`);
  process.exit(1);
}
for (const { where, object } of objects) console.log(`valid: ${where} ${object.kind} ${object.metadata?.name}`);
console.log(`${objects.length} Kubernetes objects in ${files.length} files are valid`);
