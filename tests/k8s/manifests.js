#!/usr/bin/env node
// Reads a kustomize base the way `kubectl apply -k DIR` takes it: the
// resources of DIR/kustomization.yaml in their order (a resource that is a
// directory is read as a kustomization in turn), then any FILE given.
//
//   node manifests.js validate DIR [FILE...]
//       checks every document against the Kubernetes API schema of its
//       apiVersion and kind (npm kubernetes-models): wrong types, missing
//       required fields, and unknown fields, which the models' validate()
//       alone lets through; one line per document, exit 1 on any error
//   node manifests.js dump DIR [FILE...]
//       prints the documents as JSON, [{file, index, doc}], for the checks
//       of tests/k8s/test_k8s_manifests.py; exit 1 if one does not parse
//
// The modules come from NODE_PATH (the test runs `npm ci` in the build
// directory, never in the source tree).
"use strict";

const fs = require("fs");
const path = require("path");
const YAML = require("yaml");

function fail(msg) {
	process.stderr.write("manifests.js: " + msg + "\n");
	process.exit(2);
}

// The files of a kustomization, in the order it lists them.
function kustomizationFiles(dir, seen) {
	const kfile = path.join(dir, "kustomization.yaml");
	const real = fs.realpathSync(dir);
	if (seen.has(real))
		throw new Error(kfile + ": included twice");
	seen.add(real);
	const k = YAML.parse(fs.readFileSync(kfile, "utf8"));
	if (k === null || typeof k !== "object" ||
	    k.kind !== "Kustomization" || !Array.isArray(k.resources))
		throw new Error(kfile + ": not a Kustomization with resources");
	const files = [];
	for (const r of k.resources) {
		const p = path.join(dir, String(r));
		if (fs.statSync(p).isDirectory())
			files.push(...kustomizationFiles(p, seen));
		else
			files.push(p);
	}
	return files;
}

// Every document of every file; a YAML error or warning (a duplicate key
// among them) is an error.
function load(dir, extra) {
	const out = [];
	const files = kustomizationFiles(dir, new Set()).concat(extra);
	for (const file of files) {
		const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"),
		    { prettyErrors: true });
		docs.forEach((d, i) => {
			const errs = d.errors.concat(d.warnings);
			if (errs.length > 0)
				throw new Error(file + ": document " + (i + 1) +
				    ": " + errs.map(e => e.message).join("; "));
			const doc = d.toJS();
			if (doc !== null)
				out.push({ file: file, index: i + 1, doc: doc });
		});
	}
	return out;
}

// kubernetes-models has one module per apiVersion and kind:
// kubernetes-models/apps/v1/Deployment, kubernetes-models/v1/Service.
function modelOf(doc) {
	if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string" ||
	    !/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(doc.apiVersion) ||
	    !/^[A-Z][A-Za-z0-9]*$/.test(doc.kind))
		return null;
	try {
		return require("kubernetes-models/" + doc.apiVersion + "/" +
		    doc.kind)[doc.kind] || null;
	} catch (e) {
		return null;
	}
}

// The models' validators are generated code that reads, on each object,
// exactly the properties its schema knows (maps read every key).  Each
// object of the document is handed to them behind a Proxy that records
// the keys read; a key never read is a field the schema does not have.
function track(value, where, nodes) {
	if (value === null || typeof value !== "object")
		return value;
	const read = new Set();
	const copy = Array.isArray(value) ?
	    value.map((v, i) => track(v, where + "/" + i, nodes)) :
	    Object.fromEntries(Object.entries(value).map(([k, v]) =>
		[k, track(v, where + "/" + k, nodes)]));
	if (!Array.isArray(value))
		nodes.push({ where: where, keys: Object.keys(value), read: read });
	return new Proxy(copy, {
		get(target, key, receiver) {
			if (typeof key === "string")
				read.add(key);
			return Reflect.get(target, key, receiver);
		},
	});
}

// The errors of one document, as strings naming the field.
function check(doc) {
	const Model = modelOf(doc);
	if (Model === null)
		return ["no schema for apiVersion " + JSON.stringify(doc.apiVersion) +
		    " kind " + JSON.stringify(doc.kind)];
	const nodes = [];
	const data = track(doc, "", nodes);
	const errors = [];
	try {
		Model.prototype.validate.call(data);
	} catch (e) {
		for (const err of e.errors || [])
			errors.push((err.instancePath || "/") + ": " + err.message +
			    (err.params && err.params.missingProperty ?
			    " (" + err.params.missingProperty + ")" : ""));
		if (!e.errors)
			errors.push(String(e.message));
	}
	// an object the validator never looked into (under a field that
	// already failed) says nothing about its keys
	for (const n of nodes)
		if (n.read.size > 0)
			for (const k of n.keys)
				if (!n.read.has(k))
					errors.push(n.where + "/" + k +
					    ": unknown field");
	return errors;
}

function main(argv) {
	const [mode, dir, ...extra] = argv;
	if ((mode !== "validate" && mode !== "dump") || dir === undefined)
		fail("usage: manifests.js validate|dump DIR [FILE...]");
	let docs;
	try {
		docs = load(dir, extra);
	} catch (e) {
		process.stdout.write("error: " + e.message + "\n");
		return 1;
	}
	if (mode === "dump") {
		process.stdout.write(JSON.stringify(docs) + "\n");
		return 0;
	}
	let bad = 0;
	for (const { file, index, doc } of docs) {
		const name = file + "#" + index + " " + doc.kind + "/" +
		    (doc.metadata && doc.metadata.name);
		const errors = check(doc);
		if (errors.length === 0) {
			process.stdout.write("ok " + name + "\n");
			continue;
		}
		bad++;
		for (const e of errors)
			process.stdout.write("error " + name + " " + e + "\n");
	}
	process.stdout.write(docs.length + " document(s), " + bad +
	    " with errors\n");
	return bad === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
