// torchgrade's pages: the few things a page does in the browser. No inline script anywhere
// (the Content-Security-Policy forbids it): behaviour hangs on data- attributes.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// htmx: every request carries the session's CSRF token.
document.addEventListener("htmx:configRequest", (event) => {
  event.detail.headers["X-CSRF-Token"] = csrfToken();
});

// Drag and drop onto [data-dropzone]; its <input type="file"> stays the fallback.
function setUpDropzone(zone) {
  const input = zone.querySelector('input[type="file"]');
  const chosen = zone.querySelector("[data-chosen]");
  const show = () => { if (chosen) chosen.textContent = input.files.length ? input.files[0].name : ""; };
  input.addEventListener("change", show);
  for (const type of ["dragenter", "dragover"]) {
    zone.addEventListener(type, (event) => { event.preventDefault(); zone.classList.add("dragging"); });
  }
  for (const type of ["dragleave", "drop"]) {
    zone.addEventListener(type, () => zone.classList.remove("dragging"));
  }
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      show();
    }
  });
}

// Live grading: [data-events] opens the submission's server-sent events and, on each event,
// reloads the server-rendered fragment [data-fragment] into itself (escaped on the server).
function setUpLive(box) {
  if (!window.EventSource) return;
  const source = new EventSource(box.dataset.events);
  let pending = null;
  const refresh = (last) => {
    if (pending && !last) return;
    pending = fetch(box.dataset.fragment, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.text() : null))
      .then((html) => { if (html !== null) { box.innerHTML = html; } })
      .catch(() => {})
      .finally(() => { pending = null; });
  };
  for (const kind of ["queued", "running", "check"]) source.addEventListener(kind, () => refresh(false));
  source.addEventListener("done", () => { source.close(); refresh(true); box.removeAttribute("aria-busy"); });
  source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) refresh(true); });
}

function setUp(root) {
  root.querySelectorAll("[data-dropzone]").forEach(setUpDropzone);
  root.querySelectorAll("[data-events]").forEach(setUpLive);
  if (window.hljs) root.querySelectorAll("pre code[class*='language-']").forEach((el) => window.hljs.highlightElement(el));
}

document.addEventListener("DOMContentLoaded", () => setUp(document));
