// Follows a pod's log on its page: each line the server sends
// (/ui/namespaces/NS/pods/POD/log) is added to the log's <pre>.
(function () {
  var pre = document.querySelector("pre[data-log]");
  if (!pre || !window.EventSource) {
    return;
  }
  var es = new EventSource(pre.getAttribute("data-log"));
  es.addEventListener("line", function (e) {
    pre.textContent += e.data + "\n";
    pre.scrollTop = pre.scrollHeight;
  });
})();
