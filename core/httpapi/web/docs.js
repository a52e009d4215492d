// Renders /openapi.json as a readable page: one section per tag, one card
// per operation with its parameters, request example and responses. All
// text is inserted as text, never as markup.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// prose renders a description: text between backticks becomes code; all
// of it is inserted as text.
function prose(tag, text) {
  const node = el(tag);
  String(text).split("`").forEach((part, i) => node.append(i % 2 ? el("code", { text: part }) : part));
  return node;
}

function resolve(doc, obj) {
  while (obj && obj.$ref) {
    obj = obj.$ref.slice(2).split("/").reduce((o, k) => o[k], doc);
  }
  return obj;
}

function schemaText(doc, schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.type === "array" && schema.items) return "array of " + schemaText(doc, schema.items);
  if (schema.enum) return schema.enum.join(" | ");
  return [].concat(schema.type || "any").join(" or ");
}

function pretty(value, ctype) {
  if (typeof value === "string" && !(ctype || "").includes("json")) return value;
  return JSON.stringify(value, null, 2);
}

function anchor(method, path) {
  return (method + path).replace(/[^a-zA-Z0-9]+/g, "-");
}

// scrollable wraps a wide element in a region that scrolls sideways on a
// narrow screen and can be focused to scroll it with the keyboard.
function scrollable(id, label, child) {
  return el("div", { class: "table-wrap", id, tabindex: "0", role: "region", "aria-label": label }, child);
}

// example is a code example that scrolls sideways instead of widening
// the page.
function example(text) {
  return el("pre", { class: "example", tabindex: "0" }, el("code", { text }));
}

function operationCard(doc, path, method, op) {
  const id = anchor(method, path);
  const card = el("section", { class: "card", id, "aria-labelledby": id + "-h" },
    el("h3", { id: id + "-h", class: "card-title" }, el("code", { text: method.toUpperCase() + " " + path }), " " + (op.summary || "")));
  if (op.description) card.append(prose("p", op.description));
  const params = op.parameters || [];
  if (params.length) {
    const rows = params.map((p) => el("tr", {},
      el("td", {}, el("code", { text: p.name })), el("td", { text: p.in }),
      el("td", { text: schemaText(doc, p.schema) }), el("td", { text: p.required ? "yes" : "no" }),
      el("td", { text: (p.description || "") + (p.example !== undefined ? " Example: " + p.example : "") })));
    card.append(el("h4", { text: "Parameters" }), scrollable(id + "-params", "Parameters of " + method.toUpperCase() + " " + path, el("table", {},
      el("thead", {}, el("tr", {}, ...["Name", "In", "Type", "Required", "Description"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...rows))));
  }
  if (op.requestBody) {
    for (const [ctype, media] of Object.entries(op.requestBody.content || {})) {
      card.append(el("h4", { text: "Request body (" + ctype + ")" }));
      if (media.schema) card.append(el("p", { text: "Schema: " + schemaText(doc, media.schema) }));
      if (media.example !== undefined) card.append(example(pretty(media.example, ctype)));
    }
  }
  const rows = Object.entries(op.responses || {}).map(([status, r]) => {
    r = resolve(doc, r);
    const cell = prose("td", r.description || "");
    for (const [ctype, media] of Object.entries(r.content || {})) {
      if (media.example !== undefined) cell.append(example(pretty(media.example, ctype)));
    }
    return el("tr", {}, el("th", { scope: "row", text: status }), cell);
  });
  card.append(el("h4", { text: "Responses" }), scrollable(id + "-responses", "Responses of " + method.toUpperCase() + " " + path, el("table", {},
    el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Status" }), el("th", { scope: "col", text: "Meaning and example" }))),
    el("tbody", {}, ...rows))));
  return card;
}

async function render() {
  const doc = await (await fetch("/openapi.json")).json();
  document.getElementById("doc-title").textContent = doc.info.title + " API reference";
  const summary = document.getElementById("doc-summary");
  summary.replaceChildren(...prose("span", doc.info.description + " ").childNodes, el("a", { href: "/openapi.json", text: "OpenAPI " + doc.openapi + " document" }), ".");
  const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["Other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  const toc = document.getElementById("toc");
  const out = document.getElementById("operations");
  for (const [tag, ops] of byTag) {
    if (!ops.length) continue;
    toc.append(el("div", {}, el("h3", { text: tag }), el("ul", {}, ...ops.map(([p, m, op]) =>
      el("li", {}, el("a", { href: "#" + anchor(m, p) }, el("code", { text: m.toUpperCase() + " " + p })))))));
    out.append(el("h2", { text: tag }), ...ops.map(([p, m, op]) => operationCard(doc, p, m, op)));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  render().catch((err) => {
    document.getElementById("doc-summary").textContent = "Could not load /openapi.json: " + err;
  });
});
