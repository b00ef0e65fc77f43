// Live updates of an open run's timeline: every few seconds, the server-rendered fragment
// replaces the one on the page. Nothing depends on this; without it, reloading shows the same.
(function () {
  "use strict";
  var live = document.querySelector("[data-live]");
  if (!live || !window.fetch) { return; }
  var url = live.getAttribute("data-live");
  function refresh() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.firstElementChild;
        if (fresh) {
          live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
          if (!fresh.hasAttribute("data-open")) { clearInterval(timer); }
        }
      })
      .catch(function () {});
  }
  var timer = setInterval(refresh, 4000);
})();
