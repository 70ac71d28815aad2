// Live pages: ask the server for its state version once a second (a 304 costs nothing);
// when it moved, fetch this page again and swap its <main>. No reload, no framework.
(function () {
  "use strict";
  var live = document.querySelector('meta[name="gitsync-live"]');
  var meta = document.querySelector('meta[name="gitsync-version"]');
  if (!live || !meta || !window.fetch) { return; }
  var etag = '"' + meta.content + '"';
  var INTERVAL_MS = 1000;

  function busy() {
    // Never swap the page under someone typing or with a control focused inside it.
    var el = document.activeElement;
    return el && el !== document.body && document.querySelector("main").contains(el) &&
      /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(el.tagName);
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var next = doc.querySelector('meta[name="gitsync-version"]');
    if (!fresh) { return; }
    document.querySelector("main").replaceWith(fresh);
    if (next) {
      meta.content = next.content;
      document.getElementById("state-version").textContent = next.content;
    }
    document.title = doc.title;
    var state = document.getElementById("live-state");
    state.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
    document.documentElement.dataset.liveSwaps = String(Number(document.documentElement.dataset.liveSwaps || 0) + 1);
  }

  function poll() {
    if (document.hidden || busy()) { return schedule(); }
    fetch("/ui/version", { headers: { "If-None-Match": etag }, cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (r.status !== 200) { return null; }
        etag = r.headers.get("ETag") || etag;
        return fetch(location.href, { cache: "no-store", credentials: "same-origin" })
          .then(function (page) { return page.ok ? page.text() : null; });
      })
      .then(function (html) { if (html) { swap(html); } })
      .catch(function () { /* the server is restarting: try again next tick */ })
      .then(schedule);
  }

  function schedule() { window.setTimeout(poll, INTERVAL_MS); }
  schedule();
})();
