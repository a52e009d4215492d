// Curtain dashboard: a small single-page app over the JSON API. No
// framework and no build step; every value from the server is inserted as
// text, never as markup (the /shorten-ui fragment is escaped by the
// server).
"use strict";

const PAGE_SIZE = 20;
// SEARCH_DELAY_MS is how long the search waits for the typing to pause.
const SEARCH_DELAY_MS = 250;
const REFRESH_MS = 5000;
const KEY_STORAGE = "curtain.apiKey"; // sessionStorage: this tab only

const $ = (id) => document.getElementById(id);

const state = {
  links: [],      // the links of the page shown
  page: 0,
  after: [null],  // after[p]: the after_id of page p (the last id of page p-1)
  more: false,    // a page follows the one shown
  listing: 0,     // the number of the last list request; older answers are dropped
  searchTimer: null,
  linkID: 0,      // the link whose figures the link view shows
  timer: null,    // the refresh timer of the current view
  view: "",
  link: null,     // the link the link view shows, as last read
  editDirty: false, // the edit form holds changes not saved yet
  saving: false,
};

// --- API ---------------------------------------------------------------

class APIError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// send makes a request with the session's API key and returns the
// answer, its text and its JSON (null when it is none); a 401 or 403 asks
// for a key.
async function send(method, path, headers, body) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers["X-API-Key"] = key;
  const response = await fetch(path, { method, headers, body });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (response.status === 401 || response.status === 403) {
    showKeyPrompt(data && data.error);
  }
  return { response, text, data };
}

// api sends a JSON request (send) and returns the JSON answer; a refusal
// throws an APIError with the server's reason.
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const { response, data } = await send(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
  if (!response.ok && !(response.status === 503 && path === "/health/ready")) {
    const msg = data && data.error ? data.error : "Request failed (" + response.status + ")";
    throw new APIError(response.status, msg);
  }
  return data;
}

// keyRefusal marks a message that reports a refusal for want of a key (a
// 401 or 403), or unmarks it: clearKeyRefusals empties the marked ones
// once a key is entered, so that no "API key required" stays on the page.
function keyRefusal(node, status) {
  if (status === 401 || status === 403) node.dataset.keyRefusal = "";
  else delete node.dataset.keyRefusal;
}

function clearKeyRefusals() {
  for (const node of document.querySelectorAll("[data-key-refusal]")) {
    delete node.dataset.keyRefusal;
    node.textContent = "";
    if (node.getAttribute("role") === "alert") node.hidden = true; // keeps its style
    else node.className = "";
  }
}

function announce(text) {
  const s = $("status");
  s.textContent = "";
  setTimeout(() => { s.textContent = text; }, 50);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) {
    if (c !== null && c !== undefined) node.append(c);
  }
  return node;
}

// shortLinkPath is "/r/", or "/" when the server has root codes on
// (links.root_codes); the server writes it into the page.
const shortLinkPath =
  document.querySelector('meta[name="curtain-short-link-path"]')?.content || "/r/";

function shortLink(code) {
  return location.origin + shortLinkPath + encodeURIComponent(code);
}

// copyText copies to the clipboard, with a fallback for pages served over
// plain HTTP (where navigator.clipboard is missing).
async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall through */ }
  const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { ok = false; }
  area.remove();
  return ok;
}

async function copyShort(code, button) {
  const ok = await copyText(shortLink(code));
  const text = ok ? "Copied " + shortLink(code) : "Copy failed; the short link is " + shortLink(code);
  announce(text);
  if (button) {
    const label = button.textContent;
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = label; }, 1500);
  }
}

async function setActive(link, active) {
  const updated = await api("PUT", "/urls/" + link.id, { is_active: active });
  announce(updated.short_code + (updated.is_active ? " is active" : " is inactive"));
  return updated;
}

// --- views -------------------------------------------------------------

function showView(name) {
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + name;
  for (const a of document.querySelectorAll("[data-nav]")) {
    if ((a.dataset.nav === "links" && (name === "links" || name === "link")) || a.dataset.nav === name) {
      a.setAttribute("aria-current", "page");
    } else {
      a.removeAttribute("aria-current");
    }
  }
  state.view = name;
  // The route list belongs to the links page (the reference's page had it).
  document.querySelector(".api-ref").hidden = name !== "links";
}

function every(fn) {
  clearInterval(state.timer);
  fn();
  state.timer = setInterval(fn, REFRESH_MS);
}

// showKeyPrompt asks for an API key; reason is the server's answer to
// the key the tab sent, if it sent one (an unknown, revoked or read-only
// key), so that the person knows why it asks again.
function showKeyPrompt(reason) {
  clearInterval(state.timer);
  const why = $("key-reason");
  why.textContent = reason && sessionStorage.getItem(KEY_STORAGE) ? "The server refused the key: " + reason + "." : "";
  why.hidden = why.textContent === "";
  showView("key");
  document.title = "API key required – URL Shortener";
  $("api-key").focus();
}

// route renders the view of the location's hash: #/, #/links/ID, #/health.
function route() {
  clearInterval(state.timer);
  const hash = location.hash || "#/";
  let m;
  if ((m = hash.match(/^#\/links\/(\d+)$/))) {
    showView("link");
    every(() => loadLink(Number(m[1])));
  } else if (hash === "#/health") {
    showView("health");
    document.title = "System health – URL Shortener";
    every(loadHealth);
  } else {
    showView("links");
    document.title = "URL Shortener";
    loadLinks();
  }
}

// --- links list ----------------------------------------------------------

// listQuery is the GET /urls of the page shown: the newest links first,
// searched and filtered by the API, one more than a page to know whether
// another follows, after the last id of the page before.
function listQuery() {
  const params = new URLSearchParams({ order: "newest", limit: String(PAGE_SIZE + 1) });
  const q = $("search").value.trim();
  if (q) params.set("q", q);
  if ($("filter-active").value) params.set("is_active", $("filter-active").value);
  const after = state.after[state.page];
  if (after !== null && after !== undefined) params.set("after_id", String(after));
  return "/urls?" + params;
}

// firstPage shows the list from its first page, as a new search or
// filter asks.
function firstPage() {
  state.page = 0;
  state.after = [null];
  return loadLinks();
}

async function loadLinks() {
  const mine = ++state.listing;
  try {
    const links = await api("GET", listQuery());
    if (mine !== state.listing) return; // a newer search or page since
    if (links.length === 0 && state.page > 0) {
      // The page emptied (links deleted since): show the one before.
      state.page--;
      return loadLinks();
    }
    state.more = links.length > PAGE_SIZE;
    state.links = links.slice(0, PAGE_SIZE);
    if (state.more) state.after[state.page + 1] = state.links[state.links.length - 1].id;
    renderLinks();
  } catch (err) {
    if (mine !== state.listing) return;
    // The links shown before may be gone or changed since: none of them
    // stays under the error, nor a pager over them.
    const summary = $("list-summary");
    const hadFocus = $("link-list").contains(document.activeElement) ||
      [$("prev-page"), $("next-page")].includes(document.activeElement);
    state.links = [];
    $("link-list").replaceChildren();
    $("page-info").textContent = "";
    $("prev-page").disabled = true;
    $("next-page").disabled = true;
    summary.textContent = "Could not load links: " + err.message;
    summary.classList.add("error");
    if (hadFocus) summary.focus();
  }
}

// listSummary says which links the page shows: "25 links" when they all
// fit on it, else their places in the list ("Links 21–40"); "matching"
// when searched or filtered.
function listSummary() {
  const n = state.links.length;
  const filtered = $("search").value.trim() !== "" || $("filter-active").value !== "";
  if (state.page === 0 && !state.more) {
    return n + (filtered ? " matching" : "") + (n === 1 ? " link" : " links");
  }
  const first = state.page * PAGE_SIZE + 1;
  const places = n === 1 ? "link " + first : "links " + first + "–" + (first + n - 1);
  return (filtered ? "Matching " + places : places[0].toUpperCase() + places.slice(1)) + ", newest first";
}

function renderLinks() {
  const list = $("link-list");
  list.replaceChildren(...state.links.map(linkItem));
  $("list-summary").classList.remove("error");
  $("list-summary").textContent = listSummary();
  $("page-info").textContent = "Page " + (state.page + 1);
  $("prev-page").disabled = state.page === 0;
  $("next-page").disabled = !state.more;
  // A pager button that had the focus and is now disabled (the first or
  // last page reached) would drop it: the other one takes it.
  const pager = [$("prev-page"), $("next-page")];
  if (pager.includes(document.activeElement) && document.activeElement.disabled) {
    (pager.find((b) => !b.disabled) || $("list-summary")).focus();
  }
}

// targetText is where a link redirects, as shown: the API hides a
// password-protected link's target (null) unless the API key in use may
// change the link.
function targetText(link) {
  return link.original_url === null ? "Target hidden: password-protected link" : link.original_url;
}

// linkState is what a visit to the link meets now, as the server decides
// it at each visit from is_active, valid_since and valid_until (times in
// UTC): "inactive", "expired", "not yet valid" or "active". A link whose
// max_visits are used up is not known here.
function linkState(link) {
  const at = (t) => Date.parse(/(Z|[+-]\d\d:\d\d)$/i.test(t) ? t : t + "Z");
  const now = Date.now();
  if (!link.is_active) return "inactive";
  if (link.valid_until && now >= at(link.valid_until)) return "expired";
  if (link.valid_since && now < at(link.valid_since)) return "not yet valid";
  return "active";
}

// stateText says on the link's page where a visit goes now.
function stateText(link) {
  const target = link.original_url === null ? "its hidden target" : link.original_url;
  const utc = (t) => t.replace("T", " ") + " UTC";
  switch (linkState(link)) {
  case "inactive": return "Inactive: visits are not sent to " + target;
  case "expired": return "Expired on " + utc(link.valid_until) + ": visits are no longer sent to " + target;
  case "not yet valid": return "Valid from " + utc(link.valid_since) + ": until then visits are not sent to " + target;
  default: return link.original_url === null ? targetText(link) : "Redirects to " + target;
  }
}

function linkItem(link) {
  // A toggle button: its name stays "Active" (spoken and shown) and
  // aria-pressed, drawn as a filled button, carries the state.
  const toggle = el("button", {
    type: "button", class: "secondary toggle", "aria-pressed": String(link.is_active),
    "aria-label": "Active: " + link.short_code,
    text: "Active",
    onclick: async () => {
      toggle.disabled = true;
      try {
        await setActive(link, !link.is_active);
        await loadLinks(); // the filter may leave the link out now
      } catch (err) {
        announce("Could not change " + link.short_code + ": " + err.message);
        toggle.disabled = false;
      }
      // The button (disabled meanwhile, or drawn anew) had the focus:
      // give it to this link's toggle, or to the list's summary when the
      // filter now hides the link.
      const again = $("link-list").querySelector('li[data-code="' + CSS.escape(link.short_code) + '"] button[aria-pressed]');
      if (!$("view-links").hidden) (again || $("list-summary")).focus();
    },
  });
  const copy = el("button", {
    type: "button", class: "secondary", text: "Copy",
    "aria-label": "Copy short link " + link.short_code,
    onclick: () => copyShort(link.short_code, copy),
  });
  return el("li", { class: "link", "data-code": link.short_code },
    el("div", { class: "link-main" },
      el("a", { class: "link-code", href: "#/links/" + link.id, text: link.short_code }),
      link.title ? el("span", { class: "link-title", text: link.title }) : null,
      el("span", { class: "badge " + (linkState(link) === "active" ? "on" : "off"), text: linkState(link) }),
      el("div", { class: "link-url", text: targetText(link) })),
    el("div", { class: "link-actions" }, copy, toggle));
}

// CREATE_OPTIONS are the create form's "More options" and how POST /urls
// reads them; /shorten-ui takes none of them.
const CREATE_OPTIONS = [
  { name: "short_code", kind: "text" },
  { name: "tags", kind: "list" },
  { name: "password", kind: "secret" },
  { name: "valid_until", kind: "time" },
  { name: "max_visits", kind: "count" },
];

// createBody is the POST /urls body of the create form when one of its
// options is filled in, else null: the form goes to /shorten-ui as the
// reference's does.
function createBody(form) {
  const filled = CREATE_OPTIONS.filter((f) => form.elements[f.name].value !== "");
  if (filled.length === 0) return null;
  const body = { original_url: form.elements.original_url.value };
  const title = editValue({ kind: "text" }, form.elements.title.value);
  if (title !== null) body.title = title;
  const user = editValue({ kind: "count" }, form.elements.user_id.value);
  if (user !== null) body.user_id = user;
  for (const f of filled) {
    const raw = form.elements[f.name].value;
    if (f.kind === "secret") body[f.name] = raw; // a password is sent as typed
    else if (f.kind === "list") body[f.name] = raw.split(",").map((t) => t.trim()).filter(Boolean);
    else body[f.name] = editValue(f, raw);
  }
  return body;
}

// plainBody is the /shorten-ui form body: the reference's fields only.
function plainBody(form) {
  const data = new FormData(form);
  for (const f of CREATE_OPTIONS) data.delete(f.name);
  return new URLSearchParams(data);
}

// showCreated shows a link POST /urls created as the /shorten-ui
// fragment shows one.
function showCreated(link) {
  const redirect = shortLink(link.short_code);
  const payload = location.origin + "/urls/" + link.id;
  const message = $("message");
  message.replaceChildren("Short URL ready!", el("br"), el("br"),
    el("strong", { text: "Redirect:" }), " ", el("a", { href: redirect, target: "_blank", text: redirect }), el("br"),
    el("strong", { text: "Payload:" }), " ", el("a", { href: payload, target: "_blank", text: payload }));
  message.className = "success";
  keyRefusal(message, 0);
}

// markInvalid marks an input invalid and gives it the focus, opening the
// "More options" that hide it.
function markInvalid(input) {
  input.setAttribute("aria-invalid", "true");
  const details = input.closest("details");
  if (details) details.open = true;
  input.focus();
}

// submitShorten creates a link: with /shorten-ui, whose fragment it
// shows, or with POST /urls when an option is filled in.
async function submitShorten(event) {
  event.preventDefault();
  const form = event.target;
  const indicator = $("indicator");
  indicator.classList.add("active");
  const inputs = [...form.querySelectorAll("input")];
  for (const input of inputs) input.removeAttribute("aria-invalid");
  try {
    const body = createBody(form);
    const { response, text, data } = body
      ? await send("POST", "/urls", { "Content-Type": "application/json" }, JSON.stringify(body))
      : await send("POST", form.action, {}, plainBody(form));
    const reason = data && data.error;
    const message = $("message");
    if (body && response.ok) {
      showCreated(data);
      form.reset();
      $("more-options").open = false; // back as it was, the options emptied
    } else if (!body && text.startsWith('<div id="message"')) {
      // The server escapes every value in this fragment.
      message.outerHTML = text;
      const fresh = $("message");
      fresh.setAttribute("aria-live", "polite");
      if (response.ok) form.reset();
    } else {
      // The server's reason as it stands, as the form's own refusals
      // (the /shorten-ui fragment) show theirs.
      message.textContent = reason || "Request failed (" + response.status + ")";
      message.className = "error";
      keyRefusal(message, response.status);
    }
    announce($("message").textContent);
    // The field a refusal names (Field 'x' …) is marked and focused, as
    // in the edit form.
    const named = response.ok ? null : inputs.find((i) => $("message").textContent.includes("'" + i.name + "'"));
    if (named) markInvalid(named);
    if (response.ok) await firstPage(); // the new link is the newest
  } catch (err) {
    const message = $("message");
    message.textContent = "Request failed: " + err;
    message.className = "error";
    keyRefusal(message, 0);
  } finally {
    indicator.classList.remove("active");
  }
}

// --- one link ------------------------------------------------------------

async function loadLink(id) {
  // The view this load is for, as the address names it (#/links/07 is
  // link 7 too).
  const here = location.hash;
  let link;
  try {
    link = await api("GET", "/urls/" + id);
  } catch (err) {
    if (location.hash !== here) return; // another view since
    // Nothing of a link shown before (or of this one, deleted since)
    // stays on the page, and none of its controls.
    $("link-details").hidden = true;
    $("link-title").textContent = err.status === 404 ? "Link not found" : "Could not load the link";
    $("link-target").textContent = err.message;
    document.title = $("link-title").textContent + " – URL Shortener";
    return;
  }
  if (location.hash !== here) return; // another view since
  $("link-details").hidden = false;
  document.title = link.short_code + " – URL Shortener";
  $("link-title").textContent = link.title ? link.title : "Link " + link.short_code;
  $("link-target").textContent = stateText(link) +
    (link.original_url === null ? " (an API key that may change it shows the target)" : "");
  $("link-short").textContent = shortLink(link.short_code);
  $("link-copy").onclick = () => copyShort(link.short_code, $("link-copy"));
  $("link-qr").src = "/urls/" + id + "/qr?size=128";
  $("link-qr-png").href = "/urls/" + id + "/qr?format=png&size=512";
  const toggle = $("link-toggle");
  toggle.className = "secondary";
  toggle.textContent = link.is_active ? "Deactivate" : "Activate";
  toggle.onclick = async () => {
    try {
      await setActive(link, !link.is_active);
      loadLink(id);
    } catch (err) {
      announce("Could not change the link: " + err.message);
    }
  };
  if (state.linkID !== id) {
    clearLinkFigures(); // none of another link's
    resetLinkForms();
  }
  state.linkID = id;
  state.link = link;
  // The form follows the link until the person starts editing it.
  if (!state.editDirty) fillEditForm(link);
  // The totals come from the analytics (kept in constant time, and read
  // again after a click this instance served), the table from the last
  // 20 events only: a link with millions of clicks costs the same.
  const get = (path) => api("GET", path).then((data) => ({ data }), (err) => ({ error: err.message }));
  const [realtime, analytics, events, breakdown] = await Promise.all([
    get("/urls/" + id + "/realtime"),
    get("/urls/" + id + "/analytics"),
    get("/events?url_id=" + id + "&order=newest&limit=20"),
    get("/urls/" + id + "/analytics/breakdown?period=7d"),
  ]);
  if (location.hash !== here) return; // another view since
  // A part that could not be read says so, and shows nothing older.
  const problems = [];
  const failed = (what, r) => {
    problems.push("Could not load " + what + ": " + r.error + ".");
    return r.error;
  };
  if (realtime.error) {
    const why = failed("the real-time clicks", realtime);
    $("stat-clicks").textContent = "–";
    $("stat-visitors").textContent = "–";
    $("chart").replaceChildren(el("p", { text: "Unavailable: " + why }));
    $("chart-table").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: "2", text: "Unavailable: " + why })));
  } else {
    $("stat-clicks").textContent = realtime.data.total_clicks;
    $("stat-visitors").textContent = realtime.data.unique_visitors;
    renderChart(realtime.data.hourly);
  }
  if (analytics.error) {
    failed("the stored totals", analytics);
    $("stat-redirects").textContent = "–";
    $("stat-events").textContent = "–";
  } else {
    $("stat-redirects").textContent = analytics.data.redirect_count;
    $("stat-events").textContent = analytics.data.total_events;
  }
  if (breakdown.error) {
    $("breakdown").replaceChildren(el("p", { text: "Unavailable: " + failed("the breakdown", breakdown) }));
  } else {
    renderBreakdown(breakdown.data);
  }
  if (events.error) {
    const why = failed("the recent events", events);
    $("events-table").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: "3", text: "Unavailable: " + why })));
  } else {
    renderEvents(events.data);
  }
  // Written only when it changes, so that the alert is not repeated at
  // every refresh.
  const note = problems.join(" ");
  if ($("link-errors").textContent !== note) $("link-errors").textContent = note;
  $("link-errors").hidden = note === "";
}

// EDIT_FIELDS are the edit form's inputs, the PUT /urls/ID fields they
// set and how their values are read.
const EDIT_FIELDS = [
  { id: "edit-url", field: "original_url", kind: "required" },
  { id: "edit-title", field: "title", kind: "text" },
  { id: "edit-since", field: "valid_since", kind: "time" },
  { id: "edit-until", field: "valid_until", kind: "time" },
  { id: "edit-max", field: "max_visits", kind: "count" },
  { id: "edit-expired", field: "expired_url", kind: "text" },
];

// editValue is the API value of an input's text: null for an empty
// optional field, a time with its seconds, a count as a number.
function editValue(f, raw) {
  const text = String(raw === null || raw === undefined ? "" : raw).trim();
  if (f.kind === "required") return text;
  if (text === "") return null;
  if (f.kind === "time") return text.length === 16 ? text + ":00" : text;
  if (f.kind === "count" && /^\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  return text; // the server says what is wrong with it
}

// fillEditForm shows the link's current values in the edit form.
function fillEditForm(link) {
  for (const f of EDIT_FIELDS) {
    const value = link[f.field] === null || link[f.field] === undefined ? "" : String(link[f.field]);
    const input = $(f.id);
    if (input.value !== value) input.value = value;
    // A hidden target (null) is left empty, and left alone when saving.
    if (f.kind === "required") input.required = link[f.field] !== null;
    input.removeAttribute("aria-invalid");
  }
}

// resetLinkForms closes the delete confirmation and clears the messages
// and unsaved edits of the link shown before.
function resetLinkForms() {
  state.editDirty = false;
  $("edit-message").textContent = "";
  $("edit-message").className = "";
  $("delete-confirm").hidden = true;
  $("link-delete").hidden = false;
  $("delete-error").hidden = true;
  $("delete-error").textContent = "";
}

// submitEdit sends the fields the person changed with PUT /urls/ID and
// shows the server's answer: the saved link, or its reason for refusing.
async function submitEdit(event) {
  event.preventDefault();
  const link = state.link;
  if (!link || state.saving) return;
  const message = $("edit-message");
  const say = (ok, text, status) => {
    message.className = ok ? "success" : "error";
    message.textContent = text;
    keyRefusal(message, status);
  };
  const changes = {};
  for (const f of EDIT_FIELDS) {
    const input = $(f.id);
    input.removeAttribute("aria-invalid");
    if (input.validity.badInput) {
      input.setAttribute("aria-invalid", "true");
      say(false, "Could not save: " + input.labels[0].textContent + " is not complete.");
      input.focus();
      return;
    }
    const value = editValue(f, input.value);
    if (value !== editValue(f, link[f.field])) changes[f.field] = value;
  }
  if (Object.keys(changes).length === 0) {
    say(true, "Nothing to save: no field was changed.");
    return;
  }
  state.saving = true;
  try {
    const updated = await api("PUT", "/urls/" + link.id, changes);
    state.editDirty = false;
    state.link = updated;
    fillEditForm(updated);
    say(true, "Saved the changes to " + updated.short_code + ".");
    if (state.view === "link") loadLink(link.id);
  } catch (err) {
    say(false, "Could not save: " + err.message, err.status);
    // The field the server names (Field 'x' …) is marked and focused.
    const named = EDIT_FIELDS.find((f) => err.message.includes("'" + f.field + "'"));
    if (named) markInvalid($(named.id));
  } finally {
    state.saving = false;
  }
}

// askDelete shows the confirmation, with the focus on Cancel.
function askDelete() {
  const link = state.link;
  if (!link) return;
  $("delete-question").textContent = "Delete " + link.short_code + " (" + targetText(link) + ") for good?";
  $("delete-yes").textContent = "Delete " + link.short_code;
  $("delete-error").hidden = true;
  $("link-delete").hidden = true;
  $("delete-confirm").hidden = false;
  $("delete-no").focus();
}

function cancelDelete() {
  $("delete-confirm").hidden = true;
  $("link-delete").hidden = false;
  $("link-delete").focus();
}

// confirmDelete deletes the link (DELETE /urls/ID) and goes back to the
// list, or shows the server's reason for refusing.
async function confirmDelete() {
  const link = state.link;
  if (!link) return;
  const yes = $("delete-yes");
  try {
    await api("DELETE", "/urls/" + link.id);
  } catch (err) {
    $("delete-error").textContent = "Could not delete " + link.short_code + ": " + err.message;
    $("delete-error").hidden = false;
    keyRefusal($("delete-error"), err.status);
    yes.focus();
    return;
  }
  announce("Deleted " + link.short_code);
  state.link = null;
  location.hash = "#/";
}

// clearLinkFigures empties the figures, chart, breakdown and events of
// the link view before it shows another link.
function clearLinkFigures() {
  for (const id of ["stat-clicks", "stat-visitors", "stat-redirects", "stat-events"]) $(id).textContent = "–";
  $("chart").replaceChildren();
  $("chart-table").tBodies[0].replaceChildren();
  $("breakdown").replaceChildren(el("p", { text: "–" }));
  $("events-table").tBodies[0].replaceChildren();
  $("link-errors").textContent = "";
  $("link-errors").hidden = true;
}

// renderBreakdown lists the five most frequent values of each dimension
// of GET /urls/ID/analytics/breakdown, one small table per dimension.
function renderBreakdown(b) {
  const titles = { kind: "Humans and bots", device: "Device", browser: "Browser", os: "OS",
    referrer: "Referrer", country: "Country", bot: "Bots" };
  const box = $("breakdown");
  box.replaceChildren();
  for (const [dim, title] of Object.entries(titles)) {
    const values = (b.dimensions[dim] || []).slice(0, 5);
    if (!values.length) continue;
    const table = document.createElement("table");
    const caption = table.createCaption();
    caption.textContent = title;
    const body = table.createTBody();
    for (const v of values) {
      const row = body.insertRow();
      row.insertCell().textContent = v.value;
      row.insertCell().textContent = v.clicks;
    }
    box.append(table);
  }
  if (!box.children.length) {
    const p = document.createElement("p");
    p.textContent = "No stored clicks in the last 7 days.";
    box.append(p);
  }
}

// renderChart draws the hourly buckets ("YYYY-MM-DD:HH" → clicks) as an
// SVG bar chart, with the same figures in a table for screen readers.
function renderChart(hourly) {
  const hours = Object.keys(hourly).sort();
  const values = hours.map((h) => hourly[h]);
  const max = Math.max(1, ...values);
  const total = values.reduce((a, b) => a + b, 0);
  const W = 720, H = 220, left = 36, bottom = 30, top = 10;
  const bw = (W - left) / Math.max(1, hours.length);
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("role", "img");
  const busiest = hours[values.indexOf(Math.max(...values))];
  svg.setAttribute("aria-label", total + " clicks in the last " + hours.length + " hours" +
    (total ? "; busiest hour " + label(busiest) + " with " + Math.max(...values) : ""));
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  add("line", { class: "axis", x1: left, y1: H - bottom, x2: W, y2: H - bottom });
  add("text", { x: left - 6, y: top + 10, "text-anchor": "end" }, String(max));
  add("text", { x: left - 6, y: H - bottom, "text-anchor": "end" }, "0");
  hours.forEach((h, i) => {
    const v = values[i];
    const bh = (H - bottom - top) * v / max;
    const bar = add("rect", { class: "bar", x: left + i * bw + 1, y: H - bottom - bh, width: Math.max(1, bw - 2), height: bh, "data-hour": h, "data-clicks": v });
    const t = document.createElementNS(NS, "title");
    t.textContent = label(h) + ": " + v + " clicks";
    bar.append(t);
    const last = i === hours.length - 1;
    if (i % 12 === 0 || last) {
      add("text", { x: last ? W : left + i * bw + bw / 2, y: H - bottom + 16, "text-anchor": last ? "end" : "middle" }, h.slice(5).replace(":", " ") + "h");
    }
  });
  $("chart").replaceChildren(svg);
  const rows = hours.filter((h) => hourly[h] > 0).map((h) => el("tr", {}, el("td", { text: label(h) }), el("td", { text: String(hourly[h]) })));
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: "2", text: "No clicks in the last 72 hours." })));
  $("chart-table").tBodies[0].replaceChildren(...rows);
}

function label(hour) {
  // "2026-12-05:14" → "2026-12-05 14:00"
  return hour ? hour.slice(0, 10) + " " + hour.slice(11) + ":00" : "";
}

function renderEvents(events) {
  const rows = events.map((e) => el("tr", {},
    el("td", { text: e.timestamp.replace("T", " ") }),
    el("td", { text: e.event_type }),
    el("td", {}, el("code", { text: JSON.stringify(e.details) }))));
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: "3", text: "No events yet." })));
  $("events-table").tBodies[0].replaceChildren(...rows);
}

// --- health ----------------------------------------------------------------

async function loadHealth() {
  let ready;
  try {
    ready = await api("GET", "/health/ready");
    // A 503 from a proxy in front of the server carries no report.
    if (!ready || !Array.isArray(ready.checks)) {
      throw new Error(ready && ready.error ? ready.error : "the answer holds no readiness report");
    }
  } catch (err) {
    $("health-summary").textContent = "Could not reach the server: " + err.message;
    // No dependency is shown up (or down) from an earlier answer.
    $("health-table").tBodies[0].replaceChildren();
    return;
  }
  const words = { ready: "Ready: every dependency is up.", degraded: "Degraded: an optional dependency is down; requests are still served.", not_ready: "Not ready: a required dependency is down.",
    shutting_down: "Shutting down: this instance is stopping and takes no new work; a load balancer sends requests to the other instances." };
  const summary = $("health-summary");
  summary.replaceChildren(
    el("span", { class: "badge " + (ready.status === "ready" ? "up" : ready.status === "degraded" ? "degraded" : "down"), text: ready.status.replace("_", " ") }),
    " " + (words[ready.status] || ready.status) + " Instance " + ready.instance + ".");
  $("health-table").tBodies[0].replaceChildren(...ready.checks.map((c) => el("tr", { "data-name": c.name },
    el("th", { scope: "row", text: c.name }),
    el("td", { text: c.kind }),
    el("td", { text: c.required ? "yes" : "no" }),
    el("td", {}, el("span", { class: "badge " + c.status, text: c.status })),
    el("td", { text: [c.detail, c.error].filter(Boolean).join(" – ") }))));
}

// --- start -----------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("shorten").addEventListener("submit", submitShorten);
  // The browser checks the form's fields before it sends it: one of the
  // options it finds wrong must be shown to be focused and explained.
  $("shorten").addEventListener("invalid", (event) => {
    const details = event.target.closest("details");
    if (details) details.open = true;
  }, true);
  $("search").addEventListener("input", () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(firstPage, SEARCH_DELAY_MS);
  });
  $("filter-active").addEventListener("change", firstPage);
  $("prev-page").addEventListener("click", () => {
    if (state.page === 0) return;
    state.page--;
    loadLinks();
  });
  $("edit-form").addEventListener("submit", submitEdit);
  $("edit-form").addEventListener("input", () => { state.editDirty = true; });
  $("link-delete").addEventListener("click", askDelete);
  $("delete-no").addEventListener("click", cancelDelete);
  $("delete-yes").addEventListener("click", confirmDelete);
  $("next-page").addEventListener("click", () => {
    if (!state.more) return; // a click while the page loads
    state.more = false;
    state.page++;
    loadLinks();
  });
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("api-key").value.trim());
    $("api-key").value = "";
    clearKeyRefusals();
    route();
    // The prompt, which had the focus, is hidden now.
    $("main").focus();
  });
  window.addEventListener("hashchange", () => { route(); $("main").focus(); });
  // A link to the address already shown (Links while the key prompt
  // covers the list at #/) changes no hash: it shows that page again.
  document.addEventListener("click", (event) => {
    const a = event.target.closest('a[href^="#"]');
    if (!a || a.getAttribute("href") !== (location.hash || "#/") || a.classList.contains("skip")) return;
    event.preventDefault();
    route();
    $("main").focus();
  });
  route();
});
