// Keeps a page of the live cluster current without a reload: on each
// change the server announces (/ui/events), it fetches the page again and
// puts its new <main> in place of the old one.
(function () {
  var main = document.querySelector("main[data-live]");
  if (!main || !window.EventSource) {
    return;
  }
  var busy = false, again = false;
  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        if (fresh) {
          main.innerHTML = fresh.innerHTML;
        }
      })
      .catch(function () {})
      .finally(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }
  new EventSource("/ui/events").addEventListener("change", refresh);
})();
