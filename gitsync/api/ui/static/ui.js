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
    // Never swap the page under someone typing or with a form control focused in it.
    var el = document.activeElement;
    return el && el !== document.body && document.querySelector("main").contains(el) &&
      /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(el.tagName);
  }

  function focusKey(el) {
    // What identifies the focused link or region, so the fresh page can focus its twin.
    if (!el || el === document.body || !document.querySelector("main").contains(el)) { return null; }
    return { tag: el.tagName, href: el.getAttribute("href"), label: el.getAttribute("aria-label"),
             text: (el.textContent || "").trim() };
  }

  function refocus(main, key) {
    if (!key) { return; }
    var candidates = main.querySelectorAll(key.tag);
    for (var i = 0; i < candidates.length; i++) {
      var c = candidates[i];
      if (c.getAttribute("href") === key.href && c.getAttribute("aria-label") === key.label &&
          (c.textContent || "").trim() === key.text) {
        c.focus({ preventScroll: true });
        return;
      }
    }
    main.focus({ preventScroll: true });  // the element is gone: keep focus in the content
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.querySelector("main");
    var next = doc.querySelector('meta[name="gitsync-version"]');
    if (!fresh) { return; }
    var key = focusKey(document.activeElement);
    document.querySelector("main").replaceWith(fresh);
    refocus(fresh, key);
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
